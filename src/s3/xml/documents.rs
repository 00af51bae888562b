//! The S3 documents the orchestrator reads, all through [`XmlReader`]:
//! - clients' request bodies: DeleteObjects ([`parse_delete_request`]) and
//!   CompleteMultipartUpload ([`parse_complete_multipart_upload`]), refused with S3's error codes;
//! - backends' answers: the `<Error>` document ([`parse_error`]), InitiateMultipartUpload's
//!   UploadId ([`parse_upload_id`]), the ETag of CopyObject / UploadPartCopy / completion
//!   ([`parse_etag_answer`]), ListParts pages ([`parse_list_parts`]) and ListObjectsV2 pages
//!   ([`parse_list_objects_v2`]).
//!
//! Elements are found by their place below the root (`Object/Key` is a `<Key>` in an `<Object>`
//! in the root), whatever the root is called and whatever namespace it declares. Texts are
//! returned as written (ETags keep their quotes; keys their spaces); numbers are parsed after
//! trimming, as S3 clients do.

use super::read::{XmlError, XmlEvent, XmlReader};
use super::write::XmlWriter;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};

/// S3's cap on keys per DeleteObjects request.
pub const MAX_DELETE_KEYS: usize = 1000;

/// S3's highest part number (part numbers are 1..=10 000), so also the most parts a
/// CompleteMultipartUpload may list.
pub const MAX_PART_NUMBER: u32 = 10_000;

fn malformed(e: XmlError) -> S3Error {
    S3Error::with_message(S3ErrorCode::MalformedXML, e.to_string())
}

// ---------------------------------------------------------------------------------------------
// Request bodies

/// One `<Object>` of a DeleteObjects request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectToDelete {
    pub key: String,
    /// `<VersionId>`, if given.
    pub version_id: Option<String>,
}

/// A DeleteObjects request body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteRequest {
    /// The objects to delete, in document order (at most [`MAX_DELETE_KEYS`]).
    pub objects: Vec<ObjectToDelete>,
    /// `<Quiet>true</Quiet>`: report only failures.
    pub quiet: bool,
}

/// Parses `<Delete><Quiet>..</Quiet><Object><Key>..</Key><VersionId>..</VersionId></Object>...`.
/// `VersionId` may come before or after `Key`; an `<Object>` without a `<Key>` is skipped.
/// MalformedXML for a document that is not well formed, an `<Object>` with two keys or two
/// version ids, or more than [`MAX_DELETE_KEYS`] objects.
pub fn parse_delete_request(doc: &[u8]) -> S3Result<DeleteRequest> {
    let twice = || {
        S3Error::with_message(
            S3ErrorCode::MalformedXML,
            "an <Object> with two <Key> or two <VersionId> elements",
        )
    };
    let mut r = XmlReader::new(doc);
    let mut out = DeleteRequest::default();
    let (mut key, mut version_id) = (None, None);
    while let Some(event) = r.next_event().map_err(malformed)? {
        let text = match event {
            XmlEvent::Open => {
                if r.at(&["Object"]) {
                    (key, version_id) = (None, None);
                }
                continue;
            }
            XmlEvent::Close(text) => text,
        };
        if r.at(&["Object", "Key"]) {
            if key.replace(text).is_some() {
                return Err(twice());
            }
        } else if r.at(&["Object", "VersionId"]) {
            if version_id.replace(text).is_some() {
                return Err(twice());
            }
        } else if r.at(&["Object"]) {
            if let Some(key) = key.take() {
                if out.objects.len() >= MAX_DELETE_KEYS {
                    return Err(S3Error::with_message(
                        S3ErrorCode::MalformedXML,
                        "a DeleteObjects request may name at most 1000 keys",
                    ));
                }
                out.objects.push(ObjectToDelete {
                    key,
                    version_id: version_id.take(),
                });
            }
        } else if r.at(&["Quiet"]) {
            out.quiet = text.trim().eq_ignore_ascii_case("true");
        }
    }
    Ok(out)
}

/// One `<Part>` of a CompleteMultipartUpload request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPart {
    pub part_number: u32,
    /// As written, quotes included (empty if the part has no `<ETag>`).
    pub etag: String,
}

/// Parses `<CompleteMultipartUpload><Part><PartNumber>..</PartNumber><ETag>..</ETag></Part>...`.
/// MalformedXML for a document that is not well formed, a part without a numeric part number,
/// no parts or more than [`MAX_PART_NUMBER`]; InvalidPartOrder unless part numbers ascend.
pub fn parse_complete_multipart_upload(doc: &[u8]) -> S3Result<Vec<CompletedPart>> {
    let mut r = XmlReader::new(doc);
    let mut parts: Vec<CompletedPart> = Vec::new();
    let (mut number, mut etag) = (None, None);
    while let Some(event) = r.next_event().map_err(malformed)? {
        let text = match event {
            XmlEvent::Open => {
                if r.at(&["Part"]) {
                    (number, etag) = (None, None);
                }
                continue;
            }
            XmlEvent::Close(text) => text,
        };
        if r.at(&["Part", "PartNumber"]) {
            number = Some(text);
        } else if r.at(&["Part", "ETag"]) {
            etag = Some(text);
        } else if r.at(&["Part"]) {
            let part_number = number
                .take()
                .and_then(|n| n.trim().parse().ok())
                .ok_or_else(|| {
                    S3Error::with_message(
                        S3ErrorCode::MalformedXML,
                        "a <Part> without a numeric <PartNumber>",
                    )
                })?;
            if parts.len() >= MAX_PART_NUMBER as usize {
                return Err(S3Error::with_message(
                    S3ErrorCode::MalformedXML,
                    "a CompleteMultipartUpload may list at most 10000 parts",
                ));
            }
            parts.push(CompletedPart {
                part_number,
                etag: etag.take().unwrap_or_default(),
            });
        }
    }
    if parts.is_empty() {
        return Err(S3Error::with_message(
            S3ErrorCode::MalformedXML,
            "You must specify at least one part",
        ));
    }
    if parts
        .windows(2)
        .any(|w| matches!(w, [a, b] if a.part_number >= b.part_number))
    {
        return Err(S3Error::new(S3ErrorCode::InvalidPartOrder));
    }
    Ok(parts)
}

// ---------------------------------------------------------------------------------------------
// Backends' answers

/// The texts of the root's children named in `names` (the first of each), and the root's name.
fn root_fields<const N: usize>(
    doc: &[u8],
    names: [&str; N],
) -> Result<(String, [Option<String>; N]), XmlError> {
    let mut r = XmlReader::new(doc);
    let mut root = String::new();
    let mut found: [Option<String>; N] = std::array::from_fn(|_| None);
    while let Some(event) = r.next_event()? {
        let XmlEvent::Close(text) = event else {
            continue;
        };
        match r.depth() {
            1 => root = r.name().unwrap_or_default().to_owned(),
            2 => {
                let slot = names
                    .iter()
                    .position(|n| r.name() == Some(*n))
                    .and_then(|i| found.get_mut(i));
                if let Some(slot) = slot {
                    slot.get_or_insert(text);
                }
            }
            _ => {}
        }
    }
    Ok((root, found))
}

/// S3's error document, `<Error><Code>..</Code><Message>..</Message>...</Error>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorDocument {
    /// Empty if absent.
    pub code: String,
    /// Empty if absent.
    pub message: String,
}

/// Reads `Code` and `Message` from an error answer (whatever its root is called).
pub fn parse_error(doc: &[u8]) -> Result<ErrorDocument, XmlError> {
    let (_, [code, message]) = root_fields(doc, ["Code", "Message"])?;
    Ok(ErrorDocument {
        code: code.unwrap_or_default(),
        message: message.unwrap_or_default(),
    })
}

/// The `UploadId` of an InitiateMultipartUploadResult.
pub fn parse_upload_id(doc: &[u8]) -> Result<String, XmlError> {
    let (_, [upload_id]) = root_fields(doc, ["UploadId"])?;
    upload_id.ok_or(XmlError::Missing("UploadId"))
}

/// An answer whose body carries an ETag: CopyObjectResult, CopyPartResult,
/// CompleteMultipartUploadResult; or the `<Error>` document S3 may send with a 200 instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EtagAnswer {
    /// The ETag as written (quotes included).
    Etag(String),
    Error(ErrorDocument),
}

pub fn parse_etag_answer(doc: &[u8]) -> Result<EtagAnswer, XmlError> {
    let (root, [etag, code, message]) = root_fields(doc, ["ETag", "Code", "Message"])?;
    if root == "Error" {
        return Ok(EtagAnswer::Error(ErrorDocument {
            code: code.unwrap_or_default(),
            message: message.unwrap_or_default(),
        }));
    }
    etag.map(EtagAnswer::Etag).ok_or(XmlError::Missing("ETag"))
}

/// One `<Part>` of a ListParts page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListedPart {
    /// `None` if missing or not a number.
    pub part_number: Option<u32>,
    /// As written, quotes included (empty if absent).
    pub etag: String,
    /// `None` if missing or not a number.
    pub size: Option<u64>,
    /// `None` if missing or empty.
    pub last_modified: Option<String>,
}

/// One page of a ListParts answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPartsPage {
    pub parts: Vec<ListedPart>,
    pub is_truncated: bool,
    /// `None` if missing or not a number.
    pub next_part_number_marker: Option<u32>,
}

pub fn parse_list_parts(doc: &[u8]) -> Result<ListPartsPage, XmlError> {
    let mut r = XmlReader::new(doc);
    let mut page = ListPartsPage::default();
    let mut part = ListedPart::default();
    while let Some(event) = r.next_event()? {
        let text = match event {
            XmlEvent::Open => {
                if r.at(&["Part"]) {
                    part = ListedPart::default();
                }
                continue;
            }
            XmlEvent::Close(text) => text,
        };
        if r.at(&["Part", "PartNumber"]) {
            part.part_number = text.trim().parse().ok();
        } else if r.at(&["Part", "ETag"]) {
            part.etag = text;
        } else if r.at(&["Part", "Size"]) {
            part.size = text.trim().parse().ok();
        } else if r.at(&["Part", "LastModified"]) {
            part.last_modified = Some(text).filter(|t| !t.is_empty());
        } else if r.at(&["Part"]) {
            page.parts.push(std::mem::take(&mut part));
        } else if r.at(&["IsTruncated"]) {
            page.is_truncated = text.trim() == "true";
        } else if r.at(&["NextPartNumberMarker"]) {
            page.next_part_number_marker = text.trim().parse().ok();
        }
    }
    Ok(page)
}

/// One `<Contents>` of a ListObjectsV2 page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListedObject {
    /// Exactly as listed (a key may start or end with spaces, or hold `\r`).
    pub key: String,
    /// `None` if missing or not a number.
    pub size: Option<u64>,
    /// As written, quotes included (empty if absent).
    pub etag: String,
    /// `None` if missing.
    pub last_modified: Option<String>,
}

/// One page of a ListObjectsV2 answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListObjectsPage {
    pub objects: Vec<ListedObject>,
    pub is_truncated: bool,
    pub next_continuation_token: Option<String>,
}

/// Parses a ListObjectsV2 page. A `<Contents>` without a `<Key>` is an error
/// ([`XmlError::Missing`]): there is no object to name.
pub fn parse_list_objects_v2(doc: &[u8]) -> Result<ListObjectsPage, XmlError> {
    let mut r = XmlReader::new(doc);
    let mut page = ListObjectsPage::default();
    let mut key = None;
    let mut object = ListedObject::default();
    while let Some(event) = r.next_event()? {
        let text = match event {
            XmlEvent::Open => {
                if r.at(&["Contents"]) {
                    (key, object) = (None, ListedObject::default());
                }
                continue;
            }
            XmlEvent::Close(text) => text,
        };
        if r.at(&["Contents", "Key"]) {
            key = Some(text);
        } else if r.at(&["Contents", "Size"]) {
            object.size = text.trim().parse().ok();
        } else if r.at(&["Contents", "ETag"]) {
            object.etag = text;
        } else if r.at(&["Contents", "LastModified"]) {
            object.last_modified = Some(text);
        } else if r.at(&["Contents"]) {
            object.key = key.take().ok_or(XmlError::Missing("Key"))?;
            page.objects.push(std::mem::take(&mut object));
        } else if r.at(&["IsTruncated"]) {
            page.is_truncated = text.trim() == "true";
        } else if r.at(&["NextContinuationToken"]) {
            page.next_continuation_token = Some(text);
        }
    }
    Ok(page)
}

// ---------------------------------------------------------------------------------------------
// Fuzz entry points (the `xml_documents` cargo-fuzz target)

/// Parses `data` as a DeleteObjects document (never more than [`MAX_DELETE_KEYS`] entries may
/// come back), then reads `data` as `\0`-separated keys, writes them as a DeleteObjects document
/// with [`XmlWriter`] and asserts the parser returns exactly those keys: the key we delete is the
/// key the client named.
#[doc(hidden)]
pub fn fuzz_parse_delete_document(data: &[u8]) {
    if let Ok(request) = parse_delete_request(data) {
        assert!(
            request.objects.len() <= MAX_DELETE_KEYS,
            "key cap not enforced"
        );
    }
    let text = String::from_utf8_lossy(data);
    let keys: Vec<&str> = text.split('\0').take(MAX_DELETE_KEYS).collect();
    let quiet = keys.len() % 2 == 1;
    let mut w = XmlWriter::new();
    w.root("Delete");
    if quiet {
        w.elem("Quiet", "true");
    }
    for k in &keys {
        w.open("Object");
        w.elem("Key", k);
        w.close("Object");
    }
    w.close("Delete");
    let doc = w.finish();
    let request = match parse_delete_request(doc.as_bytes()) {
        Ok(r) => r,
        Err(e) => panic!("own DeleteObjects document refused: {e:?}\n{doc}"),
    };
    let parsed: Vec<&str> = request.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(parsed, keys, "keys changed in a round trip through XML");
    assert_eq!(request.quiet, quiet);
}

/// Parses `data` as a CompleteMultipartUpload document (a success is non-empty, strictly
/// ascending and at most [`MAX_PART_NUMBER`] parts long), then builds ascending part numbers and
/// hex ETags from `data`, writes them as a document with quoted ETags and asserts they parse back
/// unchanged.
#[doc(hidden)]
pub fn fuzz_parse_complete_document(data: &[u8]) {
    if let Ok(parts) = parse_complete_multipart_upload(data) {
        assert!(!parts.is_empty(), "empty part list accepted");
        assert!(
            parts.len() <= MAX_PART_NUMBER as usize,
            "part cap not enforced"
        );
        assert!(
            parts
                .windows(2)
                .all(|w| matches!(w, [a, b] if a.part_number < b.part_number)),
            "part order not enforced"
        );
    }
    // Three bytes per part: a step to the next part number and two bytes of ETag.
    let mut want = Vec::new();
    let mut number = 0u32;
    for c in data.chunks_exact(3).take(MAX_PART_NUMBER as usize) {
        if let [step, etag @ ..] = c {
            number += u32::from(*step) + 1;
            want.push(CompletedPart {
                part_number: number,
                etag: format!("\"{}\"", hex::encode(etag)),
            });
        }
    }
    if want.is_empty() {
        return;
    }
    let mut w = XmlWriter::new();
    w.root("CompleteMultipartUpload");
    for p in &want {
        w.open("Part");
        w.elem_display("PartNumber", p.part_number);
        w.elem("ETag", &p.etag);
        w.close("Part");
    }
    w.close("CompleteMultipartUpload");
    let doc = w.finish();
    match parse_complete_multipart_upload(doc.as_bytes()) {
        Ok(parts) => assert_eq!(parts, want, "parts changed in a round trip through XML"),
        Err(e) => panic!("own CompleteMultipartUpload document refused: {e:?}\n{doc}"),
    }
}

/// Runs every backend-answer parser on `data` (none may panic, and nothing comes out of an empty
/// answer), then reads `data` as `\0`-separated pieces and round-trips them through answers
/// written with [`XmlWriter`]: keys of a ListObjectsV2 page (any character but NUL, as import
/// needs), an error's Code and Message, and a ListParts page.
#[doc(hidden)]
pub fn fuzz_parse_backend_answers(data: &[u8]) {
    fuzz_answer_parsers(data);
    let text = String::from_utf8_lossy(data);
    // A page of 1000, as S3 lists them (and well inside the reader's element cap).
    let pieces: Vec<&str> = text.split('\0').take(1000).collect();
    fuzz_list_objects_round_trip(&pieces);
    fuzz_error_round_trip(&pieces);
    fuzz_list_parts_round_trip(&pieces);
}

/// Every backend-answer parser on arbitrary bytes: none may panic, none accepts an empty answer.
fn fuzz_answer_parsers(data: &[u8]) {
    let results = [
        parse_error(data).is_ok(),
        parse_upload_id(data).is_ok(),
        parse_etag_answer(data).is_ok(),
        parse_list_parts(data).is_ok(),
        parse_list_objects_v2(data).is_ok(),
    ];
    if data.is_empty() {
        assert_eq!(results, [false; 5], "an empty answer parsed");
    }
}

/// A ListObjectsV2 page with one object per piece (the piece is its key) and the last piece as
/// continuation token parses back to exactly that page.
fn fuzz_list_objects_round_trip(pieces: &[&str]) {
    let mut w = XmlWriter::new();
    w.root("ListBucketResult");
    w.elem("IsTruncated", "true");
    let mut want = ListObjectsPage {
        is_truncated: true,
        ..Default::default()
    };
    for (i, p) in pieces.iter().enumerate() {
        let object = ListedObject {
            key: (*p).to_owned(),
            size: Some(p.len() as u64),
            etag: format!("\"{}\"", hex::encode(p)),
            last_modified: Some(format!("2020-01-01T00:00:{:02}.000Z", i % 60)),
        };
        w.open("Contents");
        w.elem("Key", &object.key);
        w.elem_display("Size", p.len());
        w.elem("ETag", &object.etag);
        w.elem(
            "LastModified",
            object.last_modified.as_deref().unwrap_or_default(),
        );
        w.elem("StorageClass", "STANDARD");
        w.close("Contents");
        want.objects.push(object);
    }
    let token = pieces.last().copied().unwrap_or_default();
    w.elem("NextContinuationToken", token);
    want.next_continuation_token = Some(token.to_owned());
    w.close("ListBucketResult");
    let doc = w.finish();
    match parse_list_objects_v2(doc.as_bytes()) {
        Ok(page) => assert_eq!(page, want, "ListObjectsV2 round trip: {doc}"),
        Err(e) => panic!("own ListObjectsV2 page refused: {e}\n{doc}"),
    }
}

/// An `<Error>` document with the first two pieces as Code and Message reads back as that error,
/// both as an error answer and as the error form of an ETag answer.
fn fuzz_error_round_trip(pieces: &[&str]) {
    let code = pieces.first().copied().unwrap_or_default();
    let message = pieces.get(1).copied().unwrap_or_default();
    let doc = super::write::error_body(code, message, "/b/k", "id");
    let want = ErrorDocument {
        code: code.to_owned(),
        message: message.to_owned(),
    };
    assert_eq!(parse_error(doc.as_bytes()), Ok(want.clone()), "{doc}");
    assert_eq!(
        parse_etag_answer(doc.as_bytes()),
        Ok(EtagAnswer::Error(want)),
        "{doc}"
    );
}

/// A ListParts page with one part per piece (numbered from 1, the ETag the piece in hex) parses
/// back to exactly that page.
fn fuzz_list_parts_round_trip(pieces: &[&str]) {
    let mut w = XmlWriter::new();
    w.root("ListPartsResult");
    let mut want = ListPartsPage::default();
    for (i, p) in pieces.iter().enumerate() {
        let part = ListedPart {
            part_number: u32::try_from(i + 1).ok(),
            etag: format!("\"{}\"", hex::encode(p)),
            size: Some(p.len() as u64),
            last_modified: Some("2020-01-01T00:00:00.000Z".to_owned()),
        };
        w.open("Part");
        w.elem_display("PartNumber", i + 1);
        w.elem("ETag", &part.etag);
        w.elem_display("Size", p.len());
        w.elem("LastModified", "2020-01-01T00:00:00.000Z");
        w.close("Part");
        want.parts.push(part);
    }
    w.close("ListPartsResult");
    let doc = w.finish();
    match parse_list_parts(doc.as_bytes()) {
        Ok(page) => assert_eq!(page, want, "ListParts round trip: {doc}"),
        Err(e) => panic!("own ListParts page refused: {e}\n{doc}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delete_keys(doc: &[u8]) -> (Vec<(String, Option<String>)>, bool) {
        let r = parse_delete_request(doc).expect("parses");
        let keys = r
            .objects
            .into_iter()
            .map(|o| (o.key, o.version_id))
            .collect();
        (keys, r.quiet)
    }

    fn key(k: &str) -> (String, Option<String>) {
        (k.to_owned(), None)
    }

    #[test]
    fn delete_document_keys_survive_xml() {
        let doc = br#"<Delete><Quiet>true</Quiet><Object><Key>a&amp;b&#x1;</Key></Object><Object><Key><![CDATA[c<d]]></Key></Object></Delete>"#;
        assert_eq!(delete_keys(doc), (vec![key("a&b\u{1}"), key("c<d")], true));
        let doc = "<Delete><Object><Key>a\u{2028}b\u{85}c&#xD;d</Key></Object></Delete>";
        assert_eq!(delete_keys(doc.as_bytes()).0, [key("a\u{2028}b\u{85}c\rd")]);
        // Keys keep their spaces, and every reference form resolves.
        let doc = "<Delete><Object><Key>  sp  </Key></Object><Object><Key>x&#38;y&#x0D;&#x1F600;</Key></Object></Delete>";
        assert_eq!(
            delete_keys(doc.as_bytes()).0,
            [key("  sp  "), key("x&y\r\u{1F600}")]
        );
        // Line separators are ordinary characters in XML 1.0 (S3's dialect) and carriage
        // returns arrive as `&#xD;`: neither may turn into a newline, or DeleteObjects would
        // delete a different key than the one named.
        for input in [
            &b"nl\xe2\x80\xa8sep\0next\xc2\x85line"[..],
            b"cr\rkey\0crlf\r\nkey",
            b"",
            b"a\0\0b",
            b" lead\0trail \0\x01\x1f\x7f",
        ] {
            fuzz_parse_delete_document(input);
        }
    }

    #[test]
    fn delete_document() {
        let doc = br#"<?xml version="1.0" encoding="UTF-8"?>
<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>
<Object><Key>a&amp;b</Key></Object><Object><Key>sp ace/x&#x1;</Key><VersionId>null</VersionId></Object></Delete>"#;
        assert_eq!(
            delete_keys(doc),
            (
                vec![key("a&b"), ("sp ace/x\u{1}".into(), Some("null".into()))],
                true
            )
        );
        // VersionId before Key, and one object's VersionId does not leak into the next.
        let doc = b"<Delete><Object><VersionId>v1</VersionId><Key>a</Key></Object><Object><Key>b</Key></Object><Object><Key>c</Key><VersionId>v3</VersionId></Object></Delete>";
        assert_eq!(
            delete_keys(doc).0,
            [
                ("a".into(), Some("v1".into())),
                key("b"),
                ("c".into(), Some("v3".into()))
            ]
        );
        // An Object without a Key names nothing; Quiet is case-insensitive and optional.
        let doc = b"<Delete><Quiet> TRUE </Quiet><Object><VersionId>v</VersionId></Object><Object><Key>k</Key></Object></Delete>";
        assert_eq!(delete_keys(doc), (vec![key("k")], true));
        assert!(!delete_keys(b"<Delete><Object><Key>k</Key></Object></Delete>").1);
        // A Key outside an Object is not a key to delete.
        assert_eq!(
            delete_keys(
                b"<Delete><Key>x</Key><Other><Object><Key>y</Key></Object></Other></Delete>"
            )
            .0,
            Vec::<(String, Option<String>)>::new()
        );
    }

    #[test]
    fn delete_document_refusals() {
        let code = |doc: &[u8]| parse_delete_request(doc).map(|_| ()).map_err(|e| e.code);
        let malformed = Err(S3ErrorCode::MalformedXML);
        assert_eq!(code(b"<Delete><Object><Key>x</Object>"), malformed);
        assert_eq!(
            code(b"<Delete><Object><Key>x&#0;</Key></Object></Delete>"),
            malformed
        );
        assert_eq!(
            code(b"<Delete><Object><Key>x&nbsp;</Key></Object></Delete>"),
            malformed
        );
        assert_eq!(
            code(b"<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>"),
            malformed
        );
        assert_eq!(
            code(b"<Delete><Object><Key>a</Key><VersionId>1</VersionId><VersionId>2</VersionId></Object></Delete>"),
            malformed
        );
        assert_eq!(code(b""), malformed);
        let many = format!(
            "<Delete>{}</Delete>",
            "<Object><Key>k</Key></Object>".repeat(MAX_DELETE_KEYS + 1)
        );
        assert_eq!(code(many.as_bytes()), malformed);
        let most = format!(
            "<Delete>{}</Delete>",
            "<Object><Key>k</Key></Object>".repeat(MAX_DELETE_KEYS)
        );
        assert_eq!(code(most.as_bytes()), Ok(()));
        // The reason reaches the client.
        let e = parse_delete_request(b"<Delete><Object><Key>&#xD800;</Key></Object></Delete>")
            .expect_err("surrogate");
        assert!(e.message.contains("&#xD800;"), "{}", e.message);
    }

    fn part(n: u32, etag: &str) -> CompletedPart {
        CompletedPart {
            part_number: n,
            etag: etag.to_owned(),
        }
    }

    #[test]
    fn complete_document() {
        let doc = br#"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>"a1"</ETag><PartNumber>1</PartNumber></Part><Part><PartNumber> 3 </PartNumber><ETag>&quot;b2&quot;</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part></CompleteMultipartUpload>"#;
        assert_eq!(
            parse_complete_multipart_upload(doc).expect("parses"),
            [part(1, "\"a1\""), part(3, "\"b2\"")]
        );
        let code = |doc: &[u8]| parse_complete_multipart_upload(doc).map_err(|e| e.code);
        let bad_order = b"<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>x</ETag></Part><Part><PartNumber>1</PartNumber><ETag>y</ETag></Part></CompleteMultipartUpload>";
        assert_eq!(code(bad_order), Err(S3ErrorCode::InvalidPartOrder));
        let repeated = b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>";
        assert_eq!(code(repeated), Err(S3ErrorCode::InvalidPartOrder));
        assert_eq!(
            code(b"<CompleteMultipartUpload/>"),
            Err(S3ErrorCode::MalformedXML)
        );
        assert_eq!(
            code(b"<Part><PartNumber>x</PartNumber></Part>"),
            Err(S3ErrorCode::MalformedXML)
        );
        assert_eq!(
            code(b"<C><Part><PartNumber>x</PartNumber></Part></C>"),
            Err(S3ErrorCode::MalformedXML)
        );
        assert_eq!(
            code(b"<C><Part><ETag>e</ETag></Part></C>"),
            Err(S3ErrorCode::MalformedXML)
        );
        assert_eq!(
            code(b"<C><Part><PartNumber>1</PartNumber><ETag>&bogus;</ETag></Part></C>"),
            Err(S3ErrorCode::MalformedXML)
        );
        // A part without an ETag is passed on (the backend judges it).
        assert_eq!(
            code(b"<C><Part><PartNumber>1</PartNumber></Part></C>"),
            Ok(vec![part(1, "")])
        );
        let one = "<Part><PartNumber>1</PartNumber></Part>";
        let parts: String = (1..=MAX_PART_NUMBER + 1)
            .map(|n| one.replace('1', &n.to_string()))
            .collect();
        assert_eq!(
            code(format!("<C>{parts}</C>").as_bytes()),
            Err(S3ErrorCode::MalformedXML)
        );
    }

    #[test]
    fn complete_document_fuzz_entry_on_samples() {
        for input in [&b""[..], b"\x00\x01\x02", b"<Part>", &[0xff; 300]] {
            fuzz_parse_complete_document(input);
        }
    }

    #[test]
    fn largest_complete_document_fits_the_reader() {
        // 10 000 parts, each with PartNumber, ETag and all five checksums: the most elements a
        // CompleteMultipartUpload carries stays inside the reader's MAX_ELEMENTS.
        let mut doc = String::from("<CompleteMultipartUpload>");
        for n in 1..=MAX_PART_NUMBER {
            doc.push_str(&format!("<Part><PartNumber>{n}</PartNumber><ETag>\"{n:032x}\"</ETag><ChecksumCRC32>a</ChecksumCRC32><ChecksumCRC32C>a</ChecksumCRC32C><ChecksumCRC64NVME>a</ChecksumCRC64NVME><ChecksumSHA1>a</ChecksumSHA1><ChecksumSHA256>a</ChecksumSHA256></Part>"));
        }
        doc.push_str("</CompleteMultipartUpload>");
        let parts = parse_complete_multipart_upload(doc.as_bytes()).expect("parses");
        assert_eq!(parts.len(), MAX_PART_NUMBER as usize);
    }

    #[test]
    fn error_documents() {
        let doc = br#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SlowDown</Code><Message>Please reduce your request rate &amp; retry.</Message><Resource>/b/k</Resource><RequestId>1</RequestId></Error>"#;
        let want = ErrorDocument {
            code: "SlowDown".into(),
            message: "Please reduce your request rate & retry.".into(),
        };
        assert_eq!(parse_error(doc), Ok(want.clone()));
        assert_eq!(parse_etag_answer(doc), Ok(EtagAnswer::Error(want)));
        assert_eq!(parse_error(b"<Error/>"), Ok(ErrorDocument::default()));
        // A nested Code is not the error's code.
        assert_eq!(
            parse_error(b"<Error><Detail><Code>x</Code></Detail></Error>"),
            Ok(ErrorDocument::default())
        );
        assert!(parse_error(b"").is_err());
        assert!(parse_error(b"<html><body>502 Bad Gateway</html>").is_err());
    }

    #[test]
    fn upload_ids_and_etags() {
        let doc = br#"<?xml version="1.0"?><InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><Key>a&amp;b</Key><UploadId>xyz&#x2D;1</UploadId></InitiateMultipartUploadResult>"#;
        assert_eq!(parse_upload_id(doc).as_deref(), Ok("xyz-1"));
        assert_eq!(
            parse_upload_id(b"<InitiateMultipartUploadResult/>"),
            Err(XmlError::Missing("UploadId"))
        );
        let copy = br#"<CopyObjectResult><LastModified>2020-01-01T00:00:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag></CopyObjectResult>"#;
        assert_eq!(
            parse_etag_answer(copy),
            Ok(EtagAnswer::Etag("\"abc\"".into()))
        );
        let part = br#"<CopyPartResult><ETag>&#34;def&#34;</ETag></CopyPartResult>"#;
        assert_eq!(
            parse_etag_answer(part),
            Ok(EtagAnswer::Etag("\"def\"".into()))
        );
        assert_eq!(
            parse_etag_answer(
                b"<CompleteMultipartUploadResult><Key>k</Key></CompleteMultipartUploadResult>"
            ),
            Err(XmlError::Missing("ETag"))
        );
    }

    #[test]
    fn list_parts_pages() {
        let lp = br#"<ListPartsResult><Bucket>b</Bucket><IsTruncated>true</IsTruncated><NextPartNumberMarker>2</NextPartNumberMarker><Part><PartNumber>1</PartNumber><ETag>&quot;abc&quot;</ETag><Size>5</Size><LastModified>2020-01-01T00:00:00.000Z</LastModified></Part><Part><PartNumber>2</PartNumber><ETag>"def"</ETag><Size>7</Size></Part><Part><PartNumber>x</PartNumber><Size></Size><LastModified></LastModified></Part></ListPartsResult>"#;
        let page = parse_list_parts(lp).expect("parses");
        assert!(page.is_truncated);
        assert_eq!(page.next_part_number_marker, Some(2));
        assert_eq!(
            page.parts,
            [
                ListedPart {
                    part_number: Some(1),
                    etag: "\"abc\"".into(),
                    size: Some(5),
                    last_modified: Some("2020-01-01T00:00:00.000Z".into()),
                },
                ListedPart {
                    part_number: Some(2),
                    etag: "\"def\"".into(),
                    size: Some(7),
                    last_modified: None,
                },
                ListedPart::default(),
            ]
        );
        let page = parse_list_parts(
            b"<ListPartsResult><IsTruncated>false</IsTruncated></ListPartsResult>",
        )
        .expect("parses");
        assert_eq!(page, ListPartsPage::default());
        assert!(parse_list_parts(b"<ListPartsResult><Part>").is_err());
    }

    #[test]
    fn list_objects_pages() {
        let doc = br#"<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix></Prefix><KeyCount>3</KeyCount><IsTruncated>true</IsTruncated><Contents><Key>a/b</Key><LastModified>2024-05-01T10:00:00.000Z</LastModified><ETag>"abc"</ETag><Size>12</Size><Owner><ID>o</ID></Owner></Contents><Contents><Key>a&#x0D;b</Key><ETag>&quot;def&quot;</ETag><Size>0</Size></Contents><Contents><Key> x&#38;y </Key><Size>big</Size></Contents><NextContinuationToken>tok&amp;en</NextContinuationToken></ListBucketResult>"#;
        let page = parse_list_objects_v2(doc).expect("parses");
        assert!(page.is_truncated);
        assert_eq!(page.next_continuation_token.as_deref(), Some("tok&en"));
        assert_eq!(
            page.objects,
            [
                ListedObject {
                    key: "a/b".into(),
                    size: Some(12),
                    etag: "\"abc\"".into(),
                    last_modified: Some("2024-05-01T10:00:00.000Z".into()),
                },
                ListedObject {
                    key: "a\rb".into(),
                    size: Some(0),
                    etag: "\"def\"".into(),
                    last_modified: None,
                },
                ListedObject {
                    key: " x&y ".into(),
                    ..Default::default()
                },
            ]
        );
        assert_eq!(
            parse_list_objects_v2(
                b"<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>"
            ),
            Err(XmlError::Missing("Key"))
        );
        assert!(matches!(
            parse_list_objects_v2(
                b"<ListBucketResult><Contents><Key>a&#0;</Key></Contents></ListBucketResult>"
            ),
            Err(XmlError::InvalidCharRef(_))
        ));
    }

    #[test]
    fn fuzz_entries_on_the_committed_seeds() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/xml_documents");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).expect("seed directory") {
            let data = std::fs::read(entry.expect("seed").path()).expect("seed file");
            fuzz_parse_delete_document(&data);
            fuzz_parse_complete_document(&data);
            fuzz_parse_backend_answers(&data);
            seen += 1;
        }
        assert!(seen >= 6, "seeds missing");
    }

    #[test]
    fn backend_answers_fuzz_entry_on_samples() {
        for input in [
            &b""[..],
            b"\x00\x01\x02",
            b"<Error><Code>",
            b"<<<>>&&",
            b"cr\rkey\0x&y\0 sp \0\x01",
            &[0xff; 300],
        ] {
            fuzz_parse_backend_answers(input);
        }
    }
}
