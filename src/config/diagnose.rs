//! Turns failures into [`Diagnostic`]s with their place in the file: serde_norway's syntax and
//! structure errors (whose text carries the line, column and key path, when it has them), and the
//! validation [`Problem`]s (which carry only a key path; their line comes from [`Locator`]).

use super::locate::{Locator, Pos};
use super::validate::Problem;
use super::Diagnostic;

/// Most problems reported at once. The first few are what an operator fixes; a wholly wrong file should
/// not flood the terminal.
pub(crate) const MAX_DIAGNOSTICS: usize = 50;

/// Attaches lines to validation problems, sorts them by line and caps their number.
pub(crate) fn locate_problems(problems: Vec<Problem>, text: &str) -> Vec<Diagnostic> {
    let locator = Locator::new(text);
    let mut out: Vec<Diagnostic> = problems
        .into_iter()
        .map(|p| {
            let pos = locator.find(&p.path);
            Diagnostic {
                line: pos.map(|p| p.line),
                column: pos.map(|p| p.column),
                key_path: p.path,
                message: p.message,
            }
        })
        .collect();
    // File order reads naturally; problems without a line (a missing section) go first.
    out.sort_by_key(|d| d.line);
    if out.len() > MAX_DIAGNOSTICS {
        let more = out.len() - MAX_DIAGNOSTICS;
        out.truncate(MAX_DIAGNOSTICS);
        out.push(Diagnostic::for_file(format!(
            "... and {more} more problems"
        )));
    }
    out
}

/// Splits serde_norway's `path: message at line L column C, context` into its parts.
pub(crate) fn syntax_diagnostic(err: &serde_norway::Error, text: &str) -> Diagnostic {
    let full = err.to_string();
    let mut message = full.clone();
    let mut pos = None;
    if let Some(loc) = err.location() {
        // serde_norway reports (1, 1) for errors without a position but then leaves it out of the
        // text; trust the location only when the text shows it.
        let marker = format!(" at line {} column {}", loc.line(), loc.column());
        if let Some(i) = full.find(&marker) {
            message = format!("{}{}", &full[..i], &full[i + marker.len()..]);
            pos = Some(Pos {
                line: loc.line(),
                column: loc.column(),
            });
        }
    }
    let (path, message) = split_path_prefix(&message);
    if pos.is_none() {
        // No position in the text: serde_norway hides the mark of the file's very first character
        // (line 1, column 1) and has none for duplicate keys at the top level. Find the key instead.
        let locator = Locator::new(text);
        let quoted_key = |prefix: &str| {
            message
                .strip_prefix(prefix)
                .and_then(|r| r.split('`').next())
        };
        pos = if let Some(key) = quoted_key("duplicate field `") {
            locator.duplicate(path, key)
        } else if let Some(key) = quoted_key("unknown field `") {
            let full = if path.is_empty() {
                key.to_owned()
            } else {
                format!("{path}.{key}")
            };
            locator.find(&full)
        } else if !path.is_empty() {
            locator.find(path)
        } else {
            None
        };
        pos = pos.or_else(|| {
            err.location().map(|l| Pos {
                line: l.line(),
                column: l.column(),
            })
        });
    }
    Diagnostic {
        key_path: path.to_owned(),
        line: pos.map(|p| p.line),
        column: pos.map(|p| p.column),
        message: message.to_owned(),
    }
}

/// `backends[1]: unknown field` → (`backends[1]`, `unknown field`); no prefix → (``, message).
fn split_path_prefix(message: &str) -> (&str, &str) {
    if let Some((path, rest)) = message.split_once(": ") {
        let is_path = !path.is_empty()
            && path
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'[' | b']'));
        if is_path {
            return (path, rest);
        }
    }
    ("", message)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn path_prefix_split() {
        assert_eq!(
            split_path_prefix("backends[1]: unknown"),
            ("backends[1]", "unknown")
        );
        assert_eq!(
            split_path_prefix("invalid type: x"),
            ("", "invalid type: x")
        );
        assert_eq!(split_path_prefix("no colon"), ("", "no colon"));
    }
}
