//! Whole files: defaults of an almost empty file, a file setting every section, the shipped
//! `config/*.yaml` files, and `Debug` output that never shows a secret.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;
use crate::config::load::load_file;
use crate::config::{
    BackendConfig, BackendConfigKind, CatalogConfig, ReplicationConfig, RoutingStrategy,
    ServerConfig, TlsConfig,
};

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
            kind: BackendConfigKind::Local {
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
        .all(|b| matches!(b.kind, BackendConfigKind::Local { .. })));
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
