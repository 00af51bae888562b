//! `routing_strategy` and `backends`: S3 and local backends, names, quotas, endpoint URLs, path style.

use super::*;
use crate::config::BackendConfigKind;

#[test]
fn s3_backend_fields() {
    let c = parse(&s3_with("")).unwrap();
    let b = &c.backends[0];
    assert_eq!(b.name, "oci");
    assert_eq!(b.quota_bytes, Some(10_737_418_240));
    match &b.kind {
        BackendConfigKind::S3 {
            endpoint,
            region,
            bucket,
            access_key_id,
            secret_access_key,
            path_style,
            ca_file,
        } => {
            assert_eq!(ca_file, &None);
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
        BackendConfigKind::S3 { region, .. } => assert_eq!(region, "us-east-1"),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.backends[1].quota_bytes, None);
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
fn path_style_and_virtual_hosted_backend_buckets() {
    let c = parse(&s3_with("    force_path_style: false\n")).unwrap();
    match &c.backends[1].kind {
        BackendConfigKind::S3 { path_style, .. } => assert!(!path_style),
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
fn backend_tls_ca_file() {
    let c = parse(&s3_with(
        "    tls:\n      ca_file: /etc/ssl/private-ca.pem\n",
    ))
    .unwrap();
    match &c.backends[1].kind {
        BackendConfigKind::S3 { ca_file, .. } => assert_eq!(
            ca_file.as_deref(),
            Some(std::path::Path::new("/etc/ssl/private-ca.pem"))
        ),
        other => panic!("{other:?}"),
    }
    assert_err(
        &s3_with("    tls: {}\n"),
        14,
        "backends[1].tls.ca_file",
        "missing required key",
    );
    let local = MINIMAL.replace(
        "    path: ./data/a\n",
        "    path: ./data/a\n    tls:\n      ca_file: ca.pem\n",
    );
    assert_err(&local, 4, "backends[0].tls", "only to S3 backends");
    let plain = s3_with("    tls:\n      ca_file: ca.pem\n")
        .replace("https://account.r2", "http://account.r2");
    assert_err(&plain, 15, "backends[1].tls.ca_file", "`https://` endpoint");
}
