//! RFC 9110 / RFC 9112 grammar shared by every parser and writer in this module (and by
//! `s3::payload` and `s3::auth`, which check header names too).
//!
//! * What a token and a field value may contain.
//! * List-valued fields (`a, b , ,c`).
//! * The three fields that decide framing and connection reuse: `Content-Length`,
//!   `Transfer-Encoding` and `Connection`. Their checks return a static reason; the request
//!   parser turns it into the 4xx/5xx it answers with, the response parser into a 502.

/// RFC 9110 §5.6.2 `tchar`: what methods, field names and transfer codings are made of.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 9110 `token`: one or more [`is_tchar`] bytes.
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// RFC 9110 §5.5 field-value bytes: HTAB, SP, VCHAR and obs-text (0x80-0xFF); no CR, LF, NUL,
/// DEL or other control byte, so a value can never end its line or the head early.
pub fn is_field_value(v: &[u8]) -> bool {
    v.iter().all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// `v` without leading and trailing optional whitespace (SP, HTAB).
pub fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// Non-empty, OWS-trimmed elements of a comma-separated field value (RFC 9110 §5.6.1: empty
/// list elements are ignored).
pub fn list_items(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|item| !item.is_empty())
}

/// The body length all `Content-Length` field values agree on (RFC 9112 §6.3 item 5): `None`
/// when there is no such field. Each value is a list of `1*DIGIT` (so `5, 5` is 5); signs,
/// spaces, hex, overflow, differing values and fields with no value at all are refused.
pub(crate) fn content_length<'a>(
    values: impl Iterator<Item = &'a [u8]>,
) -> Result<Option<u64>, &'static str> {
    let mut present = false;
    let mut length: Option<u64> = None;
    for value in values {
        present = true;
        for item in list_items(value) {
            let n = parse_decimal(item).ok_or("invalid Content-Length")?;
            if length.is_some_and(|prev| prev != n) {
                return Err("conflicting Content-Length values");
            }
            length = Some(n);
        }
    }
    if present && length.is_none() {
        return Err("empty Content-Length");
    }
    Ok(length)
}

/// What the `Transfer-Encoding` fields of a message say (RFC 9112 §6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TransferCoding {
    /// No `Transfer-Encoding` field.
    Absent,
    /// Exactly `chunked`: the one coding this layer decodes.
    Chunked,
    /// Other codings applied before a final `chunked` (`gzip, chunked`): well-formed, but
    /// nothing here can undo them.
    Unsupported,
}

/// Interprets all `Transfer-Encoding` fields together (a later field continues the list of an
/// earlier one). Refused: an empty list, `chunked` not the final coding (the body length could
/// not be determined) and `chunked` applied twice.
pub(crate) fn transfer_coding<'a>(
    values: impl Iterator<Item = &'a [u8]>,
) -> Result<TransferCoding, &'static str> {
    let mut present = false;
    let mut codings = 0usize;
    let mut chunked_count = 0usize;
    let mut last_is_chunked = false;
    for value in values {
        present = true;
        for item in list_items(value) {
            codings += 1;
            last_is_chunked = item.eq_ignore_ascii_case(b"chunked");
            chunked_count += usize::from(last_is_chunked);
        }
    }
    if !present {
        return Ok(TransferCoding::Absent);
    }
    if codings == 0 || !last_is_chunked || chunked_count > 1 {
        return Err("invalid Transfer-Encoding");
    }
    Ok(if codings == 1 {
        TransferCoding::Chunked
    } else {
        TransferCoding::Unsupported
    })
}

/// Whether the connection stays open after this message (RFC 9112 §9.3): HTTP/1.1 unless a
/// `Connection` field lists `close`; HTTP/1.0 only when one lists `keep-alive` (and none
/// `close`).
pub(crate) fn keep_alive<'a>(http11: bool, connection: impl Iterator<Item = &'a [u8]>) -> bool {
    let (mut close, mut keep) = (false, false);
    for value in connection {
        for item in list_items(value) {
            close |= item.eq_ignore_ascii_case(b"close");
            keep |= item.eq_ignore_ascii_case(b"keep-alive");
        }
    }
    !close && (http11 || keep)
}

/// `1*DIGIT` into a `u64`; `None` for anything else (empty, signs, spaces, hex, overflow).
pub(crate) fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// Decimal digits of `n` in `buf`, returned as the used tail slice (no `String` needed).
pub(crate) fn format_u64(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_values() {
        for b in 0u8..=255 {
            let expected = b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            assert_eq!(is_tchar(b), expected, "byte {b:#x}");
        }
        assert!(is_token(b"x-amz-meta-a"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a b"));
        assert!(!is_token(b"a:b"));
        assert!(is_field_value(b"a \tb\xff"));
        assert!(is_field_value(b""));
        for bad in [&b"a\rb"[..], b"a\nb", b"a\0b", b"a\x7fb", b"a\x01b"] {
            assert!(!is_field_value(bad), "{bad:?}");
        }
    }

    #[test]
    fn lists_and_ows() {
        assert_eq!(trim_ows(b" \t a b \t"), b"a b");
        assert_eq!(trim_ows(b"   "), b"");
        let items: Vec<&[u8]> = list_items(b" a, ,b ,\tc,").collect();
        assert_eq!(items, [&b"a"[..], b"b", b"c"]);
    }

    #[test]
    fn content_length_rules() {
        let cl = |vs: &[&[u8]]| content_length(vs.iter().copied());
        assert_eq!(cl(&[]), Ok(None));
        assert_eq!(cl(&[b"0"]), Ok(Some(0)));
        assert_eq!(cl(&[b"5, 5", b"5"]), Ok(Some(5)));
        assert_eq!(cl(&[b"18446744073709551615"]), Ok(Some(u64::MAX)));
        assert_eq!(cl(&[b"5", b"6"]), Err("conflicting Content-Length values"));
        assert_eq!(cl(&[b"5, 6"]), Err("conflicting Content-Length values"));
        assert_eq!(cl(&[b""]), Err("empty Content-Length"));
        assert_eq!(cl(&[b" , "]), Err("empty Content-Length"));
        for bad in [&b"+1"[..], b"-1", b"0x1", b"1 2", b"18446744073709551616"] {
            assert_eq!(cl(&[bad]), Err("invalid Content-Length"), "{bad:?}");
        }
    }

    #[test]
    fn transfer_coding_rules() {
        let te = |vs: &[&[u8]]| transfer_coding(vs.iter().copied());
        assert_eq!(te(&[]), Ok(TransferCoding::Absent));
        assert_eq!(te(&[b"chunked"]), Ok(TransferCoding::Chunked));
        assert_eq!(te(&[b" Chunked "]), Ok(TransferCoding::Chunked));
        assert_eq!(te(&[b"gzip, chunked"]), Ok(TransferCoding::Unsupported));
        assert_eq!(te(&[b"gzip", b"chunked"]), Ok(TransferCoding::Unsupported));
        for bad in [
            &[&b""[..]][..],
            &[b"gzip"],
            &[b"chunked, gzip"],
            &[b"chunked", b"chunked"],
            &[b"chunked;x=1"],
        ] {
            assert_eq!(te(bad), Err("invalid Transfer-Encoding"), "{bad:?}");
        }
    }

    #[test]
    fn connection_reuse() {
        let ka = |http11, vs: &[&[u8]]| keep_alive(http11, vs.iter().copied());
        assert!(ka(true, &[]));
        assert!(!ka(false, &[]));
        assert!(ka(false, &[b"Keep-Alive"]));
        assert!(!ka(true, &[b"foo, CLOSE"]));
        assert!(!ka(false, &[b"keep-alive", b"close"]));
    }

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal(b"007"), Some(7));
        assert_eq!(parse_decimal(b""), None);
        let mut b = [0u8; 20];
        assert_eq!(format_u64(0, &mut b), b"0");
        assert_eq!(format_u64(10, &mut b), b"10");
        assert_eq!(format_u64(u64::MAX, &mut b), b"18446744073709551615");
    }
}
