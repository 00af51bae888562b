//! Tests of whole configuration texts through `load::parse_str`, by topic: what is accepted, the
//! values that result, and the exact messages (key path, line, column) of what is refused. The
//! helpers below build small files; each submodule covers one config section or one reporting rule.
//! Unit tests of single helpers stay next to them (`locate.rs`, `env.rs`, `validate/names.rs`, ...).

use std::ffi::OsString;

use super::load::parse_str;
use super::{Config, ConfigError};

mod backends;
mod buckets;
mod diagnostics;
mod env;
mod files;
mod health;
mod replication;
mod server;

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
