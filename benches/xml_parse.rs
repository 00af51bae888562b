//! Parsing the XML request bodies a client controls (divan): the largest DeleteObjects and
//! CompleteMultipartUpload documents we accept, and hostile ones (deep nesting, many elements) that
//! the reader must refuse quickly. These figures are why documents past
//! `proxy::xml_body::INLINE_PARSE_BYTES` are parsed on the blocking pool instead of the shard.

use s3_orchestrator::s3::xml::{parse_complete_multipart_upload, parse_delete_request};

fn main() {
    divan::main();
}

/// DeleteObjects with the most keys S3 allows (1000), each 1000 bytes long: ~1 MiB.
fn delete_document() -> Vec<u8> {
    let key = "k".repeat(1000);
    let mut doc = String::from("<Delete><Quiet>true</Quiet>");
    for i in 0..1000 {
        doc.push_str(&format!("<Object><Key>{i}{key}</Key></Object>"));
    }
    doc.push_str("</Delete>");
    doc.into_bytes()
}

/// CompleteMultipartUpload with 10 000 parts.
fn complete_document() -> Vec<u8> {
    let mut doc = String::from("<CompleteMultipartUpload>");
    for i in 1..=10_000 {
        doc.push_str(&format!(
            "<Part><PartNumber>{i}</PartNumber><ETag>\"0123456789abcdef0123456789abcdef\"</ETag></Part>"
        ));
    }
    doc.push_str("</CompleteMultipartUpload>");
    doc.into_bytes()
}

/// 2 MiB of nested elements (refused at the depth limit).
fn deep_document() -> Vec<u8> {
    "<a>".repeat(2 * 1024 * 1024 / 3).into_bytes()
}

/// 2 MiB of empty sibling elements inside <Delete> (refused at the element limit).
fn wide_document() -> Vec<u8> {
    let mut doc = String::from("<Delete>");
    doc.push_str(&"<x/>".repeat(2 * 1024 * 1024 / 4));
    doc.push_str("</Delete>");
    doc.into_bytes()
}

#[divan::bench]
fn delete_1000_keys(bencher: divan::Bencher) {
    let doc = delete_document();
    bencher.bench(|| parse_delete_request(divan::black_box(&doc)).is_ok());
}

#[divan::bench]
fn complete_10000_parts(bencher: divan::Bencher) {
    let doc = complete_document();
    bencher.bench(|| parse_complete_multipart_upload(divan::black_box(&doc)).is_ok());
}

#[divan::bench]
fn hostile_deep_2mib(bencher: divan::Bencher) {
    let doc = deep_document();
    bencher.bench(|| parse_delete_request(divan::black_box(&doc)).is_err());
}

#[divan::bench]
fn hostile_wide_2mib(bencher: divan::Bencher) {
    let doc = wide_document();
    bencher.bench(|| parse_delete_request(divan::black_box(&doc)).is_err());
}
