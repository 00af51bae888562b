//! The fuzz entry of the request-head parser (`fuzz/fuzz_targets/request_head.rs`): the
//! invariants a parsed head must keep, asserted so the fuzzer finds a violation.

use super::head::*;
use super::limits::{MAX_HEADERS, MAX_HEAD_BYTES, MAX_URI_BYTES};

/// Fuzz entry point (for a cargo-fuzz target): parses arbitrary bytes in one
/// call and byte by byte, asserting that both agree and that every accessor
/// of a complete head upholds its invariants. Must never panic otherwise.
pub fn fuzz_parse_head(data: &[u8]) {
    let mut one = RequestHead::new();
    let r_one = one.parse(data);

    // Incremental: grow the prefix one byte at a time until a verdict.
    let mut inc = RequestHead::new();
    let mut r_inc = Ok(ParseStatus::Partial);
    for k in 0..=data.len() {
        r_inc = inc.parse(&data[..k]);
        if r_inc != Ok(ParseStatus::Partial) {
            break;
        }
    }
    assert_eq!(r_one, r_inc, "split-dependent parse result");

    if let Ok(ParseStatus::Complete { head_len }) = r_one {
        assert!(head_len <= data.len());
        assert!(head_len <= MAX_HEAD_BYTES);
        assert!(one.is_complete());
        assert!(one.header_count() <= MAX_HEADERS);
        assert!(one.target().len() <= MAX_URI_BYTES);
        assert!(!one.method().is_empty());
        let t = one.target();
        assert!(t.starts_with(one.path()));
        if !one.query().is_empty() {
            assert_eq!(t.len(), one.path().len() + 1 + one.query().len());
        }
        let mut view = Vec::new();
        one.headers_into(&mut view);
        assert_eq!(view.len(), one.header_count());
        for (name, _) in &view {
            assert!(one.header(name).is_some());
            assert!(!name.is_empty());
        }
        match one.body_kind() {
            BodyKind::Chunked => {
                assert!(one.header("transfer-encoding").is_some());
                assert!(one.header("content-length").is_none());
            }
            BodyKind::Length(_) => assert!(one.header("content-length").is_some()),
            BodyKind::None => {
                assert!(one.header("transfer-encoding").is_none());
            }
        }
        assert_eq!(inc.method(), one.method());
        assert_eq!(inc.target(), one.target());
        assert!(inc.headers().eq(one.headers()));
        // Reuse after clear yields the same head.
        one.clear();
        assert_eq!(one.parse(data), r_one);
    }
}
