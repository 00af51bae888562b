//! XML request bodies a client controls: hostile ones (2 MiB deeply nested, 2 MiB of empty
//! elements) are refused with 400 MalformedXML at once and leave the shard serving; a large valid
//! DeleteObjects document (parsed on the blocking pool, past `INLINE_PARSE_BYTES`) is applied whole.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::time::{Duration, Instant};

/// Longest a refusal of a hostile document may take on a loaded 2-core machine (debug build);
/// the parse itself is a few milliseconds, the rest is reading 2 MiB over loopback.
const REFUSAL_DEADLINE: Duration = Duration::from_secs(5);

fn delete_objects(srv: &TestServer, doc: &[u8]) -> Response {
    srv.send(
        &srv.signed(ALPHA, "POST", "/alpha")
            .query("delete", "")
            .body_sha256(doc),
    )
}

#[test]
fn hostile_xml_bodies_are_refused_and_the_shard_keeps_serving() {
    let srv = TestServer::start();
    srv.put_ok("/alpha/survivor", b"still here");
    let deep = "<Delete>".repeat(2 * 1024 * 1024 / 8 - 8).into_bytes();
    let mut wide = b"<Delete>".to_vec();
    wide.extend("<x/>".repeat(2 * 1024 * 1024 / 4 - 8).as_bytes());
    wide.extend(b"</Delete>");
    for (what, doc) in [("deep", &deep), ("wide", &wide)] {
        let started = Instant::now();
        let r = delete_objects(&srv, doc);
        r.assert_error(400, "MalformedXML");
        assert!(
            started.elapsed() < REFUSAL_DEADLINE,
            "{what}: refused after {:?}",
            started.elapsed()
        );
        srv.assert_content("/alpha/survivor", b"still here");
    }
}

#[test]
fn large_delete_document_is_applied_whole() {
    let srv = TestServer::start();
    // 100 keys of ~900 bytes: a ~95 KiB document, above the in-place parse limit.
    let keys: Vec<String> = (0..100)
        .map(|i| format!("{i:03}-{}", "k".repeat(896)))
        .collect();
    for k in &keys {
        srv.put_ok(&format!("/alpha/{k}"), b"x");
    }
    srv.put_ok("/alpha/kept", b"kept");
    let mut doc = String::from("<Delete>");
    for k in &keys {
        doc.push_str(&format!("<Object><Key>{k}</Key></Object>"));
    }
    doc.push_str("</Delete>");
    assert!(doc.len() > 64 * 1024);
    let r = delete_objects(&srv, doc.as_bytes());
    assert_eq!(r.status, 200, "{}", r.body_text());
    let text = r.body_text();
    assert_eq!(text.matches("<Deleted>").count(), keys.len(), "{text}");
    for k in &keys {
        srv.assert_absent(&format!("/alpha/{k}"));
    }
    srv.assert_content("/alpha/kept", b"kept");
}
