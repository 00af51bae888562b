//! ETags: quoted on the wire, stored unquoted in the catalog.

/// S3 ETags are quoted on the wire and stored unquoted here.
pub fn quote_etag(etag: &str) -> String {
    format!("\"{etag}\"")
}

pub fn unquote_etag(etag: &str) -> &str {
    let t = etag.trim();
    let t = t.strip_prefix("W/").unwrap_or(t);
    t.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(t)
}
