//! GetObject and HeadObject: conditions, ranges, object headers, and the read from a healthy copy.

use super::{catalog_error, check_version_id};
use super::{RequestCtx, Response, ResponseBody};
use crate::catalog::ObjectRecord;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::etag::{quote_etag, unquote_etag};
use crate::s3::range::{parse_range, ByteRange};

/// `Last-Modified` form: IMF-fixdate.
pub fn http_date(unix_ms: i64) -> String {
    let mut buf = [0u8; crate::http::date::IMF_FIXDATE_LEN];
    crate::http::format_imf_fixdate(unix_ms.max(0) as u64 / 1000, &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// The names of the four conditional headers: plain (GET/HEAD) or of a copy's source.
pub(super) struct ConditionHeaders {
    pub if_match: &'static str,
    pub if_unmodified_since: &'static str,
    pub if_none_match: &'static str,
    pub if_modified_since: &'static str,
}

const OBJECT_CONDITIONS: ConditionHeaders = ConditionHeaders {
    if_match: "if-match",
    if_unmodified_since: "if-unmodified-since",
    if_none_match: "if-none-match",
    if_modified_since: "if-modified-since",
};

/// Evaluates If-Match / If-None-Match / If-(Un)Modified-Since against the record (RFC 9110
/// order, as S3 does). Returns `Err(PreconditionFailed)` or `Err(NotModified)`.
pub fn check_conditions(ctx: &RequestCtx<'_>, rec: &ObjectRecord) -> S3Result<()> {
    evaluate_conditions(ctx, rec, &OBJECT_CONDITIONS, S3ErrorCode::NotModified)
}

/// The conditions named by `names` against the record, in RFC 9110 order: a failed match or
/// unmodified-since is `PreconditionFailed`, a failed none-match or modified-since is
/// `none_match_failed`.
pub(super) fn evaluate_conditions(
    ctx: &RequestCtx<'_>,
    rec: &ObjectRecord,
    names: &ConditionHeaders,
    none_match_failed: S3ErrorCode,
) -> S3Result<()> {
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
    if let Some(m) = head.header_str(names.if_match) {
        if !etag_matches(m) {
            return Err(S3Error::new(S3ErrorCode::PreconditionFailed));
        }
    } else if let Some(since) = date(names.if_unmodified_since) {
        if modified_secs > since {
            return Err(S3Error::new(S3ErrorCode::PreconditionFailed));
        }
    }
    if let Some(m) = head.header_str(names.if_none_match) {
        if etag_matches(m) {
            return Err(S3Error::new(none_match_failed));
        }
    } else if let Some(since) = date(names.if_modified_since) {
        if modified_secs <= since {
            return Err(S3Error::new(none_match_failed));
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

fn lookup(ctx: &RequestCtx<'_>) -> S3Result<ObjectRecord> {
    let app = &ctx.app;
    check_version_id(ctx.route.query_param("versionId"))?;
    app.catalog
        .get_object(ctx.bucket()?, ctx.key()?)
        .map_err(catalog_error)?
        .ok_or_else(|| S3Error::new(S3ErrorCode::NoSuchKey))
}

fn not_modified(rec: &ObjectRecord) -> Response {
    let mut r = Response::new(304);
    r.header("ETag", quote_etag(&rec.etag));
    r.header("Last-Modified", http_date(rec.last_modified_ms));
    r
}

/// A conditional request the conditions already answer: `304 Not Modified` as `Ok(Some)`, a
/// failed precondition as `Err`; `Ok(None)` when the request proceeds.
fn decided_by_conditions(ctx: &RequestCtx<'_>, rec: &ObjectRecord) -> S3Result<Option<Response>> {
    match check_conditions(ctx, rec) {
        Err(e) if e.code == S3ErrorCode::NotModified => Ok(Some(not_modified(rec))),
        Err(e) => Err(e),
        Ok(()) => Ok(None),
    }
}

/// The head of a GetObject/HeadObject answer (`200`, or `206` with `Content-Range` for a
/// range) and the length of its body.
fn object_response(
    ctx: &RequestCtx<'_>,
    rec: &ObjectRecord,
    range: Option<ByteRange>,
) -> (Response, u64) {
    let mut r = Response::new(if range.is_some() { 206 } else { 200 });
    object_headers(ctx, rec, &mut r);
    checksum_header(ctx, rec, range.is_some(), &mut r);
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
    (r, len)
}

pub fn handle_head_object(ctx: &RequestCtx<'_>) -> S3Result<Response> {
    let rec = lookup(ctx)?;
    if let Some(r) = decided_by_conditions(ctx, &rec)? {
        return Ok(r);
    }
    let range = parse_range(ctx.head.header_str("range"), rec.size)?;
    let (mut r, len) = object_response(ctx, &rec, range);
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
    if let Some(r) = decided_by_conditions(ctx, &rec)? {
        return Ok(r);
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
    let (mut r, len) = object_response(ctx, &rec, range);
    r.body = ResponseBody::Stream(stream, len);
    Ok(r)
}
