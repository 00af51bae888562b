//! Reading a configuration file and turning every failure into a message with file, line and key.
//!
//! YAML is read with `serde_norway` 0.9, the maintained fork of the deprecated `serde_yaml`: the same
//! API, the same libyaml-based parser (complete YAML, anchors and all), and the same precise errors,
//! which already name the line, the column and the key path (`backends[1]`). Its values carry no
//! spans, so problems found after parsing get their line from a small block-style scanner
//! (`locate.rs`) instead of from a second YAML library. `${VAR}` references are expanded after parsing,
//! scalar by scalar, so an expanded secret can never change the document's structure (a `#` or `: ` in
//! a secret stays text), comments are never expanded, and every line number is the file's own.

use std::io::Read;
use std::path::Path;

use super::env::EnvLookup;
use super::locate::{Locator, Pos};
use super::model::Config;
use super::raw::RawConfig;
use super::validate::{validate, Problem};
use super::{ConfigError, ConfigErrorKind, Diagnostic};

/// Largest configuration file read. Real files are a few KiB; the bound stops a wrong path (a log,
/// a disk image) from being read into memory whole.
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// Most problems reported at once. The first few are what an operator fixes; a wholly wrong file should
/// not flood the terminal.
pub const MAX_DIAGNOSTICS: usize = 50;

/// Reads and validates the file at `path`.
pub fn load_file(path: &Path, env: EnvLookup<'_>) -> Result<Config, ConfigError> {
    let name = path.display().to_string();
    let read_error = |message: String, io: Option<std::io::Error>| {
        ConfigError::new(
            &name,
            ConfigErrorKind::Read,
            vec![Diagnostic::for_file(message)],
            io,
        )
    };
    let file =
        std::fs::File::open(path).map_err(|e| read_error(format!("cannot open: {e}"), Some(e)))?;
    let mut bytes = Vec::new();
    // Read one byte past the limit to tell "exactly at the limit" from "over it".
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| read_error(format!("cannot read: {e}"), Some(e)))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(read_error(
            format!("larger than {MAX_CONFIG_BYTES} bytes; is this the configuration file?"),
            None,
        ));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        read_error(format!("not valid UTF-8 (at byte {at})"), None)
    })?;
    parse_str(&text, &name, env)
}

/// Parses and validates configuration text; `name` is used in messages in place of a file name.
pub fn parse_str(text: &str, name: &str, env: EnvLookup<'_>) -> Result<Config, ConfigError> {
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ConfigError::new(
            name,
            ConfigErrorKind::Read,
            vec![Diagnostic::for_file(format!(
                "larger than {MAX_CONFIG_BYTES} bytes"
            ))],
            None,
        ));
    }
    let raw: RawConfig = serde_norway::from_str(text).map_err(|e| {
        ConfigError::new(
            name,
            ConfigErrorKind::Syntax,
            vec![syntax_diagnostic(&e, text)],
            None,
        )
    })?;
    validate(&raw, env).map_err(|problems| {
        ConfigError::new(
            name,
            ConfigErrorKind::Invalid,
            locate_problems(problems, text),
            None,
        )
    })
}

/// Attaches lines to validation problems, sorts them by line and caps their number.
fn locate_problems(problems: Vec<Problem>, text: &str) -> Vec<Diagnostic> {
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
fn syntax_diagnostic(err: &serde_norway::Error, text: &str) -> Diagnostic {
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
