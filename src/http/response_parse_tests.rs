//! Tests of the response head parser (`response_parse.rs`).

#![allow(clippy::unwrap_used)] // tests may unwrap

use super::*;

fn parse_all(input: &[u8]) -> (ParsedResponseHead, Result<ParseStatus, HttpError>) {
    let mut h = ParsedResponseHead::new();
    let r = h.parse(input);
    (h, r)
}

fn complete(input: &[u8]) -> ParsedResponseHead {
    let (h, r) = parse_all(input);
    assert_eq!(
        r,
        Ok(ParseStatus::Complete {
            head_len: input.len()
        }),
        "input: {:?}",
        String::from_utf8_lossy(input)
    );
    h
}

/// The verdict for `input`, checked to be the same when fed byte by byte.
fn verdict(input: &[u8]) -> Result<ParseStatus, HttpError> {
    let (_, whole) = parse_all(input);
    let mut h = ParsedResponseHead::new();
    let mut inc = Ok(ParseStatus::Partial);
    for k in 0..=input.len() {
        inc = h.parse(&input[..k]);
        if inc != Ok(ParseStatus::Partial) {
            break;
        }
    }
    assert_eq!(
        whole,
        inc,
        "split-dependent: {:?}",
        String::from_utf8_lossy(input)
    );
    whole
}

fn refused(input: &[u8]) -> &'static str {
    match verdict(input) {
        Err(e) => {
            assert_eq!(e.status, 502);
            e.reason
        }
        Ok(r) => panic!("accepted {:?}: {r:?}", String::from_utf8_lossy(input)),
    }
}

#[test]
fn simple_response() {
    let h = complete(
        b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nETag: \"x\"\r\nx-amz-meta-a: \xc3\xa9\r\n\r\n",
    );
    assert_eq!(h.status(), 200);
    assert_eq!(h.version(), Version::Http11);
    assert!(!h.is_interim());
    assert!(h.keep_alive());
    assert_eq!(h.content_length(), Some(12));
    assert_eq!(h.framing(false), ResponseFraming::Length(12));
    assert_eq!(h.header("etag"), Some(&b"\"x\""[..]));
    assert_eq!(h.header("X-AMZ-META-A"), Some("\u{e9}".as_bytes()));
    assert_eq!(h.header("missing"), None);
    assert_eq!(h.header_count(), 3);
    let names: Vec<&str> = h.headers().map(|(n, _)| n).collect();
    assert_eq!(names, ["Content-Length", "ETag", "x-amz-meta-a"]);
    // Values are trimmed; repeated names are all kept, in order.
    let h = complete(b"HTTP/1.1 200 OK\r\nX-A:  1 \r\nx-a:\t2\r\nContent-Length: 0\r\n\r\n");
    let all: Vec<&[u8]> = h.header_all("X-a").collect();
    assert_eq!(all, [&b"1"[..], b"2"]);
    assert_eq!(h.framing(false), ResponseFraming::Length(0));
}

#[test]
fn status_lines() {
    // No reason phrase, an odd one, obs-text in it: the phrase is never looked at.
    for line in [
        &b"HTTP/1.1 200\r\n\r\n"[..],
        b"HTTP/1.1 200 \r\n\r\n",
        b"HTTP/1.1 404 Not Here At All\r\n\r\n",
        b"HTTP/1.1 599 \xe9t\xe9\r\n\r\n",
    ] {
        complete(line);
    }
    assert_eq!(complete(b"HTTP/1.1 999 X\r\n\r\n").status(), 999);
    assert_eq!(refused(b"HTTP/1.1 099 X\r\n\r\n"), "invalid status code");
    for bad in [
        &b"HTTP/1.1 20 OK\r\n\r\n"[..],
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1  200 OK\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 200 O\x01K\r\n\r\n",
    ] {
        assert_eq!(refused(bad), "malformed status line", "{bad:?}");
    }
    for bad in [
        &b"HTTP/2 200\r\n\r\n"[..],
        b"HTTP/2.0 200 OK\r\n\r\n",
        b"HTTP/1.2 200 OK\r\n\r\n",
        b"HTTP/1.x 200 OK\r\n\r\n",
    ] {
        assert_eq!(
            refused(bad),
            "unsupported HTTP version in response",
            "{bad:?}"
        );
    }
}

#[test]
fn not_http_is_refused_at_the_first_differing_byte() {
    for garbage in [
        &b"SSH-2.0-OpenSSH"[..],
        b"\x15\x03\x03\x00\x02",
        b"http/1.1 200",
        b"\r\nHTTP/1.1 200 OK",
        b"HTTX/1.1 200",
        b"HTTP1.1 200",
    ] {
        let at = garbage
            .iter()
            .zip(STATUS_LINE_PREFIX)
            .position(|(a, b)| a != b)
            .unwrap();
        assert_eq!(verdict(&garbage[..at]), Ok(ParseStatus::Partial));
        assert_eq!(refused(&garbage[..=at]), "not an HTTP/1.x response");
    }
}

#[test]
fn every_split_point_gives_the_same_heads() {
    let input: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\nETag: \"e\"\r\n\r\nok";
    let first_len = b"HTTP/1.1 100 Continue\r\n\r\n".len();
    let final_len = input.len() - first_len - 2;
    for split in 0..=input.len() {
        let mut h = ParsedResponseHead::new();
        // Like a connection: `split` bytes arrive first, then the rest.
        let (mut arrived, mut consumed) = (split, 0);
        let mut heads = Vec::new();
        loop {
            match h.parse(&input[consumed..arrived]).unwrap() {
                ParseStatus::Partial => {
                    assert!(arrived < input.len(), "split {split}");
                    arrived = input.len();
                }
                ParseStatus::Complete { head_len } => {
                    heads.push((h.status(), head_len, h.framing(false)));
                    consumed += head_len;
                    if !h.is_interim() {
                        break;
                    }
                }
            }
        }
        assert_eq!(
            heads,
            [
                (100, first_len, ResponseFraming::None),
                (201, final_len, ResponseFraming::Length(2))
            ],
            "split {split}"
        );
        assert_eq!(h.header("etag"), Some(&b"\"e\""[..]));
        assert_eq!(&input[consumed..], b"ok");
    }
}

#[test]
fn partial_states() {
    for p in [
        &b""[..],
        b"H",
        b"HTTP/",
        b"HTTP/1.1 200 OK",
        b"HTTP/1.1 200 OK\r",
        b"HTTP/1.1 200 OK\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r",
    ] {
        assert_eq!(verdict(p), Ok(ParseStatus::Partial), "{p:?}");
    }
}

#[test]
fn line_endings_and_field_syntax_are_strict() {
    let cases: &[(&[u8], &str)] = &[
        (
            b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
            "bare LF in response head",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n",
            "bare LF in response head",
        ),
        (
            b"HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
            "bare CR in response head",
        ),
        (
            b"HTTP/1.1 200 OK\r\nX-F: a\r\n b\r\n\r\n",
            "malformed response header field name",
        ),
        (
            b"HTTP/1.1 200 OK\r\nX-F: a\r\n\tb\r\n\r\n",
            "malformed response header field name",
        ),
        (
            b"HTTP/1.1 200 OK\r\n X: a\r\n\r\n",
            "malformed response header field name",
        ),
        (
            b"HTTP/1.1 200 OK\r\nX : a\r\n\r\n",
            "malformed response header field name",
        ),
        (
            b"HTTP/1.1 200 OK\r\nX Y: a\r\n\r\n",
            "malformed response header field name",
        ),
        (
            b"HTTP/1.1 200 OK\r\nX(y): a\r\n\r\n",
            "malformed response header field name",
        ),
        (
            b"HTTP/1.1 200 OK\r\n: a\r\n\r\n",
            "malformed response header field name",
        ),
        (
            b"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
            "malformed response header field name",
        ),
        (
            b"HTTP/1.1 200 OK\r\nX-\xc3\xa9: a\r\n\r\n",
            "malformed response header field name",
        ),
        (
            b"HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n",
            "malformed response header field value",
        ),
        (
            b"HTTP/1.1 200 OK\r\nX: a\x01b\r\n\r\n",
            "malformed response header field value",
        ),
        (
            b"HTTP/1.1 200 OK\r\nX: a\x7fb\r\n\r\n",
            "malformed response header field value",
        ),
    ];
    for (input, reason) in cases {
        assert_eq!(
            refused(input),
            *reason,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    // obs-text in values is kept as bytes.
    let h = complete(b"HTTP/1.1 200 OK\r\nx-raw: a\xff\x80b\r\n\r\n");
    assert_eq!(h.header("x-raw"), Some(&[b'a', 0xff, 0x80, b'b'][..]));
}

#[test]
fn content_length_must_be_one_valid_number() {
    // Identical duplicates are the same length (RFC 9110 §8.6 allows either answer; the
    // request parser accepts them too).
    let h = complete(b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n");
    assert_eq!(h.framing(false), ResponseFraming::Length(5));
    let cases: &[(&[u8], &str)] = &[
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            "conflicting Content-Length values",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
            "conflicting Content-Length values",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "invalid Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n",
            "invalid Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
            "invalid Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
            "invalid Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n",
            "invalid Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
            "empty Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: ,\r\n\r\n",
            "empty Content-Length",
        ),
    ];
    for (input, reason) in cases {
        assert_eq!(
            refused(input),
            *reason,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    // A HEAD or 304 answer with a bad length is refused just the same: its headers are
    // forwarded.
    refused(b"HTTP/1.1 304 Not Modified\r\nContent-Length: x\r\n\r\n");
}

#[test]
fn only_chunked_transfer_coding_is_accepted() {
    let h = complete(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n");
    assert_eq!(h.framing(false), ResponseFraming::Chunked);
    assert!(h.keep_alive());
    let cases: &[(&[u8], &str)] = &[
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            "invalid Transfer-Encoding",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            "invalid Transfer-Encoding",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            "unsupported transfer coding",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
            "unsupported transfer coding",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            "invalid Transfer-Encoding",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\n",
            "invalid Transfer-Encoding",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n",
            "invalid Transfer-Encoding",
        ),
        (
            b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            "Transfer-Encoding in HTTP/1.0",
        ),
    ];
    for (input, reason) in cases {
        assert_eq!(
            refused(input),
            *reason,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn both_framings_mean_chunked_and_no_reuse() {
    let h =
        complete(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert_eq!(h.framing(false), ResponseFraming::Chunked);
    assert!(!h.keep_alive());
}

#[test]
fn interim_responses() {
    let h = complete(b"HTTP/1.1 100 Continue\r\n\r\n");
    assert!(h.is_interim());
    assert_eq!(h.framing(false), ResponseFraming::None);
    // A 1xx never has a body, whatever its fields claim.
    let h = complete(b"HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\n");
    assert_eq!(h.framing(false), ResponseFraming::None);
    let h = complete(b"HTTP/1.1 102 Processing\r\n\r\n");
    assert!(h.is_interim());
    // 101 is reported as it is; refusing an unrequested upgrade is the client's call.
    let h = complete(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n");
    assert_eq!((h.status(), h.is_interim()), (101, true));
    assert!(!complete(b"HTTP/1.1 200 OK\r\n\r\n").is_interim());

    // Interim and final heads in one buffer: each parse takes one head.
    let input = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 500 Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let mut h = ParsedResponseHead::new();
    let mut rest: &[u8] = input;
    let mut statuses = Vec::new();
    while !rest.is_empty() {
        let Ok(ParseStatus::Complete { head_len }) = h.parse(rest) else {
            panic!("expected a complete head");
        };
        statuses.push(h.status());
        rest = &rest[head_len..];
    }
    assert_eq!(statuses, [100, 102, 500]);
    assert!(!h.keep_alive());
    assert_eq!(h.framing(false), ResponseFraming::Length(0));
}

#[test]
fn bodiless_responses() {
    let h = complete(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nETag: \"abc\"\r\n\r\n");
    assert_eq!(h.framing(true), ResponseFraming::None);
    assert_eq!(h.content_length(), Some(100));
    let h = complete(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert_eq!(h.framing(true), ResponseFraming::None);
    let h = complete(b"HTTP/1.1 200 OK\r\n\r\n");
    assert_eq!(h.framing(true), ResponseFraming::None);
    assert_eq!(h.framing(false), ResponseFraming::UntilClose);
    for status in [204, 304] {
        for extra in [
            "",
            "Content-Length: 42\r\n",
            "Transfer-Encoding: chunked\r\n",
        ] {
            let raw = format!("HTTP/1.1 {status} X\r\n{extra}\r\n");
            let h = complete(raw.as_bytes());
            assert_eq!(h.framing(false), ResponseFraming::None, "{raw:?}");
            assert!(h.keep_alive());
        }
    }
}

#[test]
fn connection_reuse() {
    let ka = |raw: &[u8]| complete(raw).keep_alive();
    assert!(ka(b"HTTP/1.1 200 OK\r\n\r\n"));
    assert!(!ka(
        b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, close\r\n\r\n"
    ));
    assert!(!ka(b"HTTP/1.0 200 OK\r\n\r\n"));
    assert!(ka(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n"));
    assert_eq!(
        complete(b"HTTP/1.0 200 OK\r\n\r\n").version(),
        Version::Http10
    );
}

#[test]
fn head_size_limit() {
    let prefix = b"HTTP/1.1 200 OK\r\nx-pad: ";
    // Exactly MAX_RESPONSE_HEAD_BYTES is fine.
    let mut exact = prefix.to_vec();
    exact.resize(MAX_RESPONSE_HEAD_BYTES - 4, b'p');
    exact.extend_from_slice(b"\r\n\r\n");
    assert_eq!(exact.len(), MAX_RESPONSE_HEAD_BYTES);
    let h = complete(&exact);
    assert_eq!(
        h.header("x-pad").map(<[u8]>::len),
        Some(MAX_RESPONSE_HEAD_BYTES - 4 - prefix.len())
    );
    // One byte more is refused even though the end is in the buffer.
    let mut over = prefix.to_vec();
    over.resize(MAX_RESPONSE_HEAD_BYTES - 3, b'p');
    over.extend_from_slice(b"\r\n\r\n");
    assert_eq!(refused(&over), "response head too large");
    // A head that never ends is refused once the limit is buffered, not later.
    let mut endless = prefix.to_vec();
    endless.resize(MAX_RESPONSE_HEAD_BYTES - 1, b'p');
    assert_eq!(verdict(&endless), Ok(ParseStatus::Partial));
    endless.push(b'p');
    assert_eq!(refused(&endless), "response head too large");
}

#[test]
fn header_count_limit() {
    let mut s = String::from("HTTP/1.1 200 OK\r\n");
    for i in 0..MAX_RESPONSE_HEADERS {
        s.push_str(&format!("x-h{i}: v\r\n"));
    }
    let mut over = s.clone();
    s.push_str("\r\n");
    assert_eq!(complete(s.as_bytes()).header_count(), MAX_RESPONSE_HEADERS);
    over.push_str("x-more: v\r\n\r\n");
    assert_eq!(refused(over.as_bytes()), "too many response header fields");
}

#[test]
fn errors_are_sticky_and_clear_keeps_capacity() {
    let mut h = ParsedResponseHead::new();
    assert!(h.parse(b"HTTP/1.1 200 OK\n").is_err());
    assert!(h.parse(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
    h.clear();
    let big = b"HTTP/1.1 200 OK\r\nx-amz-meta-a: 1234567890\r\nContent-Length: 3\r\n\r\n";
    assert!(h.parse(big).is_ok());
    let (bc, fc) = (h.bytes.capacity(), h.fields.capacity());
    // A parse after Complete starts afresh without an explicit clear.
    h.parse(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
    assert_eq!(h.status(), 204);
    assert_eq!(h.header("x-amz-meta-a"), None);
    assert_eq!(h.content_length(), None);
    assert_eq!((h.bytes.capacity(), h.fields.capacity()), (bc, fc));
    h.clear();
    assert!(!h.is_complete());
    assert_eq!(h.header_count(), 0);
}

/// Small deterministic PRNG for the random inputs (no extra dependency).
fn xorshift(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

#[test]
fn fuzz_entry_on_corpus_and_random_bytes() {
    let corpus: &[&[u8]] = &[
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HTTP/1.0 304 Not Modified\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r",
        b"HTTP",
        b"",
    ];
    for c in corpus {
        fuzz_parse_response_head(c);
    }
    let alphabet = b"HTTP/1.01 200\r\n:Content-Length Transfer-Encoding chunked,close\x00\xff\t";
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..300 {
        let len = (xorshift(&mut seed) % 80) as usize;
        let mut data = b"HTTP/1.1 200 OK\r\n".to_vec();
        for _ in 0..len {
            let i = (xorshift(&mut seed) % alphabet.len() as u64) as usize;
            data.push(alphabet[i]);
        }
        data.extend_from_slice(b"\r\n\r\n");
        fuzz_parse_response_head(&data);
    }
}
