//! `${VAR}` expansion in values: expanded after parsing, errors naming the variable and its line.

use super::*;
use crate::config::BackendConfigKind;

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
        BackendConfigKind::S3 {
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
