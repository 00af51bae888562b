//! Object operations: PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects, CopyObject.

use super::{RequestCtx, Response, ResponseBody};
use crate::backend::Integrity;
use crate::backend::{backend_key, ObjectMeta};
use crate::catalog::{Copy, CopyState, ObjectRecord};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::etag::{quote_etag, unquote_etag};
use crate::s3::range::parse_range;
use crate::s3::xml::XmlWriter;
use crate::server::body::BodyReader;

/// S3's largest single PUT (5 GiB); larger objects need multipart.
pub const MAX_SINGLE_PUT_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// Largest DeleteObjects document we read: 1000 keys of 1024 bytes, escaped, plus markup.
pub const MAX_DELETE_DOCUMENT_BYTES: usize = 2 * 1024 * 1024;

pub use crate::util::clock::now_ms;

pub fn internal(e: impl std::fmt::Display) -> S3Error {
    S3Error::internal(format!("catalog: {e}"))
}

pub async fn handle_put_object(
    ctx: &RequestCtx<'_>,
    body: &mut BodyReader<'_>,
) -> S3Result<Response> {
    let bucket = ctx.bucket()?;
    let key = ctx.key()?;
    let size = body
        .decoded_len()
        .ok_or_else(|| S3Error::new(S3ErrorCode::MissingContentLength))?;
    if size > MAX_SINGLE_PUT_BYTES {
        return Err(S3Error::new(S3ErrorCode::EntityTooLarge));
    }
    let meta = ObjectMeta::from_headers(ctx.head)?;
    let integrity = Integrity::from_request(ctx.head, &ctx.auth);
    let app = &ctx.app;
    let _guard = app.key_locks.lock(bucket, key).await;
    let bkey = backend_key(bucket, key);
    let (reservation, writer) =
        super::write::begin_write(ctx, size, &bkey, &meta, &integrity).await?;
    let backend_name = reservation.backend().to_owned();
    let etag = super::write::stream_body(ctx, body, writer).await?;
    let summary = body.summary().copied();
    let mut record = ObjectRecord {
        size,
        etag,
        last_modified_ms: now_ms(),
        copies: vec![Copy {
            backend: backend_name,
            backend_key: bkey,
            state: CopyState::Complete,
        }],
        ..Default::default()
    };
    meta.apply_to(&mut record);
    if let Some(s) = &summary {
        record.checksum = s
            .checksum
            .as_ref()
            .map(|(alg, value)| (alg.header_name().to_owned(), value.to_b64()));
    }
    let checksum = record.checksum.clone();
    let etag = record.etag.clone();
    super::write::commit_new_object(app, bucket, key, record, reservation).await?;
    let mut r = Response::new(200);
    r.header("ETag", quote_etag(&etag));
    if let Some((name, value)) = checksum {
        r.header(name, value);
    }
    Ok(r)
}

pub fn base64_std(raw: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// `Last-Modified` form: IMF-fixdate.
pub fn http_date(unix_ms: i64) -> String {
    let mut buf = [0u8; crate::http::date::IMF_FIXDATE_LEN];
    crate::http::format_imf_fixdate(unix_ms.max(0) as u64 / 1000, &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Evaluates If-Match / If-None-Match / If-(Un)Modified-Since against the record (RFC 9110
/// order, as S3 does). Returns `Err(PreconditionFailed)` or `Err(NotModified)`.
pub fn check_conditions(ctx: &RequestCtx<'_>, rec: &ObjectRecord) -> S3Result<()> {
    let head = ctx.head;
    let etag_matches = |list: &str| {
        list.split(',')
            .map(|t| unquote_etag(t.trim()))
            .any(|t| t == "*" || t == rec.etag)
    };
    let modified_secs = rec.last_modified_ms.div_euclid(1000);
    let date = |name: &str| {
        head.header(name)
            .and_then(crate::http::parse_http_date)
            .map(|s| s as i64)
    };
    let if_match = head.header_str("if-match");
    if let Some(m) = if_match {
        if !etag_matches(m) {
            return Err(S3Error::new(S3ErrorCode::PreconditionFailed));
        }
    } else if let Some(since) = date("if-unmodified-since") {
        if modified_secs > since {
            return Err(S3Error::new(S3ErrorCode::PreconditionFailed));
        }
    }
    if let Some(m) = head.header_str("if-none-match") {
        if etag_matches(m) {
            return Err(S3Error::new(S3ErrorCode::NotModified));
        }
    } else if let Some(since) = date("if-modified-since") {
        if modified_secs <= since {
            return Err(S3Error::new(S3ErrorCode::NotModified));
        }
    }
    Ok(())
}

/// Headers every GET/HEAD of the object carries.
fn object_headers(ctx: &RequestCtx<'_>, rec: &ObjectRecord, r: &mut Response) {
    let q = |name: &str| ctx.route.query_param(name).map(str::to_owned);
    let ct: std::borrow::Cow<'static, str> =
        match q("response-content-type").or_else(|| rec.content_type.clone()) {
            Some(t) => t.into(),
            None => "binary/octet-stream".into(),
        };
    r.header("Content-Type", ct);
    r.header("ETag", quote_etag(&rec.etag));
    r.header("Last-Modified", http_date(rec.last_modified_ms));
    r.header("Accept-Ranges", "bytes");
    let pairs = [
        (
            "Cache-Control",
            "response-cache-control",
            &rec.cache_control,
        ),
        (
            "Content-Disposition",
            "response-content-disposition",
            &rec.content_disposition,
        ),
        (
            "Content-Encoding",
            "response-content-encoding",
            &rec.content_encoding,
        ),
        (
            "Content-Language",
            "response-content-language",
            &rec.content_language,
        ),
        ("Expires", "response-expires", &rec.expires),
    ];
    for (name, over, stored) in pairs {
        if let Some(v) = q(over).or_else(|| stored.clone()) {
            r.header(name, v);
        }
    }
    for (k, v) in &rec.user_metadata {
        r.header(format!("x-amz-meta-{k}"), v.clone());
    }
    if let Some(n) = rec.parts_count {
        if ctx.route.has_query("partNumber") {
            r.header("x-amz-mp-parts-count", n.to_string());
        }
    }
}

/// Buckets are unversioned: the only version id is `null` (each object's single version). Any
/// other id names no version, so acting on the object for it would read or delete the wrong thing.
fn check_version_id(version: Option<&str>) -> S3Result<()> {
    match version {
        Some(v) if v != "null" => Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "Invalid version id specified",
        )),
        _ => Ok(()),
    }
}

fn lookup(ctx: &RequestCtx<'_>) -> S3Result<ObjectRecord> {
    let app = &ctx.app;
    check_version_id(ctx.route.query_param("versionId"))?;
    app.catalog
        .get_object(ctx.bucket()?, ctx.key()?)
        .map_err(internal)?
        .ok_or_else(|| S3Error::new(S3ErrorCode::NoSuchKey))
}

fn not_modified(rec: &ObjectRecord) -> Response {
    let mut r = Response::new(304);
    r.header("ETag", quote_etag(&rec.etag));
    r.header("Last-Modified", http_date(rec.last_modified_ms));
    r
}

pub fn handle_head_object(ctx: &RequestCtx<'_>) -> S3Result<Response> {
    let rec = lookup(ctx)?;
    match check_conditions(ctx, &rec) {
        Err(e) if e.code == S3ErrorCode::NotModified => return Ok(not_modified(&rec)),
        Err(e) => return Err(e),
        Ok(()) => {}
    }
    let range = parse_range(ctx.head.header_str("range"), rec.size)?;
    let mut r = Response::new(if range.is_some() { 206 } else { 200 });
    object_headers(ctx, &rec, &mut r);
    checksum_header(ctx, &rec, range.is_some(), &mut r);
    let len = match range {
        Some(br) => {
            r.header(
                "Content-Range",
                format!("bytes {}-{}/{}", br.start, br.end, rec.size),
            );
            br.end - br.start + 1
        }
        None => rec.size,
    };
    r.body = ResponseBody::HeadOnly(len);
    Ok(r)
}

fn checksum_header(ctx: &RequestCtx<'_>, rec: &ObjectRecord, ranged: bool, r: &mut Response) {
    let enabled = ctx
        .head
        .header_str("x-amz-checksum-mode")
        .is_some_and(|m| m.eq_ignore_ascii_case("ENABLED"));
    if enabled && !ranged {
        if let Some((name, value)) = &rec.checksum {
            r.header(name.clone(), value.clone());
        }
    }
}

pub async fn handle_get_object(ctx: &RequestCtx<'_>) -> S3Result<Response> {
    let rec = lookup(ctx)?;
    match check_conditions(ctx, &rec) {
        Err(e) if e.code == S3ErrorCode::NotModified => return Ok(not_modified(&rec)),
        Err(e) => return Err(e),
        Ok(()) => {}
    }
    let range = match parse_range(ctx.head.header_str("range"), rec.size) {
        Err(e) => {
            let mut r = super::error_response(&e, &ctx.resource(), ctx.request_id);
            r.header("Content-Range", format!("bytes */{}", rec.size));
            return Ok(r);
        }
        Ok(r) => r,
    };
    let stream = super::read::open_object(ctx, &rec, range).await?;
    let mut r = Response::new(if range.is_some() { 206 } else { 200 });
    object_headers(ctx, &rec, &mut r);
    checksum_header(ctx, &rec, range.is_some(), &mut r);
    let len = match range {
        Some(br) => {
            r.header(
                "Content-Range",
                format!("bytes {}-{}/{}", br.start, br.end, rec.size),
            );
            br.end - br.start + 1
        }
        None => rec.size,
    };
    r.body = ResponseBody::Stream(stream, len);
    Ok(r)
}

pub async fn handle_delete_object(ctx: &RequestCtx<'_>) -> S3Result<Response> {
    let (bucket, key) = (ctx.bucket()?, ctx.key()?);
    check_version_id(ctx.route.query_param("versionId"))?;
    super::write::delete_object(ctx.app, bucket, key).await?;
    Ok(Response::new(204))
}

fn parse_delete_document(doc: &[u8]) -> S3Result<(Vec<crate::s3::xml::ObjectToDelete>, bool)> {
    let request = crate::s3::xml::parse_delete_request(doc)?;
    Ok((request.objects, request.quiet))
}

pub async fn handle_delete_objects(
    ctx: &RequestCtx<'_>,
    body: &mut BodyReader<'_>,
) -> S3Result<Response> {
    let bucket = ctx.bucket()?;
    // S3 requires an integrity check on this request (Content-MD5 or a checksum).
    let doc = body.read_to_vec(MAX_DELETE_DOCUMENT_BYTES).await?;
    let (entries, quiet) = parse_delete_document(&doc)?;
    let mut w = XmlWriter::new();
    w.root("DeleteResult");
    for e in entries {
        let outcome = match check_version_id(e.version_id.as_deref()) {
            Ok(()) => super::write::delete_object(ctx.app, bucket, &e.key).await,
            Err(err) => Err(err),
        };
        match outcome {
            Ok(()) => {
                if !quiet {
                    w.open("Deleted");
                    w.elem("Key", &e.key);
                    if let Some(v) = &e.version_id {
                        w.elem("VersionId", v);
                    }
                    w.close("Deleted");
                }
            }
            Err(err) => {
                w.open("Error");
                w.elem("Key", &e.key);
                w.elem("Code", err.code.as_str());
                w.elem("Message", &err.message);
                w.close("Error");
            }
        }
    }
    w.close("DeleteResult");
    Ok(Response::xml(200, w.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_document_keys_survive_xml() {
        let doc = br#"<Delete><Quiet>true</Quiet><Object><Key>a&amp;b&#x1;</Key></Object><Object><Key><![CDATA[c<d]]></Key></Object></Delete>"#;
        let (entries, quiet) = parse_delete_document(doc).expect("parses");
        let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["a&b\u{1}", "c<d"]);
        assert!(quiet);
        let doc = "<Delete><Object><Key>a\u{2028}b\u{85}c&#xD;d</Key></Object></Delete>";
        let (entries, _) = parse_delete_document(doc.as_bytes()).expect("parses");
        assert_eq!(entries[0].key, "a\u{2028}b\u{85}c\rd");
    }

    #[test]
    fn delete_document() {
        let doc = br#"<?xml version="1.0" encoding="UTF-8"?>
<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>
<Object><Key>a&amp;b</Key></Object><Object><Key>sp ace/x&#x1;</Key><VersionId>null</VersionId></Object></Delete>"#;
        let (entries, quiet) = parse_delete_document(doc).expect("parses");
        assert!(quiet);
        let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, vec!["a&b", "sp ace/x\u{1}"]);
        let versions: Vec<Option<&str>> = entries.iter().map(|e| e.version_id.as_deref()).collect();
        assert_eq!(versions, vec![None, Some("null")]);
        // VersionId before Key, and one object's VersionId does not leak into the next.
        let doc = b"<Delete><Object><VersionId>v1</VersionId><Key>a</Key></Object><Object><Key>b</Key></Object><Object><Key>c</Key><VersionId>v3</VersionId></Object></Delete>";
        let (entries, _) = parse_delete_document(doc).expect("parses");
        let got: Vec<(&str, Option<&str>)> = entries
            .iter()
            .map(|e| (e.key.as_str(), e.version_id.as_deref()))
            .collect();
        assert_eq!(got, vec![("a", Some("v1")), ("b", None), ("c", Some("v3"))]);
        assert!(parse_delete_document(b"<Delete><Object><Key>x</Object>").is_err());
        let many = format!(
            "<Delete>{}</Delete>",
            "<Object><Key>k</Key></Object>".repeat(1001)
        );
        assert!(parse_delete_document(many.as_bytes()).is_err());
    }
}
