//! The one reader of XML the orchestrator receives: clients' request bodies and backends' answers.
//!
//! A pull reader over quick-xml that hands out two events, [`XmlEvent::Open`] and
//! [`XmlEvent::Close`] (with the element's text), and keeps the path of open elements so document
//! parsers can ask where they are ([`XmlReader::at`]). It is strict where S3 data is at stake:
//! - the five predefined entities and decimal / hexadecimal character references are resolved
//!   (`&#x0D;` is `\r`, `&#38;` is `&`, `&#x1F600;` is 😀); any other entity, a malformed
//!   reference, or a reference to a character XML cannot carry (`&#0;`, a surrogate, U+FFFE/U+FFFF)
//!   is an error, never silently dropped;
//! - text is kept exactly (no trimming: keys may start or end with spaces), CDATA included; the
//!   only change is XML 1.0's end-of-line normalisation of literal `\r\n` and `\r` to `\n`, which
//!   is why writers send a carriage return as `&#xD;`;
//! - the document must be well formed: one root element, matching end tags, no text outside the
//!   root, valid UTF-8;
//! - nesting depth and element count are bounded ([`MAX_DEPTH`], [`MAX_ELEMENTS`]).
//!
//! Namespaces: elements are matched by local name, so `<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`,
//! `<s3:Delete xmlns:s3="...">` and a document without any namespace read the same. No DTD is
//! processed (a `<!DOCTYPE>` is skipped, so its entities are unknown entities).
//!
//! The input is a complete document in memory, already bounded in bytes by the caller.

use quick_xml::events::Event;

/// Deepest element nesting accepted. S3's deepest documents are four levels deep
/// (`ListBucketResult/Contents/Owner/ID`, `.../RestoreStatus/IsRestoreInProgress`); 16 leaves
/// room for providers' extensions. Why a bound at all: every open element costs a frame here
/// (32 bytes) plus quick-xml's end-tag bookkeeping (8 bytes and its name), so a 2 MiB body of
/// `<a><a><a>...` (700 000 levels) would otherwise hold ~30 MiB before failing at the end.
pub const MAX_DEPTH: usize = 16;

/// Most elements accepted in one document. The largest documents we read are a
/// CompleteMultipartUpload of 10 000 parts with PartNumber, ETag and up to five checksums each
/// (80 001 elements) and a ListObjectsV2 page of 1000 objects at ~15 elements each. Why a bound:
/// the input is bounded in bytes, but `<a/>` is 4 bytes, so a 2 MiB body could otherwise make
/// half a million elements for the document parsers to walk and collect.
pub const MAX_ELEMENTS: usize = 100_000;

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlError {
    /// Not well-formed XML, as quick-xml reports it (unclosed or mismatched tags, bad markup).
    Syntax(String),
    /// Bytes that are not UTF-8 (in text or in a name).
    Encoding,
    /// `&name;` other than `amp`, `lt`, `gt`, `quot`, `apos`.
    UnknownEntity(String),
    /// `&#...;` that is not a number, or names a character XML cannot carry.
    InvalidCharRef(String),
    /// No root element, a second root, or text outside the root.
    NotOneRoot,
    /// Deeper than [`MAX_DEPTH`].
    TooDeep,
    /// More than [`MAX_ELEMENTS`] elements.
    TooManyElements,
    /// A document parser did not find an element it needs (its name).
    Missing(&'static str),
}

impl std::fmt::Display for XmlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            XmlError::Syntax(e) => write!(f, "malformed XML: {e}"),
            XmlError::Encoding => f.write_str("XML that is not UTF-8"),
            XmlError::UnknownEntity(n) => write!(f, "unknown XML entity `&{n};`"),
            XmlError::InvalidCharRef(n) => write!(f, "invalid XML character reference `&{n};`"),
            XmlError::NotOneRoot => f.write_str("XML without exactly one root element"),
            XmlError::TooDeep => write!(f, "XML nested deeper than {MAX_DEPTH} elements"),
            XmlError::TooManyElements => write!(f, "XML with more than {MAX_ELEMENTS} elements"),
            XmlError::Missing(name) => write!(f, "XML without a <{name}> element"),
        }
    }
}

impl std::error::Error for XmlError {}

/// What [`XmlReader::next_event`] reports, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlEvent {
    /// An element opened (`<name>` or `<name/>`); the reader's path now ends with it.
    Open,
    /// The element at the end of the path closed. Its text: everything directly inside it (not in
    /// child elements), references resolved and CDATA included, whitespace kept. The path still
    /// ends with this element until the next call.
    Close(String),
}

/// One open element.
struct Frame {
    /// Where its local name starts in [`XmlReader::names`].
    name_start: usize,
    /// Its text so far.
    text: String,
}

/// Pull reader over one complete document; see the module documentation.
pub struct XmlReader<'a> {
    inner: quick_xml::Reader<&'a [u8]>,
    /// Local names of the open elements, concatenated (frames index into it).
    names: String,
    frames: Vec<Frame>,
    elements: usize,
    /// The root element has closed: only whitespace, comments and processing instructions may
    /// follow.
    root_closed: bool,
    /// The last event was a `Close`: its frame is popped at the next call.
    pop_pending: bool,
    /// The last event was the `Open` of an empty element (`<a/>`): its `Close` comes next.
    close_pending: bool,
}

impl<'a> XmlReader<'a> {
    pub fn new(doc: &'a [u8]) -> Self {
        let mut inner = quick_xml::Reader::from_reader(doc);
        let config = inner.config_mut();
        // Text is data (keys): never trimmed. End tags must match their start tags.
        config.trim_text(false);
        config.check_end_names = true;
        XmlReader {
            inner,
            names: String::new(),
            frames: Vec::new(),
            elements: 0,
            root_closed: false,
            pop_pending: false,
            close_pending: false,
        }
    }

    /// The next event, or `None` at the end of a well-formed document.
    pub fn next_event(&mut self) -> Result<Option<XmlEvent>, XmlError> {
        if self.pop_pending {
            self.pop_pending = false;
            if let Some(frame) = self.frames.pop() {
                self.names.truncate(frame.name_start);
            }
        }
        if self.close_pending {
            self.close_pending = false;
            return Ok(Some(self.close_current()));
        }
        loop {
            let event = self
                .inner
                .read_event()
                .map_err(|e| XmlError::Syntax(e.to_string()))?;
            match event {
                Event::Start(e) => {
                    self.open(&e)?;
                    return Ok(Some(XmlEvent::Open));
                }
                Event::Empty(e) => {
                    self.open(&e)?;
                    self.close_pending = true;
                    return Ok(Some(XmlEvent::Open));
                }
                Event::End(_) => {
                    // quick-xml has checked that the name matches the open element.
                    if self.frames.is_empty() {
                        return Err(XmlError::NotOneRoot);
                    }
                    return Ok(Some(self.close_current()));
                }
                Event::Text(t) => {
                    let text = t.xml10_content().map_err(|_| XmlError::Encoding)?;
                    self.push_text(&text)?;
                }
                Event::CData(t) => {
                    let text = t.xml10_content().map_err(|_| XmlError::Encoding)?;
                    self.frame_text()?.push_str(&text);
                }
                Event::GeneralRef(r) => {
                    let c = resolve_reference(&r)?;
                    self.frame_text()?.push(c);
                }
                Event::Eof => {
                    if !self.frames.is_empty() {
                        return Err(XmlError::Syntax("unclosed element at end of input".into()));
                    }
                    if !self.root_closed {
                        return Err(XmlError::NotOneRoot);
                    }
                    return Ok(None);
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
            }
        }
    }

    /// How many elements are open (1 inside the root), including one that just closed.
    pub fn depth(&self) -> usize {
        self.frames.len()
    }

    /// Local name of the element at `depth` (1 is the root).
    pub fn name_at(&self, depth: usize) -> Option<&str> {
        let i = depth.checked_sub(1)?;
        let start = self.frames.get(i)?.name_start;
        let end = self
            .frames
            .get(i + 1)
            .map_or(self.names.len(), |f| f.name_start);
        self.names.get(start..end)
    }

    /// Local name of the current element (the one just opened or closed).
    pub fn name(&self) -> Option<&str> {
        self.name_at(self.depth())
    }

    /// Local name of the root element.
    pub fn root_name(&self) -> Option<&str> {
        self.name_at(1)
    }

    /// Whether the current element sits at `path` below the root, whatever the root is called:
    /// `at(&["Object", "Key"])` is true for `<Delete><Object><Key>`; `at(&[])` for the root.
    pub fn at(&self, path: &[&str]) -> bool {
        self.depth() == path.len() + 1
            && path
                .iter()
                .enumerate()
                .all(|(i, want)| self.name_at(i + 2) == Some(want))
    }

    fn open(&mut self, start: &quick_xml::events::BytesStart<'_>) -> Result<(), XmlError> {
        if self.root_closed {
            return Err(XmlError::NotOneRoot);
        }
        if self.frames.len() >= MAX_DEPTH {
            return Err(XmlError::TooDeep);
        }
        self.elements += 1;
        if self.elements > MAX_ELEMENTS {
            return Err(XmlError::TooManyElements);
        }
        // Attributes are not used, but must be well formed.
        for attr in start.attributes() {
            attr.map_err(|e| XmlError::Syntax(e.to_string()))?;
        }
        let name =
            std::str::from_utf8(start.local_name().into_inner()).map_err(|_| XmlError::Encoding)?;
        self.frames.push(Frame {
            name_start: self.names.len(),
            text: String::new(),
        });
        self.names.push_str(name);
        Ok(())
    }

    fn close_current(&mut self) -> XmlEvent {
        self.pop_pending = true;
        if self.frames.len() == 1 {
            self.root_closed = true;
        }
        let text = self
            .frames
            .last_mut()
            .map(|f| std::mem::take(&mut f.text))
            .unwrap_or_default();
        XmlEvent::Close(text)
    }

    /// Text of the innermost open element; outside the root there is none.
    fn frame_text(&mut self) -> Result<&mut String, XmlError> {
        self.frames
            .last_mut()
            .map(|f| &mut f.text)
            .ok_or(XmlError::NotOneRoot)
    }

    /// Character data: inside an element it is text; outside the root only whitespace may appear.
    fn push_text(&mut self, text: &str) -> Result<(), XmlError> {
        match self.frames.last_mut() {
            Some(frame) => frame.text.push_str(text),
            None if text
                .bytes()
                .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) => {}
            None => return Err(XmlError::NotOneRoot),
        }
        Ok(())
    }
}

/// Resolves the inside of `&...;`: a predefined entity or a character reference.
fn resolve_reference(name: &[u8]) -> Result<char, XmlError> {
    let lossy = || String::from_utf8_lossy(name).into_owned();
    match name {
        b"amp" => Ok('&'),
        b"lt" => Ok('<'),
        b"gt" => Ok('>'),
        b"quot" => Ok('"'),
        b"apos" => Ok('\''),
        [b'#', b'x', hex @ ..] => {
            char_reference(hex, 16).ok_or_else(|| XmlError::InvalidCharRef(lossy()))
        }
        [b'#', decimal @ ..] => {
            char_reference(decimal, 10).ok_or_else(|| XmlError::InvalidCharRef(lossy()))
        }
        _ => Err(XmlError::UnknownEntity(lossy())),
    }
}

/// The character `digits` (in `radix`, at least one digit, no sign) name, if XML can carry it.
///
/// Accepted: every Unicode scalar value but NUL, U+FFFE and U+FFFF, i.e. XML 1.1's `Char` range.
/// XML 1.0 also forbids references to control characters, but S3 keys may contain them and S3
/// (and our own [`super::write::escape_into`]) writes them as `&#x1;`, so they must read back.
fn char_reference(digits: &[u8], radix: u32) -> Option<char> {
    if digits.is_empty() {
        return None;
    }
    let mut value: u32 = 0;
    for &d in digits {
        let digit = char::from(d).to_digit(radix)?;
        value = value.checked_mul(radix)?.checked_add(digit)?;
    }
    match value {
        0 | 0xFFFE | 0xFFFF => None,
        // `from_u32` refuses surrogates and values past U+10FFFF.
        v => char::from_u32(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (path below the root, text) of every element, in closing order.
    fn elements(doc: &str) -> Result<Vec<(String, String)>, XmlError> {
        let mut r = XmlReader::new(doc.as_bytes());
        let mut out = Vec::new();
        while let Some(ev) = r.next_event()? {
            if let XmlEvent::Close(text) = ev {
                let path: Vec<&str> = (2..=r.depth()).filter_map(|d| r.name_at(d)).collect();
                out.push((path.join("/"), text));
            }
        }
        Ok(out)
    }

    /// Text of the single element below the root, in `<r><k>BODY</k></r>`.
    fn text_of(body: &str) -> Result<String, XmlError> {
        let all = elements(&format!("<r><k>{body}</k></r>"))?;
        Ok(all
            .into_iter()
            .find(|(p, _)| p == "k")
            .map(|(_, t)| t)
            .unwrap_or_default())
    }

    #[test]
    fn predefined_entities() {
        assert_eq!(
            text_of("&amp;&lt;&gt;&quot;&apos;").as_deref(),
            Ok("&<>\"'")
        );
        assert_eq!(text_of("a&amp;b").as_deref(), Ok("a&b"));
    }

    #[test]
    fn character_references() {
        assert_eq!(text_of("a&#x0D;b").as_deref(), Ok("a\rb"));
        assert_eq!(text_of("a&#xD;b").as_deref(), Ok("a\rb"));
        assert_eq!(text_of("x&#38;y").as_deref(), Ok("x&y"));
        assert_eq!(text_of("&#x1F600;").as_deref(), Ok("\u{1F600}"));
        assert_eq!(text_of("&#128512;").as_deref(), Ok("\u{1F600}"));
        assert_eq!(text_of("&#x1f600;").as_deref(), Ok("\u{1F600}"));
        assert_eq!(text_of("&#x1;&#9;&#10;").as_deref(), Ok("\u{1}\t\n"));
        assert_eq!(text_of("&#x0000041;&#00065;").as_deref(), Ok("AA"));
        assert_eq!(
            text_of("&#xE000;&#xFFFD;&#x10FFFF;").as_deref(),
            Ok("\u{E000}\u{FFFD}\u{10FFFF}")
        );
        // A reference is data: `&#60;` is a '<' character, not markup.
        assert_eq!(text_of("&#60;k&#62;").as_deref(), Ok("<k>"));
    }

    #[test]
    fn invalid_references_are_errors() {
        for bad in [
            "&#0;",
            "&#x0;",
            "&#xD800;",
            "&#xDFFF;",
            "&#xFFFE;",
            "&#xFFFF;",
            "&#x110000;",
            "&#99999999999;",
            "&#xFFFFFFFFF;",
            "&#;",
            "&#x;",
            "&#X41;",
            "&#-1;",
            "&#+65;",
            "&#x+41;",
            "&#12a;",
            "&#xg;",
            "&# 65;",
        ] {
            assert!(
                matches!(text_of(bad), Err(XmlError::InvalidCharRef(_))),
                "{bad}: {:?}",
                text_of(bad)
            );
        }
        for bad in ["&nbsp;", "&AMP;", "&foo;", "&amp ;"] {
            assert!(
                matches!(text_of(bad), Err(XmlError::UnknownEntity(_))),
                "{bad}: {:?}",
                text_of(bad)
            );
        }
        // An unterminated reference is a syntax error.
        assert!(matches!(text_of("a & b"), Err(XmlError::Syntax(_))));
        assert!(matches!(text_of("a&amp"), Err(XmlError::Syntax(_))));
    }

    #[test]
    fn cdata() {
        assert_eq!(text_of("<![CDATA[a<b>&amp;]]>").as_deref(), Ok("a<b>&amp;"));
        assert_eq!(text_of("x<![CDATA[ y ]]>&amp;z").as_deref(), Ok("x y &z"));
        assert_eq!(text_of("<![CDATA[]]>").as_deref(), Ok(""));
        // CDATA outside the root is not allowed.
        assert_eq!(elements("<r/><![CDATA[x]]>"), Err(XmlError::NotOneRoot));
    }

    #[test]
    fn whitespace_is_kept() {
        assert_eq!(text_of("  a b  ").as_deref(), Ok("  a b  "));
        assert_eq!(text_of(" ").as_deref(), Ok(" "));
        assert_eq!(text_of("\ta\n").as_deref(), Ok("\ta\n"));
        assert_eq!(text_of("").as_deref(), Ok(""));
        assert_eq!(text_of(" &amp; ").as_deref(), Ok(" & "));
        // XML 1.0 end-of-line handling: literal CR LF and CR read as LF; `&#xD;` is a CR.
        assert_eq!(
            text_of("a\r\nb\rc&#xD;&#xA;d").as_deref(),
            Ok("a\nb\nc\r\nd")
        );
        // Unicode line separators and NEL are ordinary characters in XML 1.0.
        assert_eq!(
            text_of("a\u{2028}b\u{85}c").as_deref(),
            Ok("a\u{2028}b\u{85}c")
        );
    }

    #[test]
    fn events_paths_and_texts() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c --><r a=\"1\"><x>1<y/>2</x><?pi x?><z></z></r>\n";
        let mut r = XmlReader::new(doc.as_bytes());
        let mut seen = Vec::new();
        while let Some(ev) = r.next_event().expect("well formed") {
            let name = r.name().unwrap_or("?").to_owned();
            seen.push(match ev {
                XmlEvent::Open => format!("+{name}@{}", r.depth()),
                XmlEvent::Close(t) => format!("-{name}:{t}"),
            });
        }
        assert_eq!(
            seen,
            ["+r@1", "+x@2", "+y@3", "-y:", "-x:12", "+z@2", "-z:", "-r:"]
        );
        // After the end, it stays at the end.
        assert_eq!(r.next_event(), Ok(None));
    }

    #[test]
    fn at_matches_the_path_below_the_root() {
        let mut r = XmlReader::new(b"<Delete><Object><Key>k</Key></Object></Delete>");
        let mut hits = Vec::new();
        while let Some(ev) = r.next_event().expect("parses") {
            if let XmlEvent::Close(t) = ev {
                hits.push((r.at(&[]), r.at(&["Object"]), r.at(&["Object", "Key"]), t));
            }
        }
        assert_eq!(
            hits,
            [
                (false, false, true, "k".to_owned()),
                (false, true, false, String::new()),
                (true, false, false, String::new()),
            ]
        );
        assert_eq!(r.root_name(), None);
    }

    #[test]
    fn namespaces_are_matched_by_local_name() {
        let plain = elements("<Delete><Object><Key>k</Key></Object></Delete>").expect("plain");
        let default_ns = elements(
            "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Object><Key>k</Key></Object></Delete>",
        )
        .expect("default namespace");
        let prefixed = elements(
            "<s3:Delete xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\"><s3:Object><s3:Key>k</s3:Key></s3:Object></s3:Delete>",
        )
        .expect("prefixed");
        assert_eq!(plain, default_ns);
        assert_eq!(plain, prefixed);
        assert_eq!(plain[0], ("Object/Key".to_owned(), "k".to_owned()));
        let mut r = XmlReader::new(b"<s3:Error xmlns:s3=\"u\"/>");
        assert_eq!(r.next_event(), Ok(Some(XmlEvent::Open)));
        assert_eq!(r.root_name(), Some("Error"));
    }

    #[test]
    fn malformed_documents_are_errors() {
        for bad in [
            "",
            "   ",
            "<?xml version=\"1.0\"?>",
            "text",
            "<r>",
            "<r><k></r>",
            "<r></k>",
            "</r>",
            "<r></r><r></r>",
            "<r/>trailing",
            "leading<r/>",
            "&amp;<r/>",
            "<r a=\"1></r>",
            "<r a=1></r>",
            "<r><k>x</k>",
            "<<<>>&&",
            "<r>\u{0}</r\u{0}>",
        ] {
            assert!(
                elements(bad).is_err(),
                "{bad:?} accepted: {:?}",
                elements(bad)
            );
        }
        // Invalid UTF-8 in text and in names.
        for bad in [
            &b"<r>\xff</r>"[..],
            b"<r\xff></r\xff>",
            b"<r><![CDATA[\xc3]]></r>",
        ] {
            let mut r = XmlReader::new(bad);
            let result =
                std::iter::from_fn(|| r.next_event().transpose()).collect::<Result<Vec<_>, _>>();
            assert!(result.is_err(), "{bad:?}");
        }
        // Whitespace, comments and a BOM around the root are fine.
        assert!(elements("\u{feff}<?xml version=\"1.0\"?>\n<r/>\n<!-- end -->\n").is_ok());
    }

    #[test]
    fn depth_limit() {
        let ok = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert!(elements(&ok).is_ok());
        let deep = format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH + 1),
            "</a>".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(elements(&deep), Err(XmlError::TooDeep));
        let deep_empty = format!(
            "{}<a/>{}",
            "<a>".repeat(MAX_DEPTH),
            "</a>".repeat(MAX_DEPTH)
        );
        assert_eq!(elements(&deep_empty), Err(XmlError::TooDeep));
        // A 2 MiB body of nothing but nesting fails at the limit, having held MAX_DEPTH frames.
        let hostile = "<a>".repeat(2 * 1024 * 1024 / 3);
        let mut r = XmlReader::new(hostile.as_bytes());
        let mut opened = 0;
        let err = loop {
            match r.next_event() {
                Ok(Some(_)) => opened += 1,
                Ok(None) => panic!("accepted"),
                Err(e) => break e,
            }
        };
        assert_eq!(err, XmlError::TooDeep);
        assert_eq!(opened, MAX_DEPTH);
        assert!(r.frames.capacity() <= 2 * MAX_DEPTH);
    }

    #[test]
    fn element_limit() {
        let ok = format!("<r>{}</r>", "<a/>".repeat(MAX_ELEMENTS - 1));
        assert_eq!(elements(&ok).map(|e| e.len()), Ok(MAX_ELEMENTS));
        let many = format!("<r>{}</r>", "<a/>".repeat(MAX_ELEMENTS));
        assert_eq!(elements(&many), Err(XmlError::TooManyElements));
        let many = format!("<r>{}</r>", "<a></a>".repeat(MAX_ELEMENTS));
        assert_eq!(elements(&many), Err(XmlError::TooManyElements));
    }

    #[test]
    fn errors_describe_themselves() {
        assert_eq!(
            XmlError::UnknownEntity("nbsp".into()).to_string(),
            "unknown XML entity `&nbsp;`"
        );
        assert!(XmlError::TooDeep.to_string().contains("16"));
        assert!(XmlError::Missing("UploadId")
            .to_string()
            .contains("<UploadId>"));
    }
}
