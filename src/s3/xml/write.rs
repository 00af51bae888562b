//! Writing S3 XML responses (and the error body), with escaping in one place.
//!
//! Responses are built into a reused `String` with a tiny element writer rather than a serializer:
//! S3's documents are flat and fixed, and this keeps the hot listing path free of intermediate trees.
//! XML we receive (request bodies, backends' answers) is read by [`super::read`].

use std::fmt::Write as _;

pub const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
pub const S3_NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// Appends `s` with the five XML special characters escaped. Control characters that XML 1.0
/// cannot carry are written as character references S3 clients understand (`&#x1;`), and so is
/// `\r`: a parser normalises a literal carriage return to `\n`, so a key `a\rb` would reach the
/// client as `a\nb`.
pub fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => {
                let _ = write!(out, "&#x{:X};", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// A minimal streaming XML element writer.
pub struct XmlWriter {
    pub out: String,
}

impl Default for XmlWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl XmlWriter {
    pub fn new() -> Self {
        let mut out = String::with_capacity(512);
        out.push_str(XML_DECL);
        XmlWriter { out }
    }

    /// Opens the root element with the S3 namespace.
    pub fn root(&mut self, name: &str) {
        let _ = write!(self.out, "<{name} xmlns=\"{S3_NS}\">");
    }

    pub fn open(&mut self, name: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
    }

    pub fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// `<name>escaped text</name>`
    pub fn elem(&mut self, name: &str, text: &str) {
        self.open(name);
        escape_into(&mut self.out, text);
        self.close(name);
    }

    pub fn elem_display(&mut self, name: &str, value: impl std::fmt::Display) {
        self.open(name);
        let _ = write!(self.out, "{value}");
        self.close(name);
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// The S3 error document.
pub fn error_body(code: &str, message: &str, resource: &str, request_id: &str) -> String {
    let mut w = XmlWriter::new();
    w.open("Error");
    w.elem("Code", code);
    w.elem("Message", message);
    w.elem("Resource", resource);
    w.elem("RequestId", request_id);
    w.close("Error");
    w.finish()
}

/// ISO 8601 with milliseconds, as S3 lists `LastModified`: `2009-10-12T17:50:30.000Z`.
pub fn iso8601_ms(unix_ms: i64) -> String {
    let secs = unix_ms.div_euclid(1000);
    let ms = unix_ms.rem_euclid(1000);
    let (y, mo, d, h, mi, s) = civil_from_unix(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
}

/// Gregorian calendar from unix seconds (Howard Hinnant's days-from-civil, inverted).
pub fn civil_from_unix(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        m,
        d,
        (sod / 3600) as u32,
        ((sod % 3600) / 60) as u32,
        (sod % 60) as u32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_specials_and_controls() {
        let mut s = String::new();
        escape_into(&mut s, "a<b>&\"c'\u{1}");
        assert_eq!(s, "a&lt;b&gt;&amp;&quot;c&apos;&#x1;");
    }

    #[test]
    fn carriage_return_is_a_character_reference() {
        let mut s = String::new();
        escape_into(&mut s, "a\rb\r\nc\td\ne");
        assert_eq!(s, "a&#xD;b&#xD;\nc\td\ne");
    }

    #[test]
    fn error_document() {
        let b = error_body("NoSuchKey", "gone", "/b/<k>", "abc");
        assert!(b.starts_with(XML_DECL));
        assert!(b.contains("<Code>NoSuchKey</Code><Message>gone</Message><Resource>/b/&lt;k&gt;</Resource><RequestId>abc</RequestId>"));
    }

    #[test]
    fn timestamps() {
        assert_eq!(iso8601_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601_ms(1_255_369_830_123), "2009-10-12T17:50:30.123Z");
        assert_eq!(iso8601_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
