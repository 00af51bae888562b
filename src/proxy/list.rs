//! ListObjectsV2, ListObjects (V1) and ListObjectVersions, answered from the catalog alone: a
//! listing never fans out to backends.

use super::catalog_error;
use super::owner::write_owner;
use super::{RequestCtx, Response};
use crate::catalog::{ListPage, ListQuery, MAX_LIST_KEYS};
use crate::s3::auth::uri_encode;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::etag::quote_etag;
use crate::s3::xml::{iso8601_ms, XmlWriter};
use base64::Engine;

/// Continuation tokens are the last key returned, base64url so they are opaque and URL-safe.
fn encode_token(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.as_bytes())
}

fn decode_token(token: &str) -> S3Result<String> {
    let bad = || {
        S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "The continuation token provided is incorrect",
        )
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.as_bytes())
        .map_err(|_| bad())?;
    String::from_utf8(raw).map_err(|_| bad())
}

fn max_keys(ctx: &RequestCtx<'_>, name: &str) -> S3Result<usize> {
    match ctx.route.query_param(name) {
        None => Ok(MAX_LIST_KEYS),
        Some(v) => v
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(|n| (n as usize).min(MAX_LIST_KEYS))
            .ok_or_else(|| {
                S3Error::with_message(
                    S3ErrorCode::InvalidArgument,
                    format!("Provided {name} not an integer or within integer range"),
                )
            }),
    }
}

struct Enc {
    url: bool,
}

impl Enc {
    fn apply(&self, s: &str) -> String {
        if self.url {
            uri_encode(s, true)
        } else {
            s.to_owned()
        }
    }
}

fn encoding(ctx: &RequestCtx<'_>) -> S3Result<Enc> {
    match ctx.route.query_param("encoding-type") {
        None => Ok(Enc { url: false }),
        Some(v) if v.eq_ignore_ascii_case("url") => Ok(Enc { url: true }),
        Some(_) => Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "Invalid Encoding Method specified in Request",
        )),
    }
}

/// One page of `bucket` after `start_after` (exclusive), with the request's prefix and delimiter.
fn list_page(
    ctx: &RequestCtx<'_>,
    bucket: &str,
    start_after: Option<&str>,
    max: usize,
) -> S3Result<(ListQuery, ListPage)> {
    let q = ListQuery {
        prefix: ctx.route.query_param("prefix").unwrap_or("").to_owned(),
        delimiter: ctx
            .route
            .query_param("delimiter")
            .filter(|d| !d.is_empty())
            .map(str::to_owned),
        start_after: start_after.map(str::to_owned),
        max_keys: max,
    };
    let page = ctx
        .app
        .catalog
        .list_objects(bucket, &q)
        .map_err(catalog_error)?;
    Ok((q, page))
}

/// `IsTruncated`; returns the key the next page starts after when the page is truncated.
fn write_is_truncated<'p>(w: &mut XmlWriter, page: &'p ListPage) -> Option<&'p str> {
    w.elem(
        "IsTruncated",
        if page.is_truncated { "true" } else { "false" },
    );
    page.next_start_after
        .as_deref()
        .filter(|_| page.is_truncated)
}

/// One `Contents` (or, with `version`, `Version`) element per entry, then the common prefixes.
fn write_entries(w: &mut XmlWriter, page: &ListPage, enc: &Enc, owner: bool, version: bool) {
    let elem = if version { "Version" } else { "Contents" };
    for (key, s) in &page.entries {
        w.open(elem);
        w.elem("Key", &enc.apply(key));
        if version {
            w.elem("VersionId", "null");
            w.elem("IsLatest", "true");
        }
        w.elem("LastModified", &iso8601_ms(s.last_modified_ms));
        w.elem("ETag", &quote_etag(&s.etag));
        w.elem_display("Size", s.size);
        if owner {
            write_owner(w, "Owner");
        }
        w.elem("StorageClass", "STANDARD");
        w.close(elem);
    }
    for p in &page.common_prefixes {
        w.open("CommonPrefixes");
        w.elem("Prefix", &enc.apply(p));
        w.close("CommonPrefixes");
    }
}

/// The elements every listing starts with. `prefix_enc` is how the top-level `Prefix` is
/// written: ListObjectsV2 encodes it with the keys, ListObjects (V1) gives it back as sent (S3
/// does, and SDKs decode it in V2 answers only).
fn write_common_head(
    w: &mut XmlWriter,
    bucket: &str,
    q: &ListQuery,
    max: usize,
    enc: &Enc,
    prefix_enc: &Enc,
) {
    w.elem("Name", bucket);
    w.elem("Prefix", &prefix_enc.apply(&q.prefix));
    if let Some(d) = &q.delimiter {
        w.elem("Delimiter", &enc.apply(d));
    }
    w.elem_display("MaxKeys", max);
    if enc.url {
        w.elem("EncodingType", "url");
    }
}

pub fn handle_list_objects_v2(ctx: &RequestCtx<'_>) -> S3Result<Response> {
    let bucket = ctx.bucket()?;
    let enc = encoding(ctx)?;
    let max = max_keys(ctx, "max-keys")?;
    let token = ctx.route.query_param("continuation-token");
    let start_after_param = ctx
        .route
        .query_param("start-after")
        .filter(|s| !s.is_empty());
    let start = match token {
        Some(t) => Some(decode_token(t)?),
        None => start_after_param.map(str::to_owned),
    };
    let (q, page) = list_page(ctx, bucket, start.as_deref(), max)?;
    let fetch_owner = ctx
        .route
        .query_param("fetch-owner")
        .is_some_and(|v| v == "true");
    let mut w = XmlWriter::new();
    w.root("ListBucketResult");
    write_common_head(&mut w, bucket, &q, max, &enc, &enc);
    w.elem_display("KeyCount", page.entries.len() + page.common_prefixes.len());
    let next = write_is_truncated(&mut w, &page);
    if let Some(t) = token {
        w.elem("ContinuationToken", t);
    }
    if let Some(next) = next {
        w.elem("NextContinuationToken", &encode_token(next));
    }
    if let Some(s) = start_after_param {
        w.elem("StartAfter", &enc.apply(s));
    }
    write_entries(&mut w, &page, &enc, fetch_owner, false);
    w.close("ListBucketResult");
    Ok(Response::xml(200, w.finish()))
}

pub fn handle_list_objects(ctx: &RequestCtx<'_>) -> S3Result<Response> {
    let bucket = ctx.bucket()?;
    let enc = encoding(ctx)?;
    let max = max_keys(ctx, "max-keys")?;
    let marker = ctx.route.query_param("marker").filter(|s| !s.is_empty());
    let (q, page) = list_page(ctx, bucket, marker, max)?;
    let mut w = XmlWriter::new();
    w.root("ListBucketResult");
    write_common_head(&mut w, bucket, &q, max, &enc, &Enc { url: false });
    w.elem("Marker", &enc.apply(marker.unwrap_or("")));
    let next = write_is_truncated(&mut w, &page);
    // S3 gives NextMarker only with a delimiter; clients use the last key otherwise, and giving
    // it always is harmless and saves them the work.
    if let Some(next) = next {
        w.elem("NextMarker", &enc.apply(next));
    }
    write_entries(&mut w, &page, &enc, true, false);
    w.close("ListBucketResult");
    Ok(Response::xml(200, w.finish()))
}

/// An unversioned bucket lists each object as its single `null` version.
pub fn handle_list_object_versions(ctx: &RequestCtx<'_>) -> S3Result<Response> {
    let bucket = ctx.bucket()?;
    let enc = encoding(ctx)?;
    let max = max_keys(ctx, "max-keys")?;
    let key_marker = ctx
        .route
        .query_param("key-marker")
        .filter(|s| !s.is_empty());
    let (q, page) = list_page(ctx, bucket, key_marker, max)?;
    let mut w = XmlWriter::new();
    w.root("ListVersionsResult");
    w.elem("Name", bucket);
    w.elem("Prefix", &enc.apply(&q.prefix));
    w.elem("KeyMarker", &enc.apply(key_marker.unwrap_or("")));
    w.elem("VersionIdMarker", "");
    if let Some(d) = &q.delimiter {
        w.elem("Delimiter", &enc.apply(d));
    }
    w.elem_display("MaxKeys", max);
    if enc.url {
        w.elem("EncodingType", "url");
    }
    let next = write_is_truncated(&mut w, &page);
    if let Some(next) = next {
        w.elem("NextKeyMarker", &enc.apply(next));
        w.elem("NextVersionIdMarker", "null");
    }
    write_entries(&mut w, &page, &enc, true, true);
    w.close("ListVersionsResult");
    Ok(Response::xml(200, w.finish()))
}

/// Largest ListBuckets page, and the page size when `max-buckets` is not given: S3's own ceiling
/// for `max-buckets` and the page it applies by default.
pub const MAX_BUCKETS_PAGE: usize = 10_000;

/// One ListBuckets page: the buckets, and the continuation token of the next page when more follow.
pub struct BucketPage {
    pub buckets: Vec<(String, i64)>,
    pub next_token: Option<String>,
}

/// ListBuckets' `max-buckets`, `continuation-token` and `prefix` over the caller's buckets
/// (`visible`, sorted by name). The token is the last name returned, opaque as the object
/// listings' are; a page resumes after it, so buckets created or deleted meanwhile neither repeat
/// nor shift the rest.
pub fn bucket_page(ctx: &RequestCtx<'_>, visible: Vec<(String, i64)>) -> S3Result<BucketPage> {
    let max = match ctx.route.query_param("max-buckets") {
        None => MAX_BUCKETS_PAGE,
        Some(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_BUCKETS_PAGE).contains(n))
            .ok_or_else(|| {
                S3Error::with_message(
                    S3ErrorCode::InvalidArgument,
                    format!("max-buckets must be an integer between 1 and {MAX_BUCKETS_PAGE}"),
                )
            })?,
    };
    let after = match ctx.route.query_param("continuation-token") {
        Some(t) if !t.is_empty() => Some(decode_token(t)?),
        _ => None,
    };
    let prefix = ctx.route.query_param("prefix").unwrap_or("");
    Ok(page_of_buckets(visible, prefix, after.as_deref(), max))
}

fn page_of_buckets(
    visible: Vec<(String, i64)>,
    prefix: &str,
    after: Option<&str>,
    max: usize,
) -> BucketPage {
    let mut buckets: Vec<(String, i64)> = visible
        .into_iter()
        .filter(|(name, _)| name.starts_with(prefix) && after.is_none_or(|a| name.as_str() > a))
        .take(max.saturating_add(1))
        .collect();
    let next_token = if buckets.len() > max {
        buckets.truncate(max);
        buckets.last().map(|(name, _)| encode_token(name))
    } else {
        None
    };
    BucketPage {
        buckets,
        next_token,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        for k in ["", "a", "dir/with space/ü+%", "x//y"] {
            assert_eq!(decode_token(&encode_token(k)).expect("round trip"), k);
        }
        assert!(decode_token("***").is_err());
    }

    #[test]
    fn bucket_pages_resume_after_the_token_and_filter_by_prefix() {
        let all: Vec<(String, i64)> = ["a1", "a2", "a3", "b1"]
            .iter()
            .map(|n| (n.to_string(), 0))
            .collect();
        let names = |p: &BucketPage| p.buckets.iter().map(|b| b.0.clone()).collect::<Vec<_>>();
        let first = page_of_buckets(all.clone(), "a", None, 2);
        assert_eq!(names(&first), ["a1", "a2"]);
        let token = first.next_token.expect("truncated");
        let after = decode_token(&token).expect("token");
        let second = page_of_buckets(all.clone(), "a", Some(&after), 2);
        assert_eq!(names(&second), ["a3"]);
        assert!(second.next_token.is_none());
        let whole = page_of_buckets(all, "", None, MAX_BUCKETS_PAGE);
        assert_eq!(whole.buckets.len(), 4);
        assert!(whole.next_token.is_none());
    }
}
