//! The S3 error vocabulary: one static table of codes with their HTTP status, and the single
//! internal error type the request path carries until it is rendered as XML.

use std::fmt;

/// Every S3 error code this server can answer with. The HTTP status and the wire code live in
/// [`S3ErrorCode::status`] and [`S3ErrorCode::as_str`], so adding a code is one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum S3ErrorCode {
    AccessDenied,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    BadDigest,
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    EntityTooLarge,
    EntityTooSmall,
    ExpiredToken,
    IncompleteBody,
    InternalError,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidBucketName,
    InvalidDigest,
    InvalidPart,
    InvalidPartOrder,
    InvalidRange,
    InvalidRequest,
    InsufficientStorage,
    KeyTooLongError,
    MalformedXML,
    MetadataTooLarge,
    MethodNotAllowed,
    MissingContentLength,
    MissingSecurityHeader,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    NoSuchBucketPolicy,
    NoSuchLifecycleConfiguration,
    NoSuchCORSConfiguration,
    ServerSideEncryptionConfigurationNotFoundError,
    NotImplemented,
    NotModified,
    PreconditionFailed,
    RequestHeaderSectionTooLarge,
    RequestTimeout,
    RequestTimeTooSkewed,
    ServiceUnavailable,
    SignatureDoesNotMatch,
    SlowDown,
    XAmzContentSHA256Mismatch,
    /// Not an AWS code: answered for a request line or head that is not HTTP at all.
    BadRequest,
    /// URI longer than the server accepts.
    UriTooLong,
    /// `x-amz-checksum-*` trailer or header named an algorithm we do not know, or values disagree.
    InvalidChecksum,
    /// Transfer-Encoding other than chunked, or chunked framing that is broken.
    InvalidEncoding,
    LengthRequired,
}

impl S3ErrorCode {
    /// The code as it appears in `<Code>`.
    pub const fn as_str(self) -> &'static str {
        use S3ErrorCode::*;
        match self {
            AccessDenied => "AccessDenied",
            AuthorizationHeaderMalformed => "AuthorizationHeaderMalformed",
            AuthorizationQueryParametersError => "AuthorizationQueryParametersError",
            BadDigest => "BadDigest",
            BucketAlreadyExists => "BucketAlreadyExists",
            BucketAlreadyOwnedByYou => "BucketAlreadyOwnedByYou",
            BucketNotEmpty => "BucketNotEmpty",
            EntityTooLarge => "EntityTooLarge",
            EntityTooSmall => "EntityTooSmall",
            ExpiredToken => "ExpiredToken",
            IncompleteBody => "IncompleteBody",
            InternalError => "InternalError",
            InvalidAccessKeyId => "InvalidAccessKeyId",
            InvalidArgument => "InvalidArgument",
            InvalidBucketName => "InvalidBucketName",
            InvalidDigest => "InvalidDigest",
            InvalidPart => "InvalidPart",
            InvalidPartOrder => "InvalidPartOrder",
            InvalidRange => "InvalidRange",
            InvalidRequest => "InvalidRequest",
            InsufficientStorage => "InsufficientStorage",
            KeyTooLongError => "KeyTooLongError",
            MalformedXML => "MalformedXML",
            MetadataTooLarge => "MetadataTooLarge",
            MethodNotAllowed => "MethodNotAllowed",
            MissingContentLength => "MissingContentLength",
            MissingSecurityHeader => "MissingSecurityHeader",
            NoSuchBucket => "NoSuchBucket",
            NoSuchKey => "NoSuchKey",
            NoSuchUpload => "NoSuchUpload",
            NoSuchBucketPolicy => "NoSuchBucketPolicy",
            NoSuchLifecycleConfiguration => "NoSuchLifecycleConfiguration",
            NoSuchCORSConfiguration => "NoSuchCORSConfiguration",
            ServerSideEncryptionConfigurationNotFoundError => {
                "ServerSideEncryptionConfigurationNotFoundError"
            }
            NotImplemented => "NotImplemented",
            NotModified => "NotModified",
            PreconditionFailed => "PreconditionFailed",
            RequestHeaderSectionTooLarge => "RequestHeaderSectionTooLarge",
            RequestTimeout => "RequestTimeout",
            RequestTimeTooSkewed => "RequestTimeTooSkewed",
            ServiceUnavailable => "ServiceUnavailable",
            SignatureDoesNotMatch => "SignatureDoesNotMatch",
            SlowDown => "SlowDown",
            XAmzContentSHA256Mismatch => "XAmzContentSHA256Mismatch",
            BadRequest => "BadRequest",
            UriTooLong => "UriTooLong",
            InvalidChecksum => "InvalidChecksum",
            InvalidEncoding => "InvalidEncoding",
            LengthRequired => "MissingContentLength",
        }
    }

    /// The HTTP status S3 answers this code with.
    pub const fn status(self) -> u16 {
        use S3ErrorCode::*;
        match self {
            AccessDenied
            | InvalidAccessKeyId
            | SignatureDoesNotMatch
            | RequestTimeTooSkewed
            | ExpiredToken => 403,
            AuthorizationHeaderMalformed
            | AuthorizationQueryParametersError
            | BadDigest
            | EntityTooLarge
            | EntityTooSmall
            | IncompleteBody
            | InvalidArgument
            | InvalidBucketName
            | InvalidDigest
            | InvalidPart
            | InvalidPartOrder
            | InvalidRequest
            | KeyTooLongError
            | MalformedXML
            | MetadataTooLarge
            | MissingSecurityHeader
            | RequestTimeout
            | XAmzContentSHA256Mismatch
            | BadRequest
            | InvalidChecksum
            | InvalidEncoding => 400,
            RequestHeaderSectionTooLarge => 431,
            UriTooLong => 414,
            MissingContentLength | LengthRequired => 411,
            NoSuchBucket
            | NoSuchKey
            | NoSuchUpload
            | NoSuchBucketPolicy
            | NoSuchLifecycleConfiguration
            | NoSuchCORSConfiguration
            | ServerSideEncryptionConfigurationNotFoundError => 404,
            MethodNotAllowed => 405,
            BucketAlreadyExists | BucketAlreadyOwnedByYou | BucketNotEmpty => 409,
            PreconditionFailed => 412,
            InvalidRange => 416,
            NotModified => 304,
            InternalError => 500,
            NotImplemented => 501,
            ServiceUnavailable | SlowDown => 503,
            InsufficientStorage => 507,
        }
    }

    /// A default human message, used when the failing site has nothing more specific to say.
    pub const fn default_message(self) -> &'static str {
        use S3ErrorCode::*;
        match self {
            AccessDenied => "Access Denied",
            InvalidAccessKeyId => "The AWS Access Key Id you provided does not exist in our records.",
            SignatureDoesNotMatch => "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            RequestTimeTooSkewed => "The difference between the request time and the server's time is too large.",
            XAmzContentSHA256Mismatch => "The provided 'x-amz-content-sha256' header does not match what was computed.",
            BadDigest => "The Content-MD5 or checksum you specified did not match what we received.",
            InvalidDigest => "The Content-MD5 or checksum you specified is not valid.",
            NoSuchBucket => "The specified bucket does not exist",
            NoSuchKey => "The specified key does not exist.",
            NoSuchUpload => "The specified upload does not exist.",
            NotImplemented => "A header or operation you provided implies functionality that is not implemented.",
            InsufficientStorage => "No backend has room for this object.",
            ServiceUnavailable => "Please reduce your request rate or retry: no backend could serve this request.",
            SlowDown => "Please reduce your request rate.",
            InternalError => "We encountered an internal error. Please try again.",
            IncompleteBody => "You did not provide the number of bytes specified by the Content-Length HTTP header.",
            RequestTimeout => "Your socket connection to the server was not read from or written to within the timeout period.",
            RequestHeaderSectionTooLarge => "Your request header section exceeds the maximum allowed size.",
            UriTooLong => "The request URI is too long.",
            MissingContentLength | LengthRequired => "You must provide the Content-Length HTTP header.",
            PreconditionFailed => "At least one of the pre-conditions you specified did not hold",
            InvalidRange => "The requested range is not satisfiable",
            BucketNotEmpty => "The bucket you tried to delete is not empty",
            MethodNotAllowed => "The specified method is not allowed against this resource.",
            MalformedXML => "The XML you provided was not well-formed or did not validate against our published schema.",
            NoSuchBucketPolicy => "The bucket policy does not exist",
            NoSuchLifecycleConfiguration => "The lifecycle configuration does not exist",
            NoSuchCORSConfiguration => "The CORS configuration does not exist",
            ServerSideEncryptionConfigurationNotFoundError => {
                "The server side encryption configuration was not found"
            }
            BucketAlreadyExists => "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.",
            BucketAlreadyOwnedByYou => "Your previous request to create the named bucket succeeded and you already own it.",
            InvalidBucketName => "The specified bucket is not valid.",
            _ => "The request could not be processed.",
        }
    }
}

/// Which side of the proxy a failure came from: decides log level and whether a retry elsewhere is safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The client sent something wrong; logged at debug, never retried.
    Client,
    /// A backend failed or answered an error; may be retried on another copy if nothing was sent yet.
    Backend,
    /// Our own bug or resource exhaustion.
    Internal,
}

/// The error carried along the request path until the one rendering point turns it into XML.
#[derive(Debug, Clone)]
pub struct S3Error {
    pub code: S3ErrorCode,
    /// Human-readable detail; must never contain secrets.
    pub message: std::borrow::Cow<'static, str>,
    pub side: Side,
}

impl S3Error {
    pub fn new(code: S3ErrorCode) -> Self {
        let side = match code.status() {
            500 => Side::Internal,
            503 => Side::Backend,
            _ => Side::Client,
        };
        S3Error {
            code,
            message: code.default_message().into(),
            side,
        }
    }

    pub fn with_message(
        code: S3ErrorCode,
        message: impl Into<std::borrow::Cow<'static, str>>,
    ) -> Self {
        S3Error {
            message: message.into(),
            ..S3Error::new(code)
        }
    }

    pub fn backend(code: S3ErrorCode, message: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        S3Error {
            code,
            message: message.into(),
            side: Side::Backend,
        }
    }

    pub fn internal(message: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        S3Error {
            code: S3ErrorCode::InternalError,
            message: message.into(),
            side: Side::Internal,
        }
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }
}

impl From<S3ErrorCode> for S3Error {
    fn from(code: S3ErrorCode) -> Self {
        S3Error::new(code)
    }
}

impl fmt::Display for S3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for S3Error {}

pub type S3Result<T> = Result<T, S3Error>;
