//! The S3 error vocabulary: one table of codes with their wire name, HTTP status, the side that
//! usually causes them and a default message (`s3_error_table!` below: adding a code is one
//! row), and the single error type the request path carries until it is rendered as XML.
//!
//! An [`S3Error`] records which side failed and whether retrying the step elsewhere is safe.
//! Both are set where the error is built (the table gives a code's usual side; the constructors
//! [`S3Error::backend`], [`S3Error::internal`] and [`S3Error::client`] say it outright), never
//! inferred from the HTTP status: a `503 SlowDown` from our own rate limit is the client's
//! doing, the same code from a provider is the backend's.

use std::fmt;

/// Which side of the proxy a failure came from: decides the log level and whether a retry
/// elsewhere can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The client sent something wrong (or must slow down); logged at debug, never retried.
    Client,
    /// A backend failed or answered an error; logged at warn.
    Backend,
    /// Our own bug or resource exhaustion; logged at error.
    Internal,
}

/// Defines [`S3ErrorCode`] and its table: `Variant: "WireCode", status, side, "default message";`.
macro_rules! s3_error_table {
    ($( $(#[$doc:meta])* $variant:ident: $wire:literal, $status:literal, $side:ident, $message:literal; )+) => {
        /// Every S3 error code this server can answer with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum S3ErrorCode {
            $( $(#[$doc])* $variant, )+
        }

        impl S3ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [S3ErrorCode] = &[$(S3ErrorCode::$variant),+];

            /// The code as it appears in `<Code>`.
            pub const fn as_str(self) -> &'static str {
                match self { $(S3ErrorCode::$variant => $wire,)+ }
            }

            /// The HTTP status S3 answers this code with.
            pub const fn status(self) -> u16 {
                match self { $(S3ErrorCode::$variant => $status,)+ }
            }

            /// The side that usually causes this code, when the site building the error does
            /// not say otherwise.
            pub const fn usual_side(self) -> Side {
                match self { $(S3ErrorCode::$variant => Side::$side,)+ }
            }

            /// A default human message, used when the failing site has nothing more specific.
            pub const fn default_message(self) -> &'static str {
                match self { $(S3ErrorCode::$variant => $message,)+ }
            }
        }

        impl std::str::FromStr for S3ErrorCode {
            type Err = ();

            /// The code of a wire name (`<Code>` of a provider's answer).
            fn from_str(s: &str) -> Result<Self, ()> {
                match s {
                    $($wire => Ok(S3ErrorCode::$variant),)+
                    _ => Err(()),
                }
            }
        }
    };
}

s3_error_table! {
    AccessDenied: "AccessDenied", 403, Client,
        "Access Denied";
    AuthorizationHeaderMalformed: "AuthorizationHeaderMalformed", 400, Client,
        "The request could not be processed.";
    AuthorizationQueryParametersError: "AuthorizationQueryParametersError", 400, Client,
        "The request could not be processed.";
    BadDigest: "BadDigest", 400, Client,
        "The Content-MD5 or checksum you specified did not match what we received.";
    BucketAlreadyExists: "BucketAlreadyExists", 409, Client,
        "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.";
    BucketAlreadyOwnedByYou: "BucketAlreadyOwnedByYou", 409, Client,
        "Your previous request to create the named bucket succeeded and you already own it.";
    BucketNotEmpty: "BucketNotEmpty", 409, Client,
        "The bucket you tried to delete is not empty";
    EntityTooLarge: "EntityTooLarge", 400, Client,
        "The request could not be processed.";
    EntityTooSmall: "EntityTooSmall", 400, Client,
        "The request could not be processed.";
    IncompleteBody: "IncompleteBody", 400, Client,
        "You did not provide the number of bytes specified by the Content-Length HTTP header.";
    InternalError: "InternalError", 500, Internal,
        "We encountered an internal error. Please try again.";
    InvalidAccessKeyId: "InvalidAccessKeyId", 403, Client,
        "The AWS Access Key Id you provided does not exist in our records.";
    InvalidArgument: "InvalidArgument", 400, Client,
        "The request could not be processed.";
    InvalidBucketName: "InvalidBucketName", 400, Client,
        "The specified bucket is not valid.";
    InvalidDigest: "InvalidDigest", 400, Client,
        "The Content-MD5 or checksum you specified is not valid.";
    InvalidPart: "InvalidPart", 400, Client,
        "The request could not be processed.";
    InvalidPartOrder: "InvalidPartOrder", 400, Client,
        "The request could not be processed.";
    InvalidRange: "InvalidRange", 416, Client,
        "The requested range is not satisfiable";
    InvalidRequest: "InvalidRequest", 400, Client,
        "The request could not be processed.";
    /// A path or key that is not valid UTF-8 once percent-decoded.
    InvalidURI: "InvalidURI", 400, Client,
        "Couldn't parse the specified URI.";
    InsufficientStorage: "InsufficientStorage", 507, Backend,
        "No backend has room for this object.";
    KeyTooLongError: "KeyTooLongError", 400, Client,
        "The request could not be processed.";
    MalformedXML: "MalformedXML", 400, Client,
        "The XML you provided was not well-formed or did not validate against our published schema.";
    MetadataTooLarge: "MetadataTooLarge", 400, Client,
        "The request could not be processed.";
    MissingContentLength: "MissingContentLength", 411, Client,
        "You must provide the Content-Length HTTP header.";
    NoSuchBucket: "NoSuchBucket", 404, Client,
        "The specified bucket does not exist";
    NoSuchKey: "NoSuchKey", 404, Client,
        "The specified key does not exist.";
    NoSuchUpload: "NoSuchUpload", 404, Client,
        "The specified upload does not exist.";
    NoSuchBucketPolicy: "NoSuchBucketPolicy", 404, Client,
        "The bucket policy does not exist";
    NoSuchLifecycleConfiguration: "NoSuchLifecycleConfiguration", 404, Client,
        "The lifecycle configuration does not exist";
    NoSuchCORSConfiguration: "NoSuchCORSConfiguration", 404, Client,
        "The CORS configuration does not exist";
    ServerSideEncryptionConfigurationNotFoundError: "ServerSideEncryptionConfigurationNotFoundError", 404, Client,
        "The server side encryption configuration was not found";
    NotImplemented: "NotImplemented", 501, Client,
        "A header or operation you provided implies functionality that is not implemented.";
    NotModified: "NotModified", 304, Client,
        "The request could not be processed.";
    PreconditionFailed: "PreconditionFailed", 412, Client,
        "At least one of the pre-conditions you specified did not hold";
    RequestHeaderSectionTooLarge: "RequestHeaderSectionTooLarge", 431, Client,
        "Your request header section exceeds the maximum allowed size.";
    RequestTimeout: "RequestTimeout", 400, Client,
        "Your socket connection to the server was not read from or written to within the timeout period.";
    RequestTimeTooSkewed: "RequestTimeTooSkewed", 403, Client,
        "The difference between the request time and the server's time is too large.";
    ServiceUnavailable: "ServiceUnavailable", 503, Backend,
        "Please reduce your request rate or retry: no backend could serve this request.";
    SignatureDoesNotMatch: "SignatureDoesNotMatch", 403, Client,
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.";
    SlowDown: "SlowDown", 503, Client,
        "Please reduce your request rate.";
    XAmzContentSHA256Mismatch: "XAmzContentSHA256Mismatch", 400, Client,
        "The provided 'x-amz-content-sha256' header does not match what was computed.";
    /// Not an AWS code: answered for a request line or head that is not HTTP at all.
    BadRequest: "BadRequest", 400, Client,
        "The request could not be processed.";
    /// URI longer than the server accepts.
    UriTooLong: "UriTooLong", 414, Client,
        "The request URI is too long.";
    /// `x-amz-checksum-*` trailer or header named an algorithm we do not know, or values disagree.
    InvalidChecksum: "InvalidChecksum", 400, Client,
        "The request could not be processed.";
    /// Transfer-Encoding other than chunked, or chunked framing that is broken.
    InvalidEncoding: "InvalidEncoding", 400, Client,
        "The request could not be processed.";
}

/// The error carried along the request path until the one rendering point turns it into XML.
#[derive(Debug, Clone)]
pub struct S3Error {
    pub code: S3ErrorCode,
    /// What the client is told: S3's default text for the code, or our own words about the
    /// request. Never a backend's name or address, a file path, a provider's message or a catalog
    /// error: those go to [`S3Error::detail`]. Must never contain secrets.
    pub message: std::borrow::Cow<'static, str>,
    /// What only the log gets (with the request id): which backend failed and how, which file,
    /// what the provider answered. Must never contain secrets.
    pub detail: Option<std::borrow::Cow<'static, str>>,
    pub side: Side,
    /// Whether the step that failed may be tried on another backend or copy: the failure says
    /// something about that backend, not about the request, and no byte of the client's body
    /// was consumed by it. Set by the constructors; never inferred from the status.
    pub retry_elsewhere: bool,
}

impl S3Error {
    /// An error of `code` from its usual side (the table), with the default message; not to be
    /// retried elsewhere.
    pub fn new(code: S3ErrorCode) -> Self {
        S3Error {
            code,
            message: code.default_message().into(),
            detail: None,
            side: code.usual_side(),
            retry_elsewhere: false,
        }
    }

    /// [`S3Error::new`] with a message of the failing site.
    pub fn with_message(
        code: S3ErrorCode,
        message: impl Into<std::borrow::Cow<'static, str>>,
    ) -> Self {
        S3Error {
            message: message.into(),
            ..S3Error::new(code)
        }
    }

    /// The client's fault as a backend reported it (a provider refusing the client's bytes, for
    /// example a digest that does not match): S3's message for the code goes to the client, the
    /// provider's answer (`detail`) to the log.
    pub fn client(code: S3ErrorCode, detail: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        S3Error {
            side: Side::Client,
            detail: Some(detail.into()),
            ..S3Error::new(code)
        }
    }

    /// A backend failed: another backend or copy may do (see [`S3Error::final_attempt`] for a
    /// failure after the client's body was consumed).
    /// The client gets S3's message for `code`; `detail` (which backend, what failed) goes to
    /// the log.
    pub fn backend(code: S3ErrorCode, detail: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        S3Error {
            code,
            message: code.default_message().into(),
            detail: Some(detail.into()),
            side: Side::Backend,
            retry_elsewhere: true,
        }
    }

    /// Our own failure.
    /// The client gets S3's "internal error" text; `detail` goes to the log.
    pub fn internal(detail: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        S3Error {
            code: S3ErrorCode::InternalError,
            message: S3ErrorCode::InternalError.default_message().into(),
            detail: Some(detail.into()),
            side: Side::Internal,
            retry_elsewhere: false,
        }
    }

    /// The text for logs: the detail when there is one, else the client's message.
    pub fn log_text(&self) -> &str {
        self.detail.as_deref().unwrap_or(&self.message)
    }

    /// The same error, no longer to be retried elsewhere (the client's body was consumed, or
    /// every candidate was tried).
    pub fn final_attempt(mut self) -> Self {
        self.retry_elsewhere = false;
        self
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
        write!(f, "{}: {}", self.code.as_str(), self.log_text())
    }
}

impl std::error::Error for S3Error {}

pub type S3Result<T> = Result<T, S3Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_are_unique_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for &code in S3ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{} twice", code.as_str());
            assert_eq!(code.as_str().parse::<S3ErrorCode>(), Ok(code));
            assert!((300..600).contains(&code.status()));
            assert!(!code.default_message().is_empty());
        }
        assert!("NoSuchThing".parse::<S3ErrorCode>().is_err());
    }

    #[test]
    fn side_and_retry_come_from_the_constructor_not_the_status() {
        // Our own rate limit: 503, the client's doing, not retried elsewhere.
        let shed = S3Error::new(S3ErrorCode::SlowDown);
        assert_eq!(
            (shed.status(), shed.side, shed.retry_elsewhere),
            (503, Side::Client, false)
        );
        // A provider's SlowDown: the same status, the backend's, another backend may do.
        let busy = S3Error::backend(S3ErrorCode::SlowDown, "provider throttled");
        assert_eq!(
            (busy.status(), busy.side, busy.retry_elsewhere),
            (503, Side::Backend, true)
        );
        assert!(!busy.final_attempt().retry_elsewhere);
        let digest = S3Error::client(S3ErrorCode::BadDigest, "provider says so");
        assert_eq!((digest.side, digest.retry_elsewhere), (Side::Client, false));
        assert_eq!(S3Error::internal("bug").side, Side::Internal);
        assert_eq!(
            S3Error::new(S3ErrorCode::ServiceUnavailable).side,
            Side::Backend
        );
    }
}
