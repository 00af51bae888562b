//! `import` against a real S3 server: the in-process orchestrator of the test harness, whose
//! ListObjectsV2 writes a carriage return as `&#xD;` and `&` as `&amp;`. Keys holding them (and
//! leading/trailing spaces) must reach the importing catalog exactly. The exact reference forms
//! `&#x0D;` / `&#38;` are covered by `import`'s unit test against a fake provider.

mod common;

use common::{TestServer, ALPHA};
use s3_orchestrator::catalog::Catalog;
use s3_orchestrator::config::Config;
use s3_orchestrator::s3::auth::uri_encode;

#[test]
fn keys_with_carriage_returns_and_ampersands_survive_import_from_a_real_server() {
    let server = TestServer::start();
    let keys = ["a\rb", "x&y", " sp ace ", "d/\u{1F600}\r\n"];
    for (i, key) in keys.iter().enumerate() {
        let path = format!("/alpha/{}", uri_encode(key, true));
        server.put_ok(&path, &vec![b'x'; i + 1]);
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let yaml = format!(
        r#"backends:
  - name: orchestrator
    endpoint: http://{addr}
    region: us-east-1
    bucket: alpha
    access_key_id: {ak}
    secret_access_key: {sk}
replication:
  factor: 1
buckets:
  - name: adopted
    credentials:
      - access_key_id: AKIDADOPTED
        secret_access_key: adopted-secret
catalog:
  path: {catalog}
"#,
        addr = server.addr,
        ak = ALPHA.access_key,
        sk = ALPHA.secret,
        catalog = dir.path().join("catalog").display(),
    );
    let cfg = Config::from_str_named(&yaml, "import-test").expect("config");
    let (adopted, skipped) =
        s3_orchestrator::import::run(&cfg, "orchestrator", "adopted", "").expect("import");
    assert_eq!((adopted, skipped), (keys.len() as u64, 0));

    let catalog = Catalog::open(&cfg.catalog.path).expect("catalog");
    let mut got: Vec<(String, String, u64)> = catalog
        .scan_objects(None, 100)
        .expect("scan")
        .into_iter()
        .map(|(bucket, key, rec)| {
            assert_eq!(bucket, "adopted");
            let backend_key = rec
                .copies
                .first()
                .map(|c| c.backend_key.clone())
                .unwrap_or_default();
            (key, backend_key, rec.size)
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, String, u64)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.to_string(), k.to_string(), i as u64 + 1))
        .collect();
    want.sort();
    assert_eq!(got, want);
}
