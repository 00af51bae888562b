//! [`ConfigError`]: why a configuration was refused, as [`Diagnostic`]s with key path, line and column.

use std::fmt;

/// What stage refused the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// The file could not be read (missing, unreadable, too large, not UTF-8).
    Read,
    /// Not valid YAML, or not the expected structure (unknown key, list where a value belongs, ...).
    Syntax,
    /// Well-formed, but one or more values are wrong.
    Invalid,
}

/// One problem, with its place in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Key path such as `backends[1].quota_bytes`; empty for the file as a whole.
    pub key_path: String,
    /// 1-based line, when the problem has a place in the file.
    pub line: Option<usize>,
    /// 1-based column, with `line`.
    pub column: Option<usize>,
    /// What is wrong, e.g. `must not be negative`. Never contains a secret's value.
    pub message: String,
}

impl Diagnostic {
    /// A problem of the file as a whole: no key path, no place in the file.
    pub(crate) fn for_file(message: impl Into<String>) -> Self {
        Diagnostic {
            key_path: String::new(),
            line: None,
            column: None,
            message: message.into(),
        }
    }
}

/// Why a configuration was refused: one or more [`Diagnostic`]s (at most
/// `MAX_DIAGNOSTICS` and a summary line). Display prints one line per diagnostic.
#[derive(Debug)]
pub struct ConfigError {
    file: String,
    kind: ConfigErrorKind,
    diagnostics: Vec<Diagnostic>,
    io: Option<std::io::Error>,
}

impl ConfigError {
    /// A refusal of `file` (the name used in messages) at stage `kind`; `diagnostics` must not be
    /// empty. `io` is the underlying read error, if any, for [`std::error::Error::source`].
    pub(crate) fn new(
        file: &str,
        kind: ConfigErrorKind,
        diagnostics: Vec<Diagnostic>,
        io: Option<std::io::Error>,
    ) -> Self {
        ConfigError {
            file: file.to_owned(),
            kind,
            diagnostics,
            io,
        }
    }

    /// The file name as given (or the name passed to [`Config::from_str_named`](super::Config::from_str_named)).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// What stage refused the file.
    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }

    /// The problems, in file order; never empty.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(&self.file)?;
            match (d.line, d.column) {
                (Some(l), Some(c)) => write!(f, ":{l}:{c}")?,
                (Some(l), None) => write!(f, ":{l}")?,
                _ => {}
            }
            f.write_str(": ")?;
            if !d.key_path.is_empty() {
                write!(f, "{}: ", d.key_path)?;
            }
            f.write_str(&d.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.io
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn display_formats() {
        let e = ConfigError {
            file: "c.yaml".into(),
            kind: ConfigErrorKind::Invalid,
            diagnostics: vec![
                Diagnostic {
                    key_path: "backends".into(),
                    line: None,
                    column: None,
                    message: "at least one backend is required".into(),
                },
                Diagnostic {
                    key_path: "backends[1].quota_bytes".into(),
                    line: Some(14),
                    column: Some(5),
                    message: "must not be negative".into(),
                },
                Diagnostic {
                    key_path: String::new(),
                    line: Some(3),
                    column: None,
                    message: "bad".into(),
                },
            ],
            io: None,
        };
        assert_eq!(
            e.to_string(),
            "c.yaml: backends: at least one backend is required\n\
             c.yaml:14:5: backends[1].quota_bytes: must not be negative\n\
             c.yaml:3: bad"
        );
        assert_eq!(e.file(), "c.yaml");
        assert_eq!(e.kind(), ConfigErrorKind::Invalid);
        assert_eq!(e.diagnostics().len(), 3);
    }
}
