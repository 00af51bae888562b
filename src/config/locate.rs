//! Finds where a key path such as `backends[1].quota_bytes` is written in the raw YAML text.
//!
//! serde_norway reports positions for syntax and type errors, but its values carry no spans, so errors
//! found after parsing (validation, `${VAR}` expansion) would otherwise lose their line. This is a light
//! line scanner for the *block* style configuration files are written in: it tracks indentation,
//! `key:` lines and `- ` sequence items, and records the line and column of each key and item. It runs
//! only on text serde_norway has already accepted, and only to build error messages.
//!
//! Limits, by design: keys inside flow collections (`{a: 1}`, `[...]`) are not recorded (a lookup then
//! falls back to the enclosing key, usually on the same line), nor are complex `? ` keys. Block scalars
//! (`|`, `>`), multi-line quoted scalars and multi-line flow collections are skipped so their content is
//! never mistaken for keys.

use std::collections::HashMap;

/// A 1-based line and column in the configuration text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    /// 1-based line.
    pub(crate) line: usize,
    /// 1-based column (characters are counted as bytes, which is exact for the ASCII keys used here).
    pub(crate) column: usize,
}

/// Key path → position of the key (or of the `-` of a sequence item).
#[derive(Debug, Default)]
pub(crate) struct Locator {
    first: HashMap<String, Pos>,
    duplicates: Vec<(String, Pos)>,
}

/// One open mapping key or sequence item while scanning.
struct Frame {
    column: usize,
    path: String,
    is_item: bool,
    /// Sequence items seen directly below this node.
    items: usize,
}

/// Scanner state that spans lines.
enum Skip {
    None,
    /// Inside a block scalar whose key sits at this column: lines indented deeper are content.
    BlockScalar(usize),
    /// Inside a multi-line flow collection, this many brackets deep.
    Flow(usize),
    /// Inside a multi-line quoted scalar opened with this quote.
    Quote(char),
}

impl Locator {
    /// Scans `text` once.
    pub(crate) fn new(text: &str) -> Self {
        let mut loc = Locator::default();
        let mut stack: Vec<Frame> = Vec::new();
        let mut root_items = 0usize;
        let mut skip = Skip::None;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (index, line) in text.lines().enumerate() {
            let line_no = index + 1;
            let indent = line.len() - line.trim_start_matches(' ').len();
            let content = line[indent..].trim_end();
            match skip {
                Skip::BlockScalar(key_col) => {
                    if content.is_empty() || indent > key_col {
                        continue;
                    }
                    skip = Skip::None;
                }
                Skip::Flow(depth) => {
                    let depth = flow_depth(content, depth);
                    skip = if depth == 0 {
                        Skip::None
                    } else {
                        Skip::Flow(depth)
                    };
                    continue;
                }
                Skip::Quote(q) => {
                    if quote_closes(content, q) {
                        skip = Skip::None;
                    }
                    continue;
                }
                Skip::None => {}
            }
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            if indent == 0 && (content.starts_with("---") || content.starts_with("...")) {
                // A new document: serde_norway reads only single-document files, so start over.
                stack.clear();
                root_items = 0;
                continue;
            }
            if indent == 0 && content.starts_with('%') {
                continue;
            }
            skip = loc.scan_node(content, indent, line_no, &mut stack, &mut root_items);
        }
        loc
    }

    /// Handles what starts at `column` on one line: sequence dashes, then at most one key.
    fn scan_node(
        &mut self,
        mut s: &str,
        mut column: usize,
        line: usize,
        stack: &mut Vec<Frame>,
        root_items: &mut usize,
    ) -> Skip {
        loop {
            if s == "-" || s.starts_with("- ") {
                while stack
                    .last()
                    .is_some_and(|f| f.column > column || (f.column == column && f.is_item))
                {
                    stack.pop();
                }
                let path = match stack.last_mut() {
                    Some(parent) => {
                        parent.items += 1;
                        format!("{}[{}]", parent.path, parent.items - 1)
                    }
                    None => {
                        *root_items += 1;
                        format!("[{}]", *root_items - 1)
                    }
                };
                self.record(&path, line, column);
                stack.push(Frame {
                    column,
                    path,
                    is_item: true,
                    items: 0,
                });
                let rest = &s[1..];
                let trimmed = rest.trim_start();
                column += 1 + rest.len() - trimmed.len();
                s = trimmed;
                if s.is_empty() || s.starts_with('#') {
                    return Skip::None;
                }
                continue;
            }
            let Some((key, value)) = split_key(s) else {
                // A scalar item, or the continuation of a multi-line plain scalar.
                return start_skip(s, None);
            };
            while stack.last().is_some_and(|f| f.column >= column) {
                stack.pop();
            }
            let path = match stack.last() {
                Some(parent) => format!("{}.{key}", parent.path),
                None => key.to_owned(),
            };
            self.record(&path, line, column);
            stack.push(Frame {
                column,
                path,
                is_item: false,
                items: 0,
            });
            return start_skip(value.trim_start(), Some(column));
        }
    }

    fn record(&mut self, path: &str, line: usize, column: usize) {
        let pos = Pos {
            line,
            column: column + 1,
        };
        if self.first.contains_key(path) {
            self.duplicates.push((path.to_owned(), pos));
        } else {
            self.first.insert(path.to_owned(), pos);
        }
    }

    /// Where exactly this path is written.
    #[cfg(test)]
    pub(crate) fn exact(&self, path: &str) -> Option<Pos> {
        self.first.get(path).copied()
    }

    /// Where this path is written, or else its nearest written ancestor (a missing key is reported at
    /// the mapping that lacks it).
    pub(crate) fn find(&self, path: &str) -> Option<Pos> {
        let mut p = path;
        loop {
            if let Some(pos) = self.first.get(p) {
                return Some(*pos);
            }
            p = parent_path(p)?;
        }
    }

    /// The second occurrence of `key` directly under `parent` (`""` for the top level), for
    /// serde's `duplicate field` errors, which carry no position at the top level.
    pub(crate) fn duplicate(&self, parent: &str, key: &str) -> Option<Pos> {
        self.duplicates
            .iter()
            .find(|(p, _)| {
                if parent.is_empty() {
                    p == key
                } else {
                    p.strip_prefix(parent)
                        .and_then(|r| r.strip_prefix('.'))
                        .is_some_and(|r| r == key)
                }
            })
            .map(|(_, pos)| *pos)
    }
}

/// `backends[1].name` → `backends[1]` → `backends` → none.
fn parent_path(path: &str) -> Option<&str> {
    if path.ends_with(']') {
        return path
            .rfind('[')
            .map(|i| &path[..i])
            .filter(|p| !p.is_empty());
    }
    path.rfind('.').map(|i| &path[..i])
}

/// Decides, from the value part after a key (or a scalar item), whether following lines must be
/// skipped.
fn start_skip(value: &str, key_column: Option<usize>) -> Skip {
    let first = value.chars().next();
    match first {
        Some('|') | Some('>') => match key_column {
            Some(c) => Skip::BlockScalar(c),
            None => Skip::None,
        },
        Some('[') | Some('{') => {
            let depth = flow_depth(value, 0);
            if depth == 0 {
                Skip::None
            } else {
                Skip::Flow(depth)
            }
        }
        Some(q @ ('"' | '\'')) => {
            if quote_closes(&value[1..], q) {
                Skip::None
            } else {
                Skip::Quote(q)
            }
        }
        _ => Skip::None,
    }
}

/// Bracket depth after scanning `s` (outside quotes, up to a comment), starting from `depth`.
fn flow_depth(s: &str, mut depth: usize) -> usize {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some('"') if c == '\\' => {
                chars.next();
            }
            Some(q) if c == q => {
                if q == '\'' && chars.peek() == Some(&'\'') {
                    chars.next();
                } else {
                    quote = None;
                }
            }
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '[' | '{' => depth += 1,
                ']' | '}' => depth = depth.saturating_sub(1),
                '#' if prev == ' ' || prev == '\t' => break,
                _ => {}
            },
        }
        prev = c;
    }
    depth
}

/// Whether `s` (text after an opening quote, or a continuation line) contains the closing quote.
fn quote_closes(s: &str, q: char) -> bool {
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if q == '"' && c == '\\' {
            chars.next();
        } else if c == q {
            if q == '\'' && chars.peek() == Some(&'\'') {
                chars.next();
            } else {
                return true;
            }
        }
    }
    false
}

/// Splits `key: value` (or `key:` at the end of the line); `None` if `s` does not start with a key.
fn split_key(s: &str) -> Option<(&str, &str)> {
    let first = s.chars().next()?;
    if let q @ ('"' | '\'') = first {
        let body = &s[1..];
        let mut end = None;
        let mut iter = body.char_indices().peekable();
        while let Some((i, c)) = iter.next() {
            if q == '"' && c == '\\' {
                iter.next();
            } else if c == q {
                if q == '\'' && iter.peek().is_some_and(|(_, n)| *n == '\'') {
                    iter.next();
                } else {
                    end = Some(i);
                    break;
                }
            }
        }
        let end = end?;
        let key = &body[..end];
        let after = body[end + 1..].trim_start();
        let value = after.strip_prefix(':')?;
        if value.is_empty() || value.starts_with([' ', '\t']) {
            return Some((key, value));
        }
        return None;
    }
    if "[{#&*!|>%@`?".contains(first) {
        return None;
    }
    let bytes = s.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && i > 0 && (bytes[i - 1] == b' ' || bytes[i - 1] == b'\t') {
            return None;
        }
        if b == b':' && (i + 1 == bytes.len() || bytes[i + 1] == b' ' || bytes[i + 1] == b'\t') {
            return Some((s[..i].trim_end(), &s[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# header: not a key
routing_strategy: spread   # comment
backends:
  - name: oci
    endpoint: https://x.example.com
    quota_bytes: 10
  - name: r2
    region: auto

    quota_bytes: 20
replication:
  factor: 2
buckets:
- name: myapp
  credentials:
    - access_key_id: \"a: b\"
      secret_access_key: 's'
  note: |
    fake: key
    - fake item
server: {listen_addr: '127.0.0.1:9000',
  fake: 1}
\"quoted key\": 1
catalog:
  path: \"multi
    fake: line\"
  after: 1
";

    fn pos(line: usize, column: usize) -> Option<Pos> {
        Some(Pos { line, column })
    }

    #[test]
    fn finds_keys_and_items() {
        let l = Locator::new(TEXT);
        assert_eq!(l.exact("routing_strategy"), pos(2, 1));
        assert_eq!(l.exact("backends"), pos(3, 1));
        assert_eq!(l.exact("backends[0]"), pos(4, 3));
        assert_eq!(l.exact("backends[0].name"), pos(4, 5));
        assert_eq!(l.exact("backends[0].quota_bytes"), pos(6, 5));
        assert_eq!(l.exact("backends[1].name"), pos(7, 5));
        assert_eq!(l.exact("backends[1].quota_bytes"), pos(10, 5));
        assert_eq!(l.exact("replication.factor"), pos(12, 3));
        // An indentless sequence (dash at the parent key's column).
        assert_eq!(l.exact("buckets[0]"), pos(14, 1));
        assert_eq!(l.exact("buckets[0].name"), pos(14, 3));
        assert_eq!(
            l.exact("buckets[0].credentials[0].access_key_id"),
            pos(16, 7)
        );
        assert_eq!(
            l.exact("buckets[0].credentials[0].secret_access_key"),
            pos(17, 7)
        );
        assert_eq!(l.exact("\"quoted key\""), None);
        assert_eq!(l.exact("quoted key"), pos(23, 1));
        assert_eq!(l.exact("catalog.path"), pos(25, 3));
        assert_eq!(l.exact("catalog.after"), pos(27, 3));
    }

    #[test]
    fn skips_comments_block_scalars_flow_and_quotes() {
        let l = Locator::new(TEXT);
        assert_eq!(l.exact("header"), None);
        assert_eq!(l.exact("buckets[0].note"), pos(18, 3));
        assert_eq!(l.exact("buckets[0].note.fake"), None);
        assert_eq!(l.exact("fake"), None);
        assert_eq!(l.exact("server"), pos(21, 1));
        assert_eq!(l.exact("server.fake"), None);
        assert_eq!(l.exact("catalog.fake"), None);
    }

    #[test]
    fn find_falls_back_to_ancestors() {
        let l = Locator::new(TEXT);
        assert_eq!(l.find("backends[1].bucket"), pos(7, 3));
        assert_eq!(l.find("server.listen_addr"), pos(21, 1));
        assert_eq!(l.find("backends[7].name"), pos(3, 1));
        assert_eq!(l.find("nothing.here"), None);
    }

    #[test]
    fn records_duplicates() {
        let l = Locator::new("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n");
        assert_eq!(l.duplicate("", "a"), pos(5, 1));
        assert_eq!(l.duplicate("b", "c"), pos(4, 3));
        assert_eq!(l.duplicate("", "c"), None);
    }

    #[test]
    fn nested_and_root_sequences() {
        let l = Locator::new("- a: 1\n- - x\n  - b: 2\n");
        assert_eq!(l.exact("[0].a"), pos(1, 3));
        assert_eq!(l.exact("[1]"), pos(2, 1));
        assert_eq!(l.exact("[1][0]"), pos(2, 3));
        assert_eq!(l.exact("[1][1].b"), pos(3, 5));
    }

    #[test]
    fn parent_paths() {
        assert_eq!(parent_path("a.b[2].c"), Some("a.b[2]"));
        assert_eq!(parent_path("a.b[2]"), Some("a.b"));
        assert_eq!(parent_path("a.b"), Some("a"));
        assert_eq!(parent_path("a"), None);
        assert_eq!(parent_path("[0]"), None);
    }

    #[test]
    fn windows_line_endings_and_bom() {
        let l = Locator::new("\u{feff}a:\r\n  b: 1\r\n");
        assert_eq!(l.exact("a.b"), pos(2, 3));
    }
}
