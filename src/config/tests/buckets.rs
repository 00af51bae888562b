//! `buckets` and their credentials: bucket names, duplicate names and keys, one secret per access key id.

use super::*;

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
    let twice = MINIMAL.to_owned() + "      - access_key_id: AK\n        secret_access_key: SK\n";
    assert_err(
        &twice,
        9,
        "buckets[0].credentials[1].access_key_id",
        "listed twice",
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
