//! `${ENV_VAR}` expansion inside configuration values, so secrets can stay out of the file.
//!
//! Expansion runs on each scalar *after* YAML parsing (see the module doc of `load.rs` for why): a
//! value containing `#`, `: ` or quotes cannot change the document's structure, comments are never
//! expanded, and line numbers stay those of the file. Rules:
//! - `${NAME}` is replaced by the variable's value; `NAME` is `[A-Za-z_][A-Za-z0-9_]*`;
//! - `$${` is a literal `${` (so `$${NAME}` yields the text `${NAME}`);
//! - any other `$` is literal (secrets may contain `$`);
//! - an unset variable, a malformed reference or a value containing a line break is an error.

use std::borrow::Cow;
use std::ffi::OsString;
use std::fmt;

/// Longest variable name accepted in `${...}`. Real names are short; the bound keeps error messages
/// (which quote the name) readable when a `}` is simply missing.
const MAX_ENV_NAME_LEN: usize = 128;

/// How variables are looked up: `std::env::var_os` in production, a closure in tests.
pub(crate) type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// Why a value could not be expanded. Display is a sentence naming the variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExpandError {
    /// `${NAME}` where `NAME` is not set.
    Unset(String),
    /// `${...}` whose content is not a variable name (empty, bad characters, too long).
    BadName(String),
    /// `${` without a closing `}`.
    Unterminated,
    /// The variable's value is not valid UTF-8.
    NotUnicode(String),
    /// The variable's value contains a line break (often a file read with its trailing newline).
    LineBreak(String),
}

impl fmt::Display for ExpandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpandError::Unset(n) => write!(f, "environment variable `{n}` is not set"),
            ExpandError::BadName(n) => write!(
                f,
                "`${{{n}}}` is not a valid environment variable reference (names are letters, digits and `_`; write `$${{` for a literal `${{`)"
            ),
            ExpandError::Unterminated => {
                f.write_str("`${` without a closing `}` (write `$${` for a literal `${`)")
            }
            ExpandError::NotUnicode(n) => {
                write!(f, "environment variable `{n}` is not valid UTF-8")
            }
            ExpandError::LineBreak(n) => write!(
                f,
                "environment variable `{n}` contains a line break (trailing newline from a file?)"
            ),
        }
    }
}

impl std::error::Error for ExpandError {}

fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= MAX_ENV_NAME_LEN
}

/// Expands `${NAME}` references in `text`; borrows when there is nothing to expand.
pub(crate) fn expand<'t>(
    text: &'t str,
    lookup: EnvLookup<'_>,
) -> Result<Cow<'t, str>, ExpandError> {
    if !text.contains("${") {
        return Ok(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let end = tail.find('}').ok_or(ExpandError::Unterminated)?;
            let name = &tail[..end];
            if !is_valid_name(name) {
                let shown: String = name.chars().take(MAX_ENV_NAME_LEN).collect();
                return Err(ExpandError::BadName(shown));
            }
            let value = lookup(name).ok_or_else(|| ExpandError::Unset(name.to_owned()))?;
            let value = value
                .into_string()
                .map_err(|_| ExpandError::NotUnicode(name.to_owned()))?;
            if value.contains(['\n', '\r']) {
                return Err(ExpandError::LineBreak(name.to_owned()));
            }
            out.push_str(&value);
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<OsString> {
        match name {
            "A" => Some("alpha".into()),
            "EMPTY" => Some("".into()),
            "NL" => Some("line\n".into()),
            "DOLLAR" => Some("x${A}y".into()),
            "BIN" => {
                use std::os::unix::ffi::OsStringExt;
                Some(OsString::from_vec(vec![0xff, 0xfe]))
            }
            _ => None,
        }
    }

    fn ex(text: &str) -> Result<String, ExpandError> {
        expand(text, &env).map(Cow::into_owned)
    }

    #[test]
    fn expands_references() {
        assert_eq!(ex("${A}").unwrap(), "alpha");
        assert_eq!(ex("pre-${A}-post").unwrap(), "pre-alpha-post");
        assert_eq!(ex("${A}${A}").unwrap(), "alphaalpha");
        assert_eq!(ex("${EMPTY}").unwrap(), "");
        // Values are not expanded again.
        assert_eq!(ex("${DOLLAR}").unwrap(), "x${A}y");
    }

    #[test]
    fn borrows_when_nothing_to_do() {
        assert!(matches!(expand("plain", &env), Ok(Cow::Borrowed("plain"))));
        assert!(matches!(expand("a$b", &env), Ok(Cow::Borrowed("a$b"))));
    }

    #[test]
    fn escapes_and_literal_dollars() {
        assert_eq!(ex("$${A}").unwrap(), "${A}");
        assert_eq!(ex("a$b$${A}$").unwrap(), "a$b${A}$");
        // Scanning is left to right: a lone `$`, then the escape `$${`.
        assert_eq!(ex("$$${A}").unwrap(), "$${A}");
        assert_eq!(ex("x$${").unwrap(), "x${");
    }

    #[test]
    fn errors_name_the_variable() {
        assert_eq!(ex("${MISSING}"), Err(ExpandError::Unset("MISSING".into())));
        assert_eq!(ex("${NL}"), Err(ExpandError::LineBreak("NL".into())));
        assert_eq!(ex("${BIN}"), Err(ExpandError::NotUnicode("BIN".into())));
        assert_eq!(ex("${A"), Err(ExpandError::Unterminated));
        assert_eq!(ex("${}"), Err(ExpandError::BadName(String::new())));
        assert_eq!(ex("${1X}"), Err(ExpandError::BadName("1X".into())));
        assert_eq!(ex("${A:-x}"), Err(ExpandError::BadName("A:-x".into())));
        let msg = ex("${MISSING}").unwrap_err().to_string();
        assert!(msg.contains("`MISSING`"), "{msg}");
    }
}
