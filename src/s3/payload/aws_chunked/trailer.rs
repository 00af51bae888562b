//! The trailer section of an `aws-chunked` body: the lines after the final chunk
//! (`x-amz-checksum-*:<b64>`, other headers, `x-amz-trailer-signature:<64 hex>`), kept in the
//! canonical form the trailer signature covers, and checked when the section ends.

use super::super::checksum::{ChecksumAlgorithm, MAX_DIGEST_B64_LEN};
use super::{bad_signature, hex_signature, ChunkedConfig};
use super::{MAX_TRAILER_BYTES, MAX_TRAILER_COUNT, SIGNATURE_HEX_LEN};
use crate::http::syntax::{is_token, trim_ows};
use crate::s3::auth::ChunkVerifier;
use crate::s3::error::{S3Error, S3ErrorCode};

/// Trailer names starting with this are checksums and must match `x-amz-trailer`.
const CHECKSUM_PREFIX: &[u8] = b"x-amz-checksum-";

fn bad_trailer(message: &'static str) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidRequest, message)
}

/// What has been read of the trailer section.
pub(super) struct TrailerState {
    /// Canonical form for the trailer signature: `name:value\n` per header, lower-case names.
    canonical: [u8; MAX_TRAILER_BYTES],
    canonical_len: usize,
    count: usize,
    signature: Option<[u8; SIGNATURE_HEX_LEN]>,
    checksum: Option<(ChecksumAlgorithm, [u8; MAX_DIGEST_B64_LEN], usize)>,
    /// Whether any trailer line has been seen (decides whether an empty line may be skipped).
    seen_line: bool,
    /// Whether the one tolerated empty line before the trailer was already skipped.
    skipped_blank: bool,
}

impl TrailerState {
    pub(super) const fn new() -> Self {
        TrailerState {
            canonical: [0; MAX_TRAILER_BYTES],
            canonical_len: 0,
            count: 0,
            signature: None,
            checksum: None,
            seen_line: false,
            skipped_blank: false,
        }
    }

    /// The trailing checksum `(algorithm, base64 value as sent)`, if one was read.
    pub(super) fn checksum(&self) -> Option<(ChecksumAlgorithm, &str)> {
        let (alg, buf, len) = self.checksum.as_ref()?;
        let value = std::str::from_utf8(buf.get(..*len)?).ok()?;
        Some((*alg, value))
    }

    /// The canonical trailer (`name:value\n` lines) read so far.
    pub(super) fn canonical(&self) -> &[u8] {
        &self.canonical[..self.canonical_len]
    }

    fn push_canonical(&mut self, parts: &[&[u8]], lower: bool) -> bool {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let Some(end) = self
            .canonical_len
            .checked_add(total)
            .filter(|&e| e <= MAX_TRAILER_BYTES)
        else {
            return false;
        };
        let mut at = self.canonical_len;
        for (i, part) in parts.iter().enumerate() {
            let dst = &mut self.canonical[at..at + part.len()];
            dst.copy_from_slice(part);
            // Only the name (first part) is lower-cased; values are signed as sent.
            if lower && i == 0 {
                dst.make_ascii_lowercase();
            }
            at += part.len();
        }
        self.canonical_len = end;
        true
    }

    /// Reads one trailer line (CRLF removed). `Ok(true)` when it is the empty line that ends the
    /// trailer section; the caller then checks the section with [`Self::check_end`].
    pub(super) fn on_line(&mut self, line: &[u8], config: &ChunkedConfig) -> Result<bool, S3Error> {
        if line.is_empty() {
            if config.trailer.is_some() && !self.seen_line && !self.skipped_blank {
                // Some clients put an empty line between the final chunk and the trailer.
                self.skipped_blank = true;
                return Ok(false);
            }
            return Ok(true);
        }
        self.seen_line = true;
        let Some(declared) = config.trailer else {
            return Err(bad_trailer(
                "The request contained trailing data that x-amz-trailer did not declare.",
            ));
        };
        if self.signature.is_some() {
            return Err(bad_trailer(
                "The trailer continued after x-amz-trailer-signature.",
            ));
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| bad_trailer("A trailing header is not of the form name:value."))?;
        let name = &line[..colon];
        let value = trim_ows(&line[colon + 1..]);
        if !is_token(name) {
            return Err(bad_trailer("A trailing header name is not valid."));
        }
        if name.eq_ignore_ascii_case(b"x-amz-trailer-signature") {
            if config.signed {
                self.signature = Some(hex_signature(value).ok_or_else(bad_signature)?);
            }
            // In an unsigned body there is nothing to check a trailer signature against: ignored.
            return Ok(false);
        }
        self.on_header(name, value, declared)?;
        Ok(false)
    }

    /// A trailing header other than the signature: counted, kept for the signature and, when it
    /// is a checksum, checked against `declared` and kept.
    fn on_header(
        &mut self,
        name: &[u8],
        value: &[u8],
        declared: ChecksumAlgorithm,
    ) -> Result<(), S3Error> {
        self.count += 1;
        if self.count > MAX_TRAILER_COUNT {
            return Err(bad_trailer("The request has too many trailing headers."));
        }
        if !self.push_canonical(&[name, b":", value, b"\n"], true) {
            return Err(bad_trailer("The request's trailing headers are too large."));
        }
        let is_checksum = name
            .get(..CHECKSUM_PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(CHECKSUM_PREFIX));
        if !is_checksum {
            // Other trailing headers are covered by the trailer signature but otherwise ignored.
            return Ok(());
        }
        let alg = ChecksumAlgorithm::from_header_name_bytes(name).ok_or_else(|| {
            S3Error::with_message(
                S3ErrorCode::InvalidChecksum,
                "The trailing checksum names an unknown algorithm.",
            )
        })?;
        if alg != declared {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidChecksum,
                "The trailing checksum is not the one x-amz-trailer declared.",
            ));
        }
        if self.checksum.is_some() {
            return Err(bad_trailer("The trailing checksum was sent twice."));
        }
        if value.len() > MAX_DIGEST_B64_LEN || std::str::from_utf8(value).is_err() {
            return Err(bad_trailer(alg.invalid_trailer_message()));
        }
        let mut buf = [0u8; MAX_DIGEST_B64_LEN];
        buf[..value.len()].copy_from_slice(value);
        self.checksum = Some((alg, buf, value.len()));
        Ok(())
    }

    /// Checks, at the end of the trailer section, that the declared trailer came and is signed.
    pub(super) fn check_end<V: ChunkVerifier>(
        &self,
        config: &ChunkedConfig,
        verifier: Option<&mut V>,
    ) -> Result<(), S3Error> {
        let Some(declared) = config.trailer else {
            return Ok(());
        };
        if self.checksum.is_none() {
            return Err(bad_trailer(missing_trailer_message(declared)));
        }
        if config.signed {
            let ok = match (self.signature.as_ref(), verifier) {
                (Some(sig), Some(v)) => v.verify_trailer(self.canonical(), sig),
                _ => false,
            };
            if !ok {
                return Err(bad_signature());
            }
        }
        Ok(())
    }
}

fn missing_trailer_message(declared: ChecksumAlgorithm) -> &'static str {
    match declared {
        ChecksumAlgorithm::Crc32 => {
            "The x-amz-checksum-crc32 trailer declared in x-amz-trailer was not sent."
        }
        ChecksumAlgorithm::Crc32c => {
            "The x-amz-checksum-crc32c trailer declared in x-amz-trailer was not sent."
        }
        ChecksumAlgorithm::Crc64Nvme => {
            "The x-amz-checksum-crc64nvme trailer declared in x-amz-trailer was not sent."
        }
        ChecksumAlgorithm::Sha1 => {
            "The x-amz-checksum-sha1 trailer declared in x-amz-trailer was not sent."
        }
        ChecksumAlgorithm::Sha256 => {
            "The x-amz-checksum-sha256 trailer declared in x-amz-trailer was not sent."
        }
    }
}
