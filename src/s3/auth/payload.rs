//! What `x-amz-content-sha256` says about the body: a hash to check, no check, or one of the
//! aws-chunked streaming forms.

use crate::s3::error::{S3Error, S3ErrorCode, S3Result};

use super::UNSIGNED_PAYLOAD;

/// Signed aws-chunked body: every chunk carries a chained signature.
pub(crate) const STREAMING_SIGNED: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
/// Signed aws-chunked body followed by signed trailing headers.
pub(crate) const STREAMING_SIGNED_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
/// Unsigned aws-chunked body with (unsigned) trailing headers, typically a checksum.
pub(crate) const STREAMING_UNSIGNED_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";

/// The payload contract a verified request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadSigning {
    /// The body's SHA-256 must equal this.
    Sha256([u8; 32]),
    /// `UNSIGNED-PAYLOAD`: the body is not covered by the signature.
    Unsigned,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`.
    StreamingSigned,
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`.
    StreamingUnsignedTrailer,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`.
    StreamingSignedTrailer,
}

impl PayloadSigning {
    /// Parses an `x-amz-content-sha256` value.
    pub fn parse(value: &[u8]) -> S3Result<PayloadSigning> {
        match value {
            v if v == UNSIGNED_PAYLOAD.as_bytes() => Ok(PayloadSigning::Unsigned),
            v if v == STREAMING_SIGNED.as_bytes() => Ok(PayloadSigning::StreamingSigned),
            v if v == STREAMING_SIGNED_TRAILER.as_bytes() => {
                Ok(PayloadSigning::StreamingSignedTrailer)
            }
            v if v == STREAMING_UNSIGNED_TRAILER.as_bytes() => {
                Ok(PayloadSigning::StreamingUnsignedTrailer)
            }
            v if v.len() == 64 => {
                let mut out = [0u8; 32];
                hex::decode_to_slice(v, &mut out).map_err(|_| invalid())?;
                Ok(PayloadSigning::Sha256(out))
            }
            _ => Err(invalid()),
        }
    }

    /// Whether the body is aws-chunked with per-chunk signatures, i.e. needs a chunk signer.
    pub fn is_signed_streaming(&self) -> bool {
        matches!(
            self,
            PayloadSigning::StreamingSigned | PayloadSigning::StreamingSignedTrailer
        )
    }

    /// Whether the body is aws-chunked at all.
    pub fn is_streaming(&self) -> bool {
        matches!(
            self,
            PayloadSigning::StreamingSigned
                | PayloadSigning::StreamingSignedTrailer
                | PayloadSigning::StreamingUnsignedTrailer
        )
    }

    /// Whether trailing headers follow the final chunk.
    pub fn has_trailer(&self) -> bool {
        matches!(
            self,
            PayloadSigning::StreamingSignedTrailer | PayloadSigning::StreamingUnsignedTrailer
        )
    }
}

fn invalid() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::InvalidArgument,
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, \
         STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-UNSIGNED-PAYLOAD-TRAILER \
         or a valid sha256 value.",
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::s3::auth::EMPTY_SHA256_HEX;

    #[test]
    fn parses_every_mode() {
        assert_eq!(
            PayloadSigning::parse(b"UNSIGNED-PAYLOAD").unwrap(),
            PayloadSigning::Unsigned
        );
        assert_eq!(
            PayloadSigning::parse(STREAMING_SIGNED.as_bytes()).unwrap(),
            PayloadSigning::StreamingSigned
        );
        assert_eq!(
            PayloadSigning::parse(STREAMING_SIGNED_TRAILER.as_bytes()).unwrap(),
            PayloadSigning::StreamingSignedTrailer
        );
        assert_eq!(
            PayloadSigning::parse(STREAMING_UNSIGNED_TRAILER.as_bytes()).unwrap(),
            PayloadSigning::StreamingUnsignedTrailer
        );
        let PayloadSigning::Sha256(h) = PayloadSigning::parse(EMPTY_SHA256_HEX.as_bytes()).unwrap()
        else {
            panic!("not a hash");
        };
        assert_eq!(h[0], 0xe3);
        assert_eq!(h[31], 0x55);
        assert!(PayloadSigning::StreamingSigned.is_signed_streaming());
        assert!(PayloadSigning::StreamingSignedTrailer.has_trailer());
        assert!(PayloadSigning::StreamingUnsignedTrailer.is_streaming());
        assert!(!PayloadSigning::StreamingUnsignedTrailer.is_signed_streaming());
        assert!(!PayloadSigning::Unsigned.is_streaming());
    }

    #[test]
    fn rejects_everything_else() {
        let mut bad_hex = EMPTY_SHA256_HEX.as_bytes().to_vec();
        bad_hex[3] = b'x';
        for v in [
            &b""[..],
            b"unsigned-payload",
            b"UNSIGNED-PAYLOAD ",
            b"STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
            b"STREAMING-UNSIGNED-PAYLOAD",
            &bad_hex,
            &EMPTY_SHA256_HEX.as_bytes()[..63],
            b"\xff\xfe",
        ] {
            let e = PayloadSigning::parse(v).unwrap_err();
            assert_eq!(e.code, S3ErrorCode::InvalidArgument);
        }
    }
}
