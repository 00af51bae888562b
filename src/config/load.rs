//! Reading a configuration file and running its stages: read, parse (YAML → `RawConfig`), validate
//! (`RawConfig` → `Config`). Failures become [`ConfigError`]s through `diagnose.rs`.
//!
//! YAML is read with `serde_norway` 0.9, the maintained fork of the deprecated `serde_yaml`: the same
//! API, the same libyaml-based parser (complete YAML, anchors and all), and the same precise errors,
//! which already name the line, the column and the key path (`backends[1]`). Its values carry no
//! spans, so problems found after parsing get their line from a small block-style scanner
//! (`locate.rs`) instead of from a second YAML library. `${VAR}` references are expanded after
//! parsing, scalar by scalar, so an expanded secret can never change the document's structure (a `#`
//! or `: ` in a secret stays text), comments are never expanded, and every line number is the file's
//! own.

use std::io::Read;
use std::path::Path;

use super::diagnose::{locate_problems, syntax_diagnostic};
use super::env::EnvLookup;
use super::model::Config;
use super::raw::RawConfig;
use super::validate::validate;
use super::{ConfigError, ConfigErrorKind, Diagnostic};

/// Largest configuration file read. Real files are a few KiB; the bound stops a wrong path (a log,
/// a disk image) from being read into memory whole.
const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// Reads and validates the file at `path`.
pub(crate) fn load_file(path: &Path, env: EnvLookup<'_>) -> Result<Config, ConfigError> {
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
pub(crate) fn parse_str(text: &str, name: &str, env: EnvLookup<'_>) -> Result<Config, ConfigError> {
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
