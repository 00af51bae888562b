//! The XML request documents (DeleteObjects, CompleteMultipartUpload) and the backend-answer
//! readers (`backend::xml::all_texts`, `parts`). None may panic on arbitrary bytes; beyond that:
//! - the request parsers enforce their caps and part order, and what `XmlWriter` writes parses back
//!   unchanged (see `fuzz_parse_delete_document`, `fuzz_parse_complete_document`);
//! - `all_texts` / `parts` read back the printable text `XmlWriter` wrote, in order.
#![no_main]

use s3_orchestrator::backend::xml::{all_texts, parts};
use s3_orchestrator::proxy::multipart::fuzz_parse_complete_document;
use s3_orchestrator::proxy::object::fuzz_parse_delete_document;
use s3_orchestrator::s3::xml::XmlWriter;

/// Keeps the pieces' printable characters: `all_texts` drops character references, so control
/// characters (which `XmlWriter` writes as `&#x1;`) cannot round-trip through it by design.
fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz_parse_delete_document(data);
    fuzz_parse_complete_document(data);

    // Arbitrary bytes: no panic, and nothing comes out of nothing.
    let texts = all_texts(data, "Code");
    let listed = parts(data);
    if data.is_empty() {
        assert!(texts.is_empty() && listed.is_empty());
    }

    // Round trip of backend-style answers written by our own writer.
    let text = String::from_utf8_lossy(data);
    let pieces: Vec<String> = text.split('\0').map(printable).collect();
    let mut w = XmlWriter::new();
    w.root("Error");
    for p in &pieces {
        w.elem("Code", p);
        w.elem("Other", "x");
    }
    w.close("Error");
    let doc = w.finish();
    assert_eq!(
        all_texts(doc.as_bytes(), "Code"),
        pieces,
        "all_texts round trip: {doc}"
    );

    let mut w = XmlWriter::new();
    w.root("ListPartsResult");
    let mut want = Vec::new();
    for (i, p) in pieces.iter().enumerate() {
        let part = (
            (i + 1).to_string(),
            format!("\"{}\"", hex_of(p)),
            p.len().to_string(),
            "2020-01-01T00:00:00.000Z".to_owned(),
        );
        w.open("Part");
        w.elem("PartNumber", &part.0);
        w.elem("ETag", &part.1);
        w.elem("Size", &part.2);
        w.elem("LastModified", &part.3);
        w.close("Part");
        want.push(part);
    }
    w.close("ListPartsResult");
    let doc = w.finish();
    assert_eq!(parts(doc.as_bytes()), want, "parts round trip: {doc}");
});

fn hex_of(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}
