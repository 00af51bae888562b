//! DeleteObject and DeleteObjects (unversioned buckets: the only version id is `null`).

use super::check_version_id;
use super::{RequestCtx, Response};
use crate::s3::error::S3Result;
use crate::s3::xml::XmlWriter;
use crate::server::body::BodyReader;

/// Largest DeleteObjects document we read: 1000 keys of 1024 bytes, escaped, plus markup.
pub const MAX_DELETE_DOCUMENT_BYTES: usize = 2 * 1024 * 1024;

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
    let (entries, quiet) = super::xml_body::parse_xml_body(doc, parse_delete_document).await?;
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
