//! Reading one scalar as a given type: text (with `${VAR}` expansion), required text, unsigned
//! integers, booleans, durations, bounded counts and durations, access key ids and secrets. Each
//! records a [`Problem`](super::Problem) and returns `None` (or the default) when the value is wrong,
//! so section checks read as a list of keys.

use std::time::Duration;

use super::Checker;
use crate::config::duration::{format_duration, parse_duration, DurationError};
use crate::config::env::expand;
use crate::config::model::Secret;
use crate::config::raw::Scalar;

/// Longest access key id, AWS's documented maximum; it is parsed out of every Authorization header.
const MAX_ACCESS_KEY_ID_LEN: usize = 128;

/// Longest secret access key. AWS secrets are 40 characters; other providers' are longer, none near this.
const MAX_SECRET_LEN: usize = 256;

impl Checker<'_> {
    /// A string value, `${VAR}`-expanded. `None` when absent or wrong (the problem is recorded).
    pub(super) fn text(&mut self, path: &str, value: Option<&Scalar>) -> Option<String> {
        match value? {
            Scalar::Null => None,
            Scalar::Str(s) => self.expand(path, s),
            other => {
                let found = other.describe();
                self.problem(
                    path,
                    format!("expected a string, found {found} (put it in quotes)"),
                );
                None
            }
        }
    }

    /// `${VAR}`-expands `s`, recording a problem on failure.
    pub(super) fn expand(&mut self, path: &str, s: &str) -> Option<String> {
        match expand(s, self.env) {
            Ok(v) => Some(v.into_owned()),
            Err(e) => {
                self.problem(path, e.to_string());
                None
            }
        }
    }

    /// A string that must be present and non-empty.
    pub(super) fn required_text(&mut self, path: &str, value: Option<&Scalar>) -> Option<String> {
        match value {
            None => {
                self.problem(path, "missing required key");
                return None;
            }
            Some(Scalar::Null) => {
                self.problem(path, "has no value");
                return None;
            }
            Some(_) => {}
        }
        let text = self.text(path, value)?;
        if text.is_empty() {
            self.problem(path, "must not be empty");
            return None;
        }
        Some(text)
    }

    /// A non-negative integer, literal or from a `${VAR}` string.
    pub(super) fn uint(&mut self, path: &str, value: Option<&Scalar>) -> Option<u64> {
        let parsed = match value? {
            Scalar::Null => return None,
            Scalar::Int(i) if *i < 0 => Err("must not be negative".to_owned()),
            Scalar::Int(i) => u64::try_from(*i).map_err(|_| "is too large".to_owned()),
            Scalar::Str(s) => {
                let text = self.expand(path, s)?;
                let t = text.trim();
                match t.parse::<u64>() {
                    Ok(n) => Ok(n),
                    Err(_) if t.parse::<i128>().is_ok_and(|n| n < 0) => {
                        Err("must not be negative".to_owned())
                    }
                    Err(_) => Err(format!("expected a non-negative integer, found `{t}`")),
                }
            }
            other => Err(format!(
                "expected a non-negative integer, found {}",
                other.describe()
            )),
        };
        parsed.map_err(|m| self.problem(path, m)).ok()
    }

    /// `true` or `false`, literal or from a `${VAR}` string.
    pub(super) fn boolean(&mut self, path: &str, value: Option<&Scalar>) -> Option<bool> {
        let parsed = match value? {
            Scalar::Null => return None,
            Scalar::Bool(b) => Ok(*b),
            Scalar::Str(s) => {
                let text = self.expand(path, s)?;
                match text.trim() {
                    "true" => Ok(true),
                    "false" => Ok(false),
                    t => Err(format!("expected `true` or `false`, found `{t}`")),
                }
            }
            other => Err(format!(
                "expected `true` or `false`, found {}",
                other.describe()
            )),
        };
        parsed.map_err(|m| self.problem(path, m)).ok()
    }

    /// A duration such as `10m`.
    pub(super) fn duration(&mut self, path: &str, value: Option<&Scalar>) -> Option<Duration> {
        let parsed = match value? {
            Scalar::Null => return None,
            Scalar::Str(s) => {
                let text = self.expand(path, s)?;
                parse_duration(&text).map_err(|e| e.to_string())
            }
            Scalar::Int(0) => Ok(Duration::ZERO),
            Scalar::Int(i) => Err(DurationError::MissingUnit(i.to_string()).to_string()),
            other => Err(format!(
                "expected a duration such as `10m`, found {}",
                other.describe()
            )),
        };
        parsed.map_err(|m| self.problem(path, m)).ok()
    }

    /// A whole number within `1..=max`, or `default` when absent.
    pub(super) fn count(
        &mut self,
        path: &str,
        value: Option<&Scalar>,
        max: u64,
        default: u64,
    ) -> u64 {
        match self.uint(path, value) {
            None => default,
            Some(0) => {
                self.problem(path, "must be at least 1");
                default
            }
            Some(n) if n > max => {
                self.problem(path, format!("must be at most {max}, found {n}"));
                default
            }
            Some(n) => n,
        }
    }

    /// A duration within `range`, or `default` when absent.
    pub(super) fn bounded_duration(
        &mut self,
        path: &str,
        value: Option<&Scalar>,
        range: (Duration, Duration),
        default: Duration,
    ) -> Duration {
        match self.duration(path, value) {
            None => default,
            Some(d) if d < range.0 || d > range.1 => {
                self.problem(
                    path,
                    format!(
                        "must be between {} and {}",
                        format_duration(range.0),
                        format_duration(range.1)
                    ),
                );
                default
            }
            Some(d) => d,
        }
    }

    pub(super) fn access_key_id(&mut self, path: &str, value: Option<&Scalar>) -> Option<String> {
        let id = self.required_text(path, value)?;
        if id.len() > MAX_ACCESS_KEY_ID_LEN {
            self.problem(
                path,
                format!("is longer than {MAX_ACCESS_KEY_ID_LEN} characters"),
            );
            return None;
        }
        // It travels in `Credential=<id>/<date>/...`: a `/`, `,` or space would break that parsing.
        if !id
            .bytes()
            .all(|c| c.is_ascii_graphic() && c != b'/' && c != b',')
        {
            self.problem(
                path,
                format!(
                    "invalid access key id `{id}`: visible ASCII characters only, no `/` or `,`"
                ),
            );
            return None;
        }
        Some(id)
    }

    pub(super) fn secret(&mut self, path: &str, value: Option<&Scalar>) -> Option<Secret> {
        // Unlike `text`, never quote the value back: it is a secret.
        if let Some(Scalar::Int(_) | Scalar::Float(_) | Scalar::Bool(_)) = value {
            self.problem(
                path,
                "expected a string, found a number or boolean (put the secret in quotes)",
            );
            return None;
        }
        let s = self.required_text(path, value)?;
        if s.len() > MAX_SECRET_LEN {
            self.problem(path, format!("is longer than {MAX_SECRET_LEN} characters"));
            return None;
        }
        if s.chars().any(char::is_control) {
            self.problem(path, "must not contain control characters");
            return None;
        }
        Some(Secret::new(s))
    }
}
