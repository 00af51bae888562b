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
    use crate::config::model::*;
    use std::ffi::OsString;
    use std::net::SocketAddr;
    use std::path::PathBuf;
    use std::time::Duration;

    fn no_env(_: &str) -> Option<OsString> {
        None
    }

    fn test_env(name: &str) -> Option<OsString> {
        match name {
            "OCI_ACCESS_KEY" => Some("AKIAOCI".into()),
            "OCI_SECRET_KEY" => Some("s3cr3t#with: yaml-ish chars".into()),
            "QUOTA" => Some("1024".into()),
            "BAD_QUOTA" => Some("-7".into()),
            "LISTEN" => Some("127.0.0.1:9100".into()),
            "MULTI" => Some("a\nb".into()),
            _ => None,
        }
    }

    fn parse(text: &str) -> Result<Config, ConfigError> {
        parse_str(text, "config/x.yaml", &no_env)
    }

    /// The error text; panics if `text` is valid.
    fn err(text: &str) -> String {
        match parse(text) {
            Ok(_) => panic!("expected an error for:\n{text}"),
            Err(e) => e.to_string(),
        }
    }

    /// Asserts one of the error lines starts with `file:line:` and contains the path and `needle`.
    fn assert_err(text: &str, line: usize, path: &str, needle: &str) {
        let msg = err(text);
        let prefix = format!("config/x.yaml:{line}:");
        let found = msg.lines().any(|l| {
            let path_ok = if path.is_empty() {
                // `file:line:col: message` with no key path in front of the message.
                l.splitn(4, ':')
                    .nth(3)
                    .is_some_and(|m| m.trim_start().starts_with(needle))
            } else {
                l.contains(&format!(" {path}: "))
            };
            l.starts_with(&prefix) && path_ok && l.contains(needle)
        });
        assert!(
            found,
            "want line {line}, path `{path}`, text `{needle}`; got:\n{msg}"
        );
    }

    const MINIMAL: &str = "\
backends:
  - name: a
    path: ./data/a
buckets:
  - name: myapp
    credentials:
      - access_key_id: AK
        secret_access_key: SK
";

    /// MINIMAL with `extra` appended.
    fn with(extra: &str) -> String {
        format!("{MINIMAL}{extra}")
    }

    const S3: &str = "\
backends:
  - name: oci
    endpoint: https://objectstorage.us-ashburn-1.oraclecloud.com
    region: us-ashburn-1
    bucket: primary-bucket
    access_key_id: \"<oci-access-key>\"
    secret_access_key: \"<oci-secret-key>\"
    quota_bytes: 10737418240
  - name: r2
    endpoint: https://account.r2.cloudflarestorage.com
    bucket: primary-bucket
    access_key_id: r2key
    secret_access_key: r2secret
";

    fn s3_with(backend_extra: &str) -> String {
        format!("{S3}{backend_extra}buckets:\n  - name: myapp\n    credentials:\n      - access_key_id: AK\n        secret_access_key: SK\n")
    }

    #[test]
    fn replication_busy_rate_defaults_to_an_eighth_and_must_not_exceed_the_idle_rate() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.replication.max_bytes_per_sec, 64 * 1024 * 1024);
        assert_eq!(c.replication.busy_bytes_per_sec, 8 * 1024 * 1024);
        let c = parse(&with("replication:\n  max_bytes_per_sec: 800\n")).unwrap();
        assert_eq!(c.replication.busy_bytes_per_sec, 100);
        let c = parse(&with(
            "replication:\n  max_bytes_per_sec: 0\n  busy_bytes_per_sec: 0\n",
        ))
        .unwrap();
        assert_eq!(
            (
                c.replication.max_bytes_per_sec,
                c.replication.busy_bytes_per_sec
            ),
            (0, 0)
        );
        let c = parse(&with(
            "replication:\n  max_bytes_per_sec: 1000\n  busy_bytes_per_sec: 1000\n",
        ))
        .unwrap();
        assert_eq!(c.replication.busy_bytes_per_sec, 1000);
        // Above the idle rate, or unthrottled under a throttled idle rate: refused, naming the key.
        for busy in ["1001", "0"] {
            let text = with(&format!(
                "replication:\n  max_bytes_per_sec: 1000\n  busy_bytes_per_sec: {busy}\n"
            ));
            assert_err(
                &text,
                11,
                "replication.busy_bytes_per_sec",
                "must not exceed replication.max_bytes_per_sec (1000)",
            );
        }
    }

    #[test]
    fn defaults() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.routing_strategy, RoutingStrategy::Spread);
        assert_eq!(c.replication.factor, 1);
        assert_eq!(c.replication.unhealthy_threshold, Duration::from_secs(600));
        assert!(!c.backend_circuit_breaker.enabled);
        assert_eq!(
            c.server.listen_addr,
            "0.0.0.0:9000".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            c.server.admin_addr,
            "127.0.0.1:9001".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(c.server.shards, 0);
        assert_eq!(c.server.domain, None);
        assert_eq!(c.server.tls, None);
        assert_eq!(c.catalog.path, PathBuf::from("./data/catalog"));
        assert_eq!(
            c.backends,
            vec![BackendConfig {
                name: "a".into(),
                kind: BackendKind::Local {
                    path: PathBuf::from("./data/a")
                },
                quota_bytes: None,
                usage_limits: Default::default(),
            }]
        );
        assert_eq!(c.buckets[0].name, "myapp");
        assert_eq!(c.buckets[0].credentials[0].access_key_id, "AK");
        assert_eq!(c.buckets[0].credentials[0].secret_access_key.expose(), "SK");
    }

    #[test]
    fn empty_sections_take_defaults() {
        let c = parse(&with(
            "replication:\nbackend_circuit_breaker:\nserver:\ncatalog:\nrouting_strategy:\n",
        ))
        .unwrap();
        assert_eq!(c.replication, ReplicationConfig::default());
        assert_eq!(c.server, ServerConfig::default());
        assert_eq!(c.catalog, CatalogConfig::default());
    }

    #[test]
    fn s3_backend_fields() {
        let c = parse(&s3_with("")).unwrap();
        let b = &c.backends[0];
        assert_eq!(b.name, "oci");
        assert_eq!(b.quota_bytes, Some(10_737_418_240));
        match &b.kind {
            BackendKind::S3 {
                endpoint,
                region,
                bucket,
                access_key_id,
                secret_access_key,
                path_style,
            } => {
                assert!(endpoint.scheme_https);
                assert_eq!(endpoint.host, "objectstorage.us-ashburn-1.oraclecloud.com");
                assert_eq!(endpoint.port, 443);
                assert_eq!(region, "us-ashburn-1");
                assert_eq!(bucket, "primary-bucket");
                assert_eq!(access_key_id, "<oci-access-key>");
                assert_eq!(secret_access_key.expose(), "<oci-secret-key>");
                assert!(*path_style);
            }
            other => panic!("{other:?}"),
        }
        match &c.backends[1].kind {
            BackendKind::S3 { region, .. } => assert_eq!(region, "us-east-1"),
            other => panic!("{other:?}"),
        }
        assert_eq!(c.backends[1].quota_bytes, None);
    }

    #[test]
    fn full_settings() {
        let c = parse(&with(
            "\
routing_strategy: pack
replication:
  factor: 1
  unhealthy_threshold: 30s
backend_circuit_breaker:
  enabled: true
server:
  listen_addr: \":9000\"
  admin_addr: 127.0.0.1:9999
  shards: 4
  domain: S3.Example.com
  tls:
    cert_file: /etc/cert.pem
    key_file: /etc/key.pem
catalog:
  path: /var/lib/s3o
",
        ))
        .unwrap();
        assert_eq!(c.routing_strategy, RoutingStrategy::Pack);
        assert_eq!(c.replication.unhealthy_threshold, Duration::from_secs(30));
        assert!(c.backend_circuit_breaker.enabled);
        assert_eq!(
            c.server.listen_addr,
            "0.0.0.0:9000".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(c.server.admin_addr.port(), 9999);
        assert_eq!(c.server.shards, 4);
        assert_eq!(c.server.domain.as_deref(), Some("s3.example.com"));
        assert_eq!(
            c.server.tls,
            Some(TlsConfig {
                cert_file: "/etc/cert.pem".into(),
                key_file: "/etc/key.pem".into()
            })
        );
        assert_eq!(c.catalog.path, PathBuf::from("/var/lib/s3o"));
        assert!(c.backend("a").is_some());
        assert!(c.bucket("myapp").is_some());
        assert!(c.bucket("other").is_none());
    }

    #[test]
    fn unknown_key_names_line_column_and_path() {
        let text = s3_with("    quota_byte: 5\n");
        // Line 14 is `    quota_byte: 5`, inside backends[1].
        let msg = err(&text);
        assert!(
            msg.starts_with(
                "config/x.yaml:14:5: backends[1]: unknown field `quota_byte`, expected one of"
            ),
            "{msg}"
        );
        assert_err("bogus: 1\nbackends: []\n", 1, "", "unknown field `bogus`");
        assert_err(
            &with("server:\n  listen: x\n"),
            10,
            "server",
            "unknown field `listen`",
        );
    }

    #[test]
    fn top_level_unknown_key_has_no_path() {
        let msg = err("backend:\n  - name: a\n");
        assert!(
            msg.starts_with("config/x.yaml:1:1: unknown field `backend`"),
            "{msg}"
        );
    }

    #[test]
    fn syntax_errors_have_positions() {
        let msg = err("backends:\n  - name: a\n x: [\n");
        assert!(msg.starts_with("config/x.yaml:3:2: "), "{msg}");
        let msg = err("backends: [\n");
        assert!(msg.starts_with("config/x.yaml:2:1: "), "{msg}");
        // A scalar where a list is expected.
        assert_err("backends: 5\n", 1, "backends", "invalid type");
        // A list where a scalar is expected.
        assert_err(
            &with("replication:\n  factor: [1]\n"),
            10,
            "replication.factor",
            "expected a single value",
        );
        // Not a mapping at all.
        let msg = err("- a\n- b\n");
        assert!(
            msg.contains("expected a mapping of configuration sections"),
            "{msg}"
        );
    }

    #[test]
    fn duplicate_keys_are_located() {
        assert_err(
            &with("catalog:\n  path: a\ncatalog:\n  path: b\n"),
            11,
            "",
            "duplicate field `catalog`",
        );
        assert_err(
            "backends:\n  - name: a\n    name: b\n",
            2,
            "backends[0]",
            "duplicate field `name`",
        );
    }

    #[test]
    fn negative_quota() {
        let text = MINIMAL.replace(
            "    path: ./data/a\n",
            "    path: ./data/a\n    quota_bytes: -5\n",
        );
        assert_err(&text, 4, "backends[0].quota_bytes", "must not be negative");
        let text = MINIMAL.replace(
            "    path: ./data/a\n",
            "    path: ./data/a\n    quota_bytes: lots\n",
        );
        assert_err(
            &text,
            4,
            "backends[0].quota_bytes",
            "expected a non-negative integer",
        );
        let text = MINIMAL.replace(
            "    path: ./data/a\n",
            "    path: ./data/a\n    quota_bytes: 1.5\n",
        );
        assert_err(
            &text,
            4,
            "backends[0].quota_bytes",
            "expected a non-negative integer",
        );
    }

    #[test]
    fn zero_quota_means_unlimited() {
        let text = MINIMAL.replace(
            "    path: ./data/a\n",
            "    path: ./data/a\n    quota_bytes: 0\n",
        );
        assert_eq!(parse(&text).unwrap().backends[0].quota_bytes, None);
    }

    #[test]
    fn replication_factor_bounds() {
        assert_err(
            &with("replication:\n  factor: 0\n"),
            10,
            "replication.factor",
            "at least 1",
        );
        assert_err(
            &with("replication:\n  factor: 2\n"),
            10,
            "replication.factor",
            "only 1 backends",
        );
        let c = parse(&s3_with("replication:\n  factor: 2\n")).unwrap();
        assert_eq!(c.replication.factor, 2);
    }

    #[test]
    fn durations() {
        for (text, want) in [
            ("10m", 600_000),
            ("30s", 30_000),
            ("1h", 3_600_000),
            ("500ms", 500),
        ] {
            let c = parse(&with(&format!(
                "replication:\n  unhealthy_threshold: {text}\n"
            )))
            .unwrap();
            assert_eq!(
                c.replication.unhealthy_threshold,
                Duration::from_millis(want)
            );
        }
        assert_err(
            &with("replication:\n  unhealthy_threshold: 600\n"),
            10,
            "replication.unhealthy_threshold",
            "has no unit",
        );
        assert_err(
            &with("replication:\n  unhealthy_threshold: 10 minutes\n"),
            10,
            "replication.unhealthy_threshold",
            "unknown duration unit",
        );
        assert_err(
            &with("replication:\n  unhealthy_threshold: 0s\n"),
            10,
            "replication.unhealthy_threshold",
            "greater than zero",
        );
    }

    #[test]
    fn unknown_strategy() {
        assert_err(
            &with("routing_strategy: random\n"),
            9,
            "routing_strategy",
            "unknown routing strategy `random`, expected `spread` or `pack`",
        );
    }

    #[test]
    fn duplicate_backend_names() {
        let text = with("").replace(
            "backends:\n  - name: a\n    path: ./data/a\n",
            "backends:\n  - name: a\n    path: ./data/a\n  - name: a\n    path: ./data/b\n",
        );
        assert_err(&text, 4, "backends[1].name", "duplicate backend name `a`");
    }

    #[test]
    fn invalid_bucket_names() {
        let text = MINIMAL.replace("name: myapp", "name: My_App");
        assert_err(&text, 5, "buckets[0].name", "invalid bucket name `My_App`");
        let text = MINIMAL.replace("name: myapp", "name: 10.0.0.1");
        assert_err(&text, 5, "buckets[0].name", "IP address");
        let text = MINIMAL.replace("name: myapp", "name: ab");
        assert_err(&text, 5, "buckets[0].name", "3 to 63");
    }

    #[test]
    fn duplicate_bucket_names() {
        let text = with("  - name: myapp\n    credentials:\n      - access_key_id: AK2\n        secret_access_key: S2\n");
        assert_err(&text, 9, "buckets[1].name", "duplicate bucket name `myapp`");
    }

    #[test]
    fn shared_access_key_needs_same_secret() {
        let two = |secret: &str| {
            with(&format!("  - name: other\n    credentials:\n      - access_key_id: AK\n        secret_access_key: {secret}\n"))
        };
        let c = parse(&two("SK")).unwrap();
        assert_eq!(c.buckets.len(), 2);
        let msg = err(&two("S2"));
        assert!(
            msg.starts_with("config/x.yaml:12:9: buckets[1].credentials[0].secret_access_key: access key id `AK` is also used at buckets[0].credentials[0].secret_access_key with a different secret_access_key"),
            "{msg}"
        );
        assert!(!msg.contains("S2"), "secret leaked: {msg}");
        let twice =
            MINIMAL.to_owned() + "      - access_key_id: AK\n        secret_access_key: SK\n";
        assert_err(
            &twice,
            9,
            "buckets[0].credentials[1].access_key_id",
            "listed twice",
        );
    }

    #[test]
    fn bad_urls() {
        let text = s3_with("").replace("https://account.r2", "ftp://account.r2");
        assert_err(&text, 10, "backends[1].endpoint", "invalid URL `ftp://account.r2.cloudflarestorage.com`: must start with `http://` or `https://`");
        let text = s3_with("").replace(
            "https://account.r2.cloudflarestorage.com",
            "https://<account-id>.r2.cloudflarestorage.com",
        );
        assert_err(&text, 10, "backends[1].endpoint", "invalid URL");
        let text = s3_with("").replace(
            "https://account.r2.cloudflarestorage.com",
            "https://x.com:70000",
        );
        assert_err(&text, 10, "backends[1].endpoint", "not a valid port");
    }

    #[test]
    fn ui_and_logging_sections() {
        let c = parse(MINIMAL).unwrap();
        assert!(!c.ui.enabled);
        assert!(!c.ui.has_credentials());
        assert_eq!(
            c.logging.access_log_level,
            crate::config::AccessLogLevel::Debug
        );
        let c = parse(&with(
            "ui:\n  enabled: true\n  admin_key: admin\n  admin_secret: \"s3cret-pass\"\n  admin_token: tok\nlogging:\n  access_log_level: info\n",
        ))
        .unwrap();
        assert!(c.ui.enabled);
        assert_eq!(c.ui.admin_key.as_deref(), Some("admin"));
        assert_eq!(c.ui.admin_secret.as_ref().unwrap().expose(), "s3cret-pass");
        assert_eq!(c.ui.admin_token.as_ref().unwrap().expose(), "tok");
        assert_eq!(
            c.logging.access_log_level,
            crate::config::AccessLogLevel::Info
        );
        // The secret never appears in Debug output.
        assert!(!format!("{c:?}").contains("s3cret-pass"));
    }

    #[test]
    fn ui_and_logging_errors() {
        assert_err(
            &with("ui:\n  enabled: true\n"),
            10,
            "ui.enabled",
            "needs ui.admin_key and ui.admin_secret",
        );
        assert_err(
            &with("ui:\n  admin_key: admin\n"),
            9,
            "ui.admin_secret",
            "go together",
        );
        assert_err(
            &with("ui:\n  admin_secret: pw\n"),
            9,
            "ui.admin_key",
            "go together",
        );
        assert_err(
            &with("ui:\n  admin_key: admin\n  admin_secret: 1234\n"),
            11,
            "ui.admin_secret",
            "put the secret in quotes",
        );
        assert_err(
            &with("logging:\n  access_log_level: loud\n"),
            10,
            "logging.access_log_level",
            "expected one of off, error, warn, info, debug, trace",
        );
        assert_err(
            &with("ui:\n  colour: red\n"),
            10,
            "ui",
            "unknown field `colour`",
        );
    }

    #[test]
    fn missing_required_keys() {
        // Line 9 is `  - name: r2`: a missing key is reported at its mapping.
        let text = s3_with("").replace(
            "    bucket: primary-bucket\n    access_key_id: r2key\n",
            "    access_key_id: r2key\n",
        );
        assert_err(&text, 9, "backends[1].bucket", "missing required key");
        let text = MINIMAL.replace("  - name: a\n    path: ./data/a\n", "  - path: ./data/a\n");
        assert_err(&text, 2, "backends[0].name", "missing required key");
        let text = MINIMAL.replace("    path: ./data/a\n", "");
        assert_err(&text, 2, "backends[0]", "needs `endpoint`");
        let msg = err("buckets:\n  - name: myapp\n");
        assert!(
            msg.contains("config/x.yaml: backends: at least one backend is required"),
            "{msg}"
        );
        assert!(
            msg.contains(
                "config/x.yaml:2:3: buckets[0].credentials: at least one credential is required"
            ),
            "{msg}"
        );
        assert_err(
            &with("server:\n  tls:\n    cert_file: c.pem\n"),
            10,
            "server.tls.key_file",
            "missing required key",
        );
    }

    #[test]
    fn numeric_secret_is_not_echoed() {
        let text = MINIMAL.replace("secret_access_key: SK", "secret_access_key: 98765");
        assert_err(
            &text,
            8,
            "buckets[0].credentials[0].secret_access_key",
            "put the secret in quotes",
        );
        assert!(!err(&text).contains("98765"));
        let text = MINIMAL.replace("secret_access_key: SK", "secret_access_key: \"98765\"");
        let c = parse(&text).unwrap();
        assert_eq!(
            c.buckets[0].credentials[0].secret_access_key.expose(),
            "98765"
        );
    }

    #[test]
    fn empty_secret() {
        let text = MINIMAL.replace("secret_access_key: SK", "secret_access_key: \"\"");
        assert_err(
            &text,
            8,
            "buckets[0].credentials[0].secret_access_key",
            "must not be empty",
        );
        let text = s3_with("").replace("secret_access_key: r2secret", "secret_access_key:");
        assert_err(&text, 13, "backends[1].secret_access_key", "has no value");
        let text = s3_with("").replace("secret_access_key: r2secret", "secret_access_key: ~");
        assert_err(&text, 13, "backends[1].secret_access_key", "has no value");
    }

    #[test]
    fn endpoint_and_path_are_exclusive() {
        let text = MINIMAL.replace(
            "    path: ./data/a\n",
            "    path: ./data/a\n    endpoint: http://x\n",
        );
        assert_err(&text, 3, "backends[0].path", "cannot be combined");
        let text = MINIMAL.replace(
            "    path: ./data/a\n",
            "    path: ./data/a\n    region: eu\n    bucket: b\n",
        );
        assert_err(
            &text,
            4,
            "backends[0].region",
            "applies only to S3 backends",
        );
        assert_err(
            &text,
            5,
            "backends[0].bucket",
            "applies only to S3 backends",
        );
    }

    #[test]
    fn wrong_scalar_types() {
        let text = MINIMAL.replace("access_key_id: AK", "access_key_id: 12345");
        assert_err(
            &text,
            7,
            "buckets[0].credentials[0].access_key_id",
            "expected a string, found the integer `12345`",
        );
        assert_err(
            &with("backend_circuit_breaker:\n  enabled: yes\n"),
            10,
            "backend_circuit_breaker.enabled",
            "expected `true` or `false`, found `yes`",
        );
        assert_err(
            &with("server:\n  shards: 999\n"),
            10,
            "server.shards",
            "at most 256",
        );
        assert_err(
            &with("server:\n  listen_addr: localhost:9000\n"),
            10,
            "server.listen_addr",
            "invalid address",
        );
        assert_err(
            &with("server:\n  listen_addr: 9000\n"),
            10,
            "server.listen_addr",
            "expected an address",
        );
        assert_err(
            &with("server:\n  admin_addr: 0.0.0.0:9000\n"),
            10,
            "server.admin_addr",
            "share a port",
        );
        assert_err(
            &with("server:\n  domain: s3.example.com:9000\n"),
            10,
            "server.domain",
            "invalid domain",
        );
    }

    #[test]
    fn path_style_and_virtual_hosted_backend_buckets() {
        let c = parse(&s3_with("    force_path_style: false\n")).unwrap();
        match &c.backends[1].kind {
            BackendKind::S3 { path_style, .. } => assert!(!path_style),
            other => panic!("{other:?}"),
        }
        let text = s3_with("    force_path_style: false\n").replace(
            "bucket: primary-bucket\n    access_key_id: r2key",
            "bucket: Primary_Bucket\n    access_key_id: r2key",
        );
        assert_err(&text, 11, "backends[1].bucket", "force_path_style: false");
        // Path style tolerates provider-specific names such as OCI's.
        let text = s3_with("").replace(
            "bucket: primary-bucket\n    access_key_id: r2key",
            "bucket: Primary_Bucket\n    access_key_id: r2key",
        );
        assert!(parse(&text).is_ok());
    }

    #[test]
    fn all_problems_are_reported_in_file_order() {
        let text = "\
routing_strategy: random
backends:
  - name: a
    path: ./a
    quota_bytes: -1
buckets:
  - name: BAD
    credentials:
      - access_key_id: AK
        secret_access_key: \"\"
";
        let e = parse(text).unwrap_err();
        assert_eq!(e.kind(), ConfigErrorKind::Invalid);
        let lines: Vec<Option<usize>> = e.diagnostics().iter().map(|d| d.line).collect();
        assert_eq!(lines, vec![Some(1), Some(5), Some(7), Some(10)]);
        assert_eq!(e.diagnostics()[1].key_path, "backends[0].quota_bytes");
        assert_eq!(e.diagnostics()[1].column, Some(5));
    }

    #[test]
    fn diagnostics_are_capped() {
        let mut text = String::from("backends:\n");
        for i in 0..60 {
            text.push_str(&format!("  - name: \"b {i}\"\n    path: x\n"));
        }
        text.push_str("buckets:\n  - name: myapp\n    credentials:\n      - access_key_id: AK\n        secret_access_key: SK\n");
        let e = parse(&text).unwrap_err();
        assert_eq!(e.diagnostics().len(), MAX_DIAGNOSTICS + 1);
        assert!(e.to_string().ends_with("... and 10 more problems"));
    }

    #[test]
    fn env_expansion() {
        let text = s3_with("    quota_bytes: ${QUOTA}\n")
            .replace("\"<oci-access-key>\"", "${OCI_ACCESS_KEY}")
            .replace("\"<oci-secret-key>\"", "\"${OCI_SECRET_KEY}\"")
            + "server:\n  listen_addr: ${LISTEN}\n  admin_addr: \"$${NOT_EXPANDED}\"\n";
        // `$${` yields a literal `${`, which is then not a valid address: proves no expansion happened.
        let e = parse_str(&text, "config/x.yaml", &test_env)
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid address `${NOT_EXPANDED}`"), "{e}");
        let text = text.replace("  admin_addr: \"$${NOT_EXPANDED}\"\n", "");
        let c = parse_str(&text, "config/x.yaml", &test_env).unwrap();
        match &c.backends[0].kind {
            BackendKind::S3 {
                access_key_id,
                secret_access_key,
                ..
            } => {
                assert_eq!(access_key_id, "AKIAOCI");
                // YAML-significant characters in a value stay text.
                assert_eq!(secret_access_key.expose(), "s3cr3t#with: yaml-ish chars");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.backends[1].quota_bytes, Some(1024));
        assert_eq!(c.server.listen_addr.port(), 9100);
    }

    #[test]
    fn env_errors_name_variable_and_line() {
        let text = MINIMAL.replace(
            "secret_access_key: SK",
            "secret_access_key: ${CLIENT_SECRET}",
        );
        let msg = err(&text);
        assert_eq!(
            msg,
            "config/x.yaml:8:9: buckets[0].credentials[0].secret_access_key: environment variable `CLIENT_SECRET` is not set"
        );
        let text = MINIMAL.replace(
            "    path: ./data/a\n",
            "    path: ./data/a\n    quota_bytes: ${BAD_QUOTA}\n",
        );
        let msg = parse_str(&text, "config/x.yaml", &test_env)
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("config/x.yaml:4:5: backends[0].quota_bytes: must not be negative"),
            "{msg}"
        );
        let text = MINIMAL.replace("secret_access_key: SK", "secret_access_key: ${MULTI}");
        let msg = parse_str(&text, "config/x.yaml", &test_env)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains(":8:9: ") && msg.contains("`MULTI` contains a line break"),
            "{msg}"
        );
        // Comments are never expanded.
        let text = format!("# uses ${{UNSET_IN_COMMENT}}\n{MINIMAL}");
        assert!(parse(&text).is_ok());
    }

    #[test]
    fn real_process_environment() {
        // A name no other test or tool uses; set_var is safe in edition 2021 and Rust serialises
        // environment access.
        std::env::set_var("S3O_CONFIG_TEST_SECRET_7F3A", "from-env");
        let text = MINIMAL.replace(
            "secret_access_key: SK",
            "secret_access_key: ${S3O_CONFIG_TEST_SECRET_7F3A}",
        );
        let c = Config::from_str_named(&text, "t.yaml").unwrap();
        assert_eq!(
            c.buckets[0].credentials[0].secret_access_key.expose(),
            "from-env"
        );
    }

    #[test]
    fn debug_never_prints_secrets() {
        let text = s3_with("")
            .replace("r2secret", "VERY-SECRET-BACKEND")
            .replace("SK", "VERY-SECRET-CLIENT");
        let c = parse(&text).unwrap();
        let dbg = format!("{c:?}");
        let pretty = format!("{c:#?}");
        for d in [&dbg, &pretty] {
            assert!(!d.contains("VERY-SECRET"), "{d}");
            assert!(!d.contains("<oci-secret-key>"), "{d}");
            assert!(d.contains("***"));
            // Non-secret values are still there.
            assert!(d.contains("r2key"));
        }
    }

    #[test]
    fn read_errors() {
        let e = Config::load(Path::new("/nonexistent/dir/x.yaml")).unwrap_err();
        assert_eq!(e.kind(), ConfigErrorKind::Read);
        let msg = e.to_string();
        assert!(
            msg.starts_with("/nonexistent/dir/x.yaml: cannot open: "),
            "{msg}"
        );
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn empty_file() {
        let msg = err("");
        assert!(
            msg.contains("backends: at least one backend is required"),
            "{msg}"
        );
        assert!(
            msg.contains("buckets: at least one virtual bucket is required"),
            "{msg}"
        );
    }

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

    #[test]
    fn every_shipped_config_validates() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let mut seen = 0;
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        entries.sort();
        for path in entries {
            // Without any environment variable: shipped files must not depend on one.
            if let Err(e) = load_file(&path, &no_env) {
                panic!("{e}");
            }
            seen += 1;
        }
        assert!(
            seen >= 2,
            "expected example.yaml and local.yaml in {}",
            dir.display()
        );
    }

    #[test]
    fn shipped_example_matches_the_guide() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/example.yaml");
        let c = load_file(&path, &no_env).unwrap();
        assert_eq!(c.routing_strategy, RoutingStrategy::Spread);
        let names: Vec<&str> = c.backends.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["oci", "r2", "b2"]);
        assert!(c
            .backends
            .iter()
            .all(|b| b.quota_bytes == Some(10_737_418_240)));
        assert_eq!(c.replication.factor, 2);
        assert_eq!(c.buckets[0].name, "myapp");
        assert_eq!(
            c.buckets[0].credentials[0].access_key_id,
            "<client-access-key>"
        );
    }

    #[test]
    fn shipped_local_config_needs_no_cloud() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/local.yaml");
        let c = load_file(&path, &no_env).unwrap();
        assert!(c.backends.len() >= 2);
        assert!(c
            .backends
            .iter()
            .all(|b| matches!(b.kind, BackendKind::Local { .. })));
        assert_eq!(
            c.server.listen_addr,
            "127.0.0.1:9000".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            c.server.admin_addr,
            "127.0.0.1:9001".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(c.catalog.path, PathBuf::from("./data/catalog"));
        assert!(c.bucket("myapp").is_some());
    }

    #[test]
    fn health_keys_defaults_and_values() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.backend_circuit_breaker, CircuitBreakerConfig::default());
        assert!(!c.backend_circuit_breaker.enabled);
        assert_eq!(c.backend_circuit_breaker.failure_threshold, 5);
        assert_eq!(
            c.backend_circuit_breaker.open_timeout,
            std::time::Duration::from_secs(300)
        );
        assert_eq!(c.server.max_concurrent_requests, 1000);
        assert_eq!(c.server.backend_timeout, std::time::Duration::from_secs(30));
        assert!(!c.rate_limit.enabled);
        assert_eq!(
            c.backends[0].usage_limits,
            crate::config::UsageLimits::default()
        );

        let c = parse(
            "\
backends:
  - name: a
    path: ./data/a
    api_request_limit: 1000
    egress_byte_limit: 0
    ingress_byte_limit: \"5000\"
buckets:
  - name: myapp
    credentials:
      - access_key_id: AK
        secret_access_key: SK
backend_circuit_breaker:
  enabled: true
  failure_threshold: 2
  open_timeout: 1500ms
  success_threshold: 3
rate_limit:
  enabled: true
  requests_per_sec: 2.5
  burst: 4
server:
  shards: 2
  max_concurrent_requests: 7
  backend_timeout: 2s
",
        )
        .unwrap();
        let cb = c.backend_circuit_breaker;
        assert!(cb.enabled);
        assert_eq!(cb.failure_threshold, 2);
        assert_eq!(cb.open_timeout, std::time::Duration::from_millis(1500));
        assert_eq!(cb.success_threshold, 3);
        assert_eq!(c.rate_limit.requests_per_sec, 2.5);
        assert_eq!(c.rate_limit.burst, 4);
        assert_eq!(c.server.max_concurrent_requests, 7);
        // 7 over 2 shards: each admits 4 (rounded up).
        assert_eq!(c.server.max_concurrent_per_shard(), 4);
        assert_eq!(c.server.backend_timeout, std::time::Duration::from_secs(2));
        let l = c.backends[0].usage_limits;
        assert_eq!(l.api_requests, Some(1000));
        assert_eq!(l.egress_bytes, None, "0 means unlimited");
        assert_eq!(l.ingress_bytes, Some(5000));
    }

    #[test]
    fn health_keys_are_range_checked() {
        assert_err(
            &with("backend_circuit_breaker:\n  failure_threshold: 0\n"),
            10,
            "backend_circuit_breaker.failure_threshold",
            "at least 1",
        );
        assert_err(
            &with("backend_circuit_breaker:\n  open_timeout: 10ms\n"),
            10,
            "backend_circuit_breaker.open_timeout",
            "between",
        );
        assert_err(
            &with("backend_circuit_breaker:\n  success_threshold: 1000\n"),
            10,
            "backend_circuit_breaker.success_threshold",
            "at most",
        );
        assert_err(
            &with("server:\n  backend_timeout: 1h\n"),
            10,
            "server.backend_timeout",
            "between",
        );
        assert_err(
            &with("server:\n  max_concurrent_requests: -1\n"),
            10,
            "server.max_concurrent_requests",
            "negative",
        );
        assert_err(
            &with("rate_limit:\n  requests_per_sec: 0\n"),
            10,
            "rate_limit.requests_per_sec",
            "positive",
        );
        assert_err(
            &with("backend_circuit_breaker:\n  probe: 1\n"),
            10,
            "backend_circuit_breaker",
            "probe",
        );
    }
}
