//! The `Range` header as S3 reads it: one `bytes=` range resolved against the object's size.

use crate::s3::error::{S3Error, S3ErrorCode, S3Result};

/// A byte range resolved against the object size: `[start, end]` inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

/// Parses a `Range` header. `Ok(None)`: serve the whole object (absent, not `bytes=`, several
/// ranges, or syntactically invalid, which RFC 9110 says to ignore). Unsatisfiable → InvalidRange.
pub fn parse_range(header: Option<&str>, size: u64) -> S3Result<Option<ByteRange>> {
    let Some(h) = header else { return Ok(None) };
    let Some(spec) = h.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let unsatisfiable = || S3Error::new(S3ErrorCode::InvalidRange);
    if a.is_empty() {
        // Suffix: the last N bytes.
        let Ok(n) = b.parse::<u64>() else {
            return Ok(None);
        };
        if n == 0 || size == 0 {
            return Err(unsatisfiable());
        }
        let n = n.min(size);
        return Ok(Some(ByteRange {
            start: size - n,
            end: size - 1,
        }));
    }
    let Ok(start) = a.parse::<u64>() else {
        return Ok(None);
    };
    let end = if b.is_empty() {
        u64::MAX
    } else {
        match b.parse::<u64>() {
            Ok(e) if e >= start => e,
            _ => return Ok(None),
        }
    };
    if start >= size {
        return Err(unsatisfiable());
    }
    Ok(Some(ByteRange {
        start,
        end: end.min(size - 1),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let r = |h: &str, size| parse_range(Some(h), size);
        assert_eq!(
            r("bytes=0-9", 100).expect("ok"),
            Some(ByteRange { start: 0, end: 9 })
        );
        assert_eq!(
            r("bytes=90-", 100).expect("ok"),
            Some(ByteRange { start: 90, end: 99 })
        );
        assert_eq!(
            r("bytes=-10", 100).expect("ok"),
            Some(ByteRange { start: 90, end: 99 })
        );
        assert_eq!(
            r("bytes=-1000", 100).expect("ok"),
            Some(ByteRange { start: 0, end: 99 })
        );
        assert_eq!(
            r("bytes=50-1000", 100).expect("ok"),
            Some(ByteRange { start: 50, end: 99 })
        );
        assert_eq!(
            r("bytes=0-0", 1).expect("ok"),
            Some(ByteRange { start: 0, end: 0 })
        );
        assert_eq!(
            r("bytes=100-", 100).expect_err("416").code,
            S3ErrorCode::InvalidRange
        );
        assert_eq!(
            r("bytes=-0", 100).expect_err("416").code,
            S3ErrorCode::InvalidRange
        );
        assert_eq!(
            r("bytes=0-", 0).expect_err("416").code,
            S3ErrorCode::InvalidRange
        );
        // Ignored forms serve the whole object.
        for h in [
            "bytes=5-1",
            "items=0-1",
            "bytes=a-b",
            "bytes=0-1,5-6",
            "bytes=",
        ] {
            assert_eq!(r(h, 100).expect("ignored"), None, "{h}");
        }
        assert_eq!(parse_range(None, 10).expect("ok"), None);
    }
}
