//! Reading the small XML documents backends answer with (errors, upload ids, ETags, part lists).
//! Bounded in size by the caller; parsed with quick-xml.

use quick_xml::events::Event;

/// Largest backend XML answer we read into memory (error documents, ListParts pages of 1000
/// parts at ~250 bytes each).
pub const MAX_BACKEND_XML_BYTES: usize = 1024 * 1024;

/// Text of every element named `tag` (local name), in document order, with entities resolved.
pub fn all_texts(doc: &[u8], tag: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut reader = quick_xml::Reader::from_reader(doc);
    let mut buf = Vec::new();
    let mut depth_in: Option<usize> = None;
    let mut depth = 0usize;
    let mut text = String::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => {
                depth += 1;
                if depth_in.is_none() && e.local_name().as_ref() == tag.as_bytes() {
                    depth_in = Some(depth);
                    text.clear();
                }
            }
            Ok(Event::End(_)) => {
                if depth_in == Some(depth) {
                    out.push(std::mem::take(&mut text));
                    depth_in = None;
                }
                depth = depth.saturating_sub(1);
            }
            Ok(Event::Text(t)) if depth_in.is_some() => {
                if let Ok(s) = t.xml10_content() {
                    text.push_str(&s);
                }
            }
            Ok(Event::GeneralRef(r)) if depth_in.is_some() => {
                let resolved = match r.as_ref() {
                    b"amp" => "&",
                    b"lt" => "<",
                    b"gt" => ">",
                    b"quot" => "\"",
                    b"apos" => "'",
                    _ => "",
                };
                text.push_str(resolved);
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
        buf.clear();
    }
    out
}

/// Text of the first element named `tag`.
pub fn first_text(doc: &[u8], tag: &str) -> Option<String> {
    all_texts(doc, tag).into_iter().next()
}

/// Each `<Part>` of a ListParts answer: (PartNumber, ETag, Size, LastModified).
pub fn parts(doc: &[u8]) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    let mut reader = quick_xml::Reader::from_reader(doc);
    let mut buf = Vec::new();
    let mut in_part = false;
    let mut field: Option<Vec<u8>> = None;
    let mut cur = (String::new(), String::new(), String::new(), String::new());
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => {
                let name = e.local_name().as_ref().to_vec();
                if name == b"Part" {
                    in_part = true;
                    cur = Default::default();
                } else if in_part {
                    field = Some(name);
                }
            }
            Ok(Event::End(e)) => {
                if e.local_name().as_ref() == b"Part" {
                    in_part = false;
                    out.push(std::mem::take(&mut cur));
                }
                field = None;
            }
            Ok(Event::Text(t)) => {
                if let (true, Some(f)) = (in_part, field.as_deref()) {
                    let s = t
                        .xml10_content()
                        .map(|c| c.into_owned())
                        .unwrap_or_default();
                    match f {
                        b"PartNumber" => cur.0.push_str(&s),
                        b"ETag" => cur.1.push_str(&s),
                        b"Size" => cur.2.push_str(&s),
                        b"LastModified" => cur.3.push_str(&s),
                        _ => {}
                    }
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let (true, Some(b"ETag")) = (in_part, field.as_deref()) {
                    if r.as_ref() == b"quot" {
                        cur.1.push('"');
                    }
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
        buf.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_texts_and_parts() {
        let doc = br#"<?xml version="1.0"?><InitiateMultipartUploadResult><Bucket>b</Bucket><Key>a&amp;b</Key><UploadId>xyz</UploadId></InitiateMultipartUploadResult>"#;
        assert_eq!(first_text(doc, "UploadId").as_deref(), Some("xyz"));
        assert_eq!(first_text(doc, "Key").as_deref(), Some("a&b"));
        assert_eq!(first_text(doc, "Missing"), None);
        let lp = br#"<ListPartsResult><Part><PartNumber>1</PartNumber><ETag>&quot;abc&quot;</ETag><Size>5</Size><LastModified>2020-01-01T00:00:00.000Z</LastModified></Part><Part><PartNumber>2</PartNumber><ETag>"def"</ETag><Size>7</Size></Part></ListPartsResult>"#;
        let p = parts(lp);
        assert_eq!(p.len(), 2);
        assert_eq!(
            p[0],
            (
                "1".into(),
                "\"abc\"".into(),
                "5".into(),
                "2020-01-01T00:00:00.000Z".into()
            )
        );
        assert_eq!(p[1].1, "\"def\"");
        // Garbage never panics.
        assert!(all_texts(b"<<<>>&&", "a").is_empty());
    }
}
