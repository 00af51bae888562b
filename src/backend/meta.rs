//! Object metadata: taken from request headers on write, given back as response headers on read.

use crate::catalog::ObjectRecord;
use crate::http::RequestHead;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};

/// S3's limit on user-defined metadata (`x-amz-meta-*` names and values together).
pub const MAX_USER_METADATA_BYTES: usize = 2 * 1024;

/// Standard headers S3 stores with an object and returns on GET/HEAD.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectMeta {
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    pub content_disposition: Option<String>,
    pub content_encoding: Option<String>,
    pub content_language: Option<String>,
    pub expires: Option<String>,
    pub user_metadata: Vec<(String, String)>,
}

fn text(head: &RequestHead, name: &str) -> S3Result<Option<String>> {
    match head.header(name) {
        None => Ok(None),
        Some(v) => std::str::from_utf8(v)
            .map(|s| Some(s.trim().to_owned()))
            .map_err(|_| {
                S3Error::with_message(
                    S3ErrorCode::InvalidArgument,
                    format!("header {name} is not valid UTF-8"),
                )
            }),
    }
}

/// The `Content-Encoding` S3 stores for a request's value: the value exactly as sent (its
/// spacing and order kept, `deflate, gzip` stays `deflate, gzip`), minus any `aws-chunked`
/// token, which is transport framing rather than a property of the object; `None` when nothing
/// else is left.
fn stored_content_encoding(sent: &str) -> Option<String> {
    let is_framing = |item: &str| item.trim().eq_ignore_ascii_case("aws-chunked");
    let kept = if sent.split(',').any(is_framing) {
        let rest: Vec<&str> = sent
            .split(',')
            .filter(|item| !is_framing(item) && !item.trim().is_empty())
            .collect();
        rest.join(",").trim().to_owned()
    } else {
        sent.trim().to_owned()
    };
    Some(kept).filter(|k| !k.is_empty())
}

impl ObjectMeta {
    pub fn from_headers(head: &RequestHead) -> S3Result<ObjectMeta> {
        let mut m = ObjectMeta {
            content_type: text(head, "content-type")?,
            cache_control: text(head, "cache-control")?,
            content_disposition: text(head, "content-disposition")?,
            content_encoding: None,
            content_language: text(head, "content-language")?,
            expires: text(head, "expires")?,
            user_metadata: Vec::new(),
        };
        if let Some(ce) = text(head, "content-encoding")? {
            m.content_encoding = stored_content_encoding(&ce);
        }
        let mut total = 0usize;
        for (name, value) in head.headers() {
            if name.len() > 11 && name[..11].eq_ignore_ascii_case("x-amz-meta-") {
                let key = name[11..].to_ascii_lowercase();
                let value = std::str::from_utf8(value)
                    .map_err(|_| {
                        S3Error::with_message(
                            S3ErrorCode::InvalidArgument,
                            "metadata value is not valid UTF-8",
                        )
                    })?
                    .trim()
                    .to_owned();
                total += key.len() + value.len();
                if total > MAX_USER_METADATA_BYTES {
                    return Err(S3Error::new(S3ErrorCode::MetadataTooLarge));
                }
                // Repeated names are joined as S3 does.
                if let Some(existing) = m.user_metadata.iter_mut().find(|(k, _)| *k == key) {
                    existing.1.push(',');
                    existing.1.push_str(&value);
                } else {
                    m.user_metadata.push((key, value));
                }
            }
        }
        m.user_metadata.sort();
        Ok(m)
    }

    pub fn from_record(r: &ObjectRecord) -> ObjectMeta {
        ObjectMeta {
            content_type: r.content_type.clone(),
            cache_control: r.cache_control.clone(),
            content_disposition: r.content_disposition.clone(),
            content_encoding: r.content_encoding.clone(),
            content_language: r.content_language.clone(),
            expires: r.expires.clone(),
            user_metadata: r.user_metadata.clone(),
        }
    }

    pub fn apply_to(&self, r: &mut ObjectRecord) {
        r.content_type = self.content_type.clone();
        r.cache_control = self.cache_control.clone();
        r.content_disposition = self.content_disposition.clone();
        r.content_encoding = self.content_encoding.clone();
        r.content_language = self.content_language.clone();
        r.expires = self.expires.clone();
        r.user_metadata = self.user_metadata.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::stored_content_encoding as stored;

    #[test]
    fn content_encoding_is_kept_as_sent_minus_aws_chunked() {
        assert_eq!(stored("deflate, gzip").as_deref(), Some("deflate, gzip"));
        assert_eq!(stored("gzip").as_deref(), Some("gzip"));
        assert_eq!(stored("aws-chunked, gzip").as_deref(), Some("gzip"));
        assert_eq!(stored("gzip,aws-chunked").as_deref(), Some("gzip"));
        assert_eq!(
            stored("deflate, AWS-CHUNKED, gzip").as_deref(),
            Some("deflate, gzip")
        );
        assert_eq!(stored("aws-chunked"), None);
        assert_eq!(stored(" "), None);
    }
}
