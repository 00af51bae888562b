//! How problems are reported: unknown and duplicate keys, YAML syntax errors, values of the wrong
//! type, missing keys, file order and the cap on the number of messages, unreadable files.

use std::path::Path;

use super::*;
use crate::config::diagnose::MAX_DIAGNOSTICS;
use crate::config::ConfigErrorKind;

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
