//! Per-credential permissions and admin credentials, through the real server (in-process,
//! loopback, local-directory backend), signed with the crate's own client-side SigV4.
//!
//! The heart of it is the operation × permission matrix: every operation the router knows, for a
//! credential holding each single permission, the default set, and admin credentials. The expected
//! outcome of every cell is written here from the meaning of the permissions (read = get/head an
//! object or a bucket's settings, list = any listing, write = create content, delete = remove
//! objects, admin = remove the bucket itself; creating a bucket takes an admin credential), not
//! derived from the server's own table. An allowed request must really succeed (its exact success
//! status), a refused one must be `403 AccessDenied` and leave no trace.

// Helpers outside #[test] functions fail loudly too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use md5::{Digest, Md5};
use s3_orchestrator::s3::router::{route, S3Operation};
use std::cell::Cell;

/// Single-permission credentials of `alpha`, and the default-permission one (`ALPHA`).
const R: Cred = Cred {
    access_key: "AKIDREADONLY",
    secret: "secret-read-only",
};
const W: Cred = Cred {
    access_key: "AKIDWRITEONLY",
    secret: "secret-write-only",
};
const L: Cred = Cred {
    access_key: "AKIDLISTONLY",
    secret: "secret-list-only",
};
const D: Cred = Cred {
    access_key: "AKIDDELETEONLY",
    secret: "secret-delete-only",
};
const A: Cred = Cred {
    access_key: "AKIDBUCKETADMIN",
    secret: "secret-bucket-admin",
};
/// Default permissions in both `alpha` and `beta`.
const TWO: Cred = Cred {
    access_key: "AKIDTWOBUCKETS",
    secret: "secret-two-buckets",
};
/// `read` in `alpha`, `write` in `beta`.
const MIX: Cred = Cred {
    access_key: "AKIDMIXED",
    secret: "secret-mixed",
};
/// Top-level admin credentials.
const ADM1: Cred = Cred {
    access_key: "AKIDADMINONE",
    secret: "secret-admin-one",
};
const ADM2: Cred = Cred {
    access_key: "AKIDADMINTWO",
    secret: "secret-admin-two",
};

fn cred_yaml(c: Cred, perms: Option<&str>) -> String {
    let mut s = format!(
        "      - access_key_id: {}\n        secret_access_key: {}\n",
        c.access_key, c.secret
    );
    if let Some(p) = perms {
        s.push_str(&format!("        permissions: [{p}]\n"));
    }
    s
}

fn permissions_config(dir: &std::path::Path) -> String {
    let d = dir.display();
    let mut alpha = String::new();
    for (c, p) in [
        (ALPHA, None),
        (R, Some("read")),
        (W, Some("write")),
        (L, Some("list")),
        (D, Some("delete")),
        (A, Some("admin")),
        (TWO, None),
        (MIX, Some("read")),
    ] {
        alpha.push_str(&cred_yaml(c, p));
    }
    let mut beta = String::new();
    for (c, p) in [(BETA, None), (TWO, None), (MIX, Some("write"))] {
        beta.push_str(&cred_yaml(c, p));
    }
    format!(
        r#"routing_strategy: spread
backends:
  - name: disk
    path: {d}/disk
replication:
  factor: 1
admin_credentials:
  - access_key_id: {a1}
    secret_access_key: {s1}
  - access_key_id: {a2}
    secret_access_key: {s2}
buckets:
  - name: alpha
    credentials:
{alpha}  - name: beta
    credentials:
{beta}server:
  listen_addr: 127.0.0.1:0
  admin_addr: 127.0.0.1:0
  shards: 1
catalog:
  path: {d}/catalog
"#,
        a1 = ADM1.access_key,
        s1 = ADM1.secret,
        a2 = ADM2.access_key,
        s2 = ADM2.secret,
    )
}

fn start() -> TestServer {
    TestServer::start_yaml(permissions_config)
}

/// Every operation of [`S3Operation`]. [`op_index`] has an arm per variant and no wildcard, so a
/// new operation does not compile until it is placed here (and so given a row in the matrix).
const ALL_OPS: [S3Operation; 28] = {
    use S3Operation::*;
    [
        ListBuckets,
        CreateBucket,
        DeleteBucket,
        HeadBucket,
        GetBucketLocation,
        GetBucketVersioning,
        GetBucketAcl,
        GetBucketPolicy,
        GetBucketLifecycleConfiguration,
        GetBucketEncryption,
        GetBucketCors,
        ListObjects,
        ListObjectsV2,
        ListObjectVersions,
        ListMultipartUploads,
        DeleteObjects,
        PutObject,
        CopyObject,
        GetObject,
        HeadObject,
        DeleteObject,
        GetObjectAcl,
        CreateMultipartUpload,
        UploadPart,
        UploadPartCopy,
        CompleteMultipartUpload,
        AbortMultipartUpload,
        ListParts,
    ]
};

fn op_index(op: S3Operation) -> usize {
    use S3Operation::*;
    match op {
        ListBuckets => 0,
        CreateBucket => 1,
        DeleteBucket => 2,
        HeadBucket => 3,
        GetBucketLocation => 4,
        GetBucketVersioning => 5,
        GetBucketAcl => 6,
        GetBucketPolicy => 7,
        GetBucketLifecycleConfiguration => 8,
        GetBucketEncryption => 9,
        GetBucketCors => 10,
        ListObjects => 11,
        ListObjectsV2 => 12,
        ListObjectVersions => 13,
        ListMultipartUploads => 14,
        DeleteObjects => 15,
        PutObject => 16,
        CopyObject => 17,
        GetObject => 18,
        HeadObject => 19,
        DeleteObject => 20,
        GetObjectAcl => 21,
        CreateMultipartUpload => 22,
        UploadPart => 23,
        UploadPartCopy => 24,
        CompleteMultipartUpload => 25,
        AbortMultipartUpload => 26,
        ListParts => 27,
    }
}

/// A permission, as the config names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum P {
    Read,
    Write,
    List,
    Delete,
    Admin,
}

/// What an operation needs.
enum Needs {
    /// Nothing bucket-specific: any valid credential (ListBuckets answers with its own buckets).
    Anyone,
    /// An admin credential (`admin_credentials`).
    AdminCredential,
    /// All of these permissions in the bucket.
    All(&'static [P]),
    /// Any permission at all in the bucket.
    AnyGrant,
    /// `admin` in the bucket, and the bucket must be one created through the API: a configured
    /// bucket is the config's to remove, whoever asks.
    BucketAdminOfApiBucket,
}

/// The expected table, from the meaning of the permissions.
fn needs(op: S3Operation) -> Needs {
    use S3Operation::*;
    use P::*;
    match op {
        ListBuckets => Needs::Anyone,
        CreateBucket => Needs::AdminCredential,
        DeleteBucket => Needs::BucketAdminOfApiBucket,
        // The existence probe: whatever the credential may do in the bucket.
        HeadBucket => Needs::AnyGrant,
        // Reading a bucket's settings or an object's data, metadata or ACL.
        GetBucketLocation
        | GetBucketVersioning
        | GetBucketAcl
        | GetBucketPolicy
        | GetBucketLifecycleConfiguration
        | GetBucketEncryption
        | GetBucketCors
        | GetObject
        | HeadObject
        | GetObjectAcl => Needs::All(&[Read]),
        // Any enumeration: objects, versions, uploads, parts.
        ListObjects | ListObjectsV2 | ListObjectVersions | ListMultipartUploads | ListParts => {
            Needs::All(&[List])
        }
        // Creating content.
        PutObject
        | CreateMultipartUpload
        | UploadPart
        | CompleteMultipartUpload
        | AbortMultipartUpload => Needs::All(&[Write]),
        // A copy writes the destination and reads the source (here: in the same bucket).
        CopyObject | UploadPartCopy => Needs::All(&[Write, Read]),
        DeleteObject | DeleteObjects => Needs::All(&[Delete]),
    }
}

/// One column of the matrix: a credential used on a bucket.
struct Column {
    name: &'static str,
    cred: Cred,
    bucket: String,
    /// What the credential holds in `bucket`.
    granted: &'static [P],
    admin_credential: bool,
    api_bucket: bool,
    /// A credential with every permission there, for setting up fixtures.
    owner: Cred,
}

impl Column {
    fn allowed(&self, op: S3Operation) -> bool {
        match needs(op) {
            Needs::Anyone => true,
            Needs::AdminCredential => self.admin_credential,
            Needs::All(ps) => ps.iter().all(|p| self.granted.contains(p)),
            Needs::AnyGrant => !self.granted.is_empty(),
            Needs::BucketAdminOfApiBucket => self.api_bucket && self.granted.contains(&P::Admin),
        }
    }
}

const DEFAULT: &[P] = &[P::Read, P::Write, P::List, P::Delete];
const EVERYTHING: &[P] = &[P::Read, P::Write, P::List, P::Delete, P::Admin];

/// The object every read/copy cell reads.
const FIXTURE: &str = "fixture";
const FIXTURE_BODY: &[u8] = b"fixture body, 32 bytes long ....";

/// What an allowed request answers.
enum Success {
    Status(u16),
    /// An S3 error that is the operation's real answer (the "not configured" 404s).
    Error(u16, &'static str),
}

/// The state change a cell's request makes when allowed, and must not make when refused.
enum Effect {
    None,
    /// The object at this path comes into existence.
    ObjectCreated(String),
    /// The object at this path goes away.
    ObjectDeleted(String),
    /// A bucket of this name is created.
    BucketCreated(String),
    /// The bucket of this name is removed.
    BucketDeleted(String),
    /// The multipart upload (bucket, id) is aborted.
    UploadAborted(String, String),
}

/// Builds and runs the cells of the matrix on one server.
struct Matrix<'a> {
    srv: &'a TestServer,
    seq: Cell<u32>,
}

impl Matrix<'_> {
    fn unique(&self, what: &str) -> String {
        let n = self.seq.get();
        self.seq.set(n + 1);
        format!("{what}-{n}")
    }

    fn as_owner(&self, col: &Column, req: Req) -> Response {
        let mut req = req;
        req.cred = Some(col.owner);
        self.srv.send(&req)
    }

    fn owner_put(&self, col: &Column, key: &str, body: &[u8]) {
        let r = self.srv.send(
            &self
                .srv
                .signed(col.owner, "PUT", &format!("/{}/{key}", col.bucket))
                .body_sha256(body),
        );
        assert_eq!(r.status, 200, "setup PUT {key}: {}", r.body_text());
    }

    /// Starts a multipart upload as the owner; returns its id.
    fn owner_upload(&self, col: &Column, key: &str) -> String {
        let r = self.srv.send(
            &self
                .srv
                .signed(col.owner, "POST", &format!("/{}/{key}", col.bucket))
                .query("uploads", ""),
        );
        assert_eq!(
            r.status,
            200,
            "setup CreateMultipartUpload: {}",
            r.body_text()
        );
        r.xml_tag("UploadId").expect("UploadId")
    }

    /// Uploads part 1 as the owner; returns its ETag.
    fn owner_part(&self, col: &Column, key: &str, upload: &str, body: &[u8]) -> String {
        let r = self.srv.send(
            &self
                .srv
                .signed(col.owner, "PUT", &format!("/{}/{key}", col.bucket))
                .query("partNumber", "1")
                .query("uploadId", upload)
                .body_sha256(body),
        );
        assert_eq!(r.status, 200, "setup UploadPart: {}", r.body_text());
        r.header("etag").expect("part ETag").to_owned()
    }

    /// The request for `op` in `col` (fixtures set up as the owner), what success looks like and
    /// the state change it makes.
    fn case(&self, op: S3Operation, col: &Column) -> (Req, Success, Effect) {
        use S3Operation::*;
        let b = col.bucket.as_str();
        let key = format!("m/{}/{}", col.name, self.unique("k"));
        let obj = format!("/{b}/{key}");
        let fixture = format!("/{b}/{FIXTURE}");
        let req = |m: &str, p: &str| self.srv.signed(col.cred, m, p);
        let bucket_get = |sub: &str| req("GET", &format!("/{b}")).query(sub, "");
        let ok = Success::Status(200);
        match op {
            ListBuckets => (req("GET", "/"), ok, Effect::None),
            CreateBucket => {
                let name = self.unique(&format!("new-{}", col.name.to_ascii_lowercase()));
                (
                    req("PUT", &format!("/{name}")),
                    ok,
                    Effect::BucketCreated(name),
                )
            }
            DeleteBucket => {
                let name = if col.api_bucket {
                    // A fresh empty bucket of the same owner (the column's own holds fixtures).
                    let name = self.unique("del");
                    let r = self
                        .srv
                        .send(&self.srv.signed(col.owner, "PUT", &format!("/{name}")));
                    assert_eq!(r.status, 200, "setup CreateBucket: {}", r.body_text());
                    name
                } else {
                    b.to_owned()
                };
                (
                    req("DELETE", &format!("/{name}")),
                    Success::Status(204),
                    Effect::BucketDeleted(name),
                )
            }
            HeadBucket => (req("HEAD", &format!("/{b}")), ok, Effect::None),
            GetBucketLocation => (bucket_get("location"), ok, Effect::None),
            GetBucketVersioning => (bucket_get("versioning"), ok, Effect::None),
            GetBucketAcl => (bucket_get("acl"), ok, Effect::None),
            GetBucketPolicy => (
                bucket_get("policy"),
                Success::Error(404, "NoSuchBucketPolicy"),
                Effect::None,
            ),
            GetBucketLifecycleConfiguration => (
                bucket_get("lifecycle"),
                Success::Error(404, "NoSuchLifecycleConfiguration"),
                Effect::None,
            ),
            GetBucketEncryption => (
                bucket_get("encryption"),
                Success::Error(404, "ServerSideEncryptionConfigurationNotFoundError"),
                Effect::None,
            ),
            GetBucketCors => (
                bucket_get("cors"),
                Success::Error(404, "NoSuchCORSConfiguration"),
                Effect::None,
            ),
            ListObjects => (
                req("GET", &format!("/{b}")).query("prefix", "m/"),
                ok,
                Effect::None,
            ),
            ListObjectsV2 => (
                req("GET", &format!("/{b}"))
                    .query("list-type", "2")
                    .query("prefix", "m/"),
                ok,
                Effect::None,
            ),
            ListObjectVersions => (bucket_get("versions"), ok, Effect::None),
            ListMultipartUploads => (bucket_get("uploads"), ok, Effect::None),
            DeleteObjects => {
                self.owner_put(col, &key, b"to be deleted in bulk");
                let doc = format!("<Delete><Object><Key>{key}</Key></Object></Delete>");
                let md5 = b64(&Md5::digest(doc.as_bytes()));
                (
                    req("POST", &format!("/{b}"))
                        .query("delete", "")
                        .header("content-md5", &md5)
                        .body_sha256(doc.as_bytes()),
                    ok,
                    Effect::ObjectDeleted(obj),
                )
            }
            PutObject => (
                req("PUT", &obj).body_sha256(b"cell body"),
                ok,
                Effect::ObjectCreated(obj),
            ),
            CopyObject => (
                req("PUT", &obj).header("x-amz-copy-source", &fixture),
                ok,
                Effect::ObjectCreated(obj),
            ),
            GetObject => (req("GET", &fixture), ok, Effect::None),
            HeadObject => (req("HEAD", &fixture), ok, Effect::None),
            DeleteObject => {
                self.owner_put(col, &key, b"to be deleted");
                (
                    req("DELETE", &obj),
                    Success::Status(204),
                    Effect::ObjectDeleted(obj),
                )
            }
            GetObjectAcl => (req("GET", &fixture).query("acl", ""), ok, Effect::None),
            CreateMultipartUpload => (req("POST", &obj).query("uploads", ""), ok, Effect::None),
            UploadPart => {
                let up = self.owner_upload(col, &key);
                (
                    req("PUT", &obj)
                        .query("partNumber", "1")
                        .query("uploadId", &up)
                        .body_sha256(b"part one"),
                    ok,
                    Effect::None,
                )
            }
            UploadPartCopy => {
                let up = self.owner_upload(col, &key);
                (
                    req("PUT", &obj)
                        .query("partNumber", "1")
                        .query("uploadId", &up)
                        .header("x-amz-copy-source", &fixture),
                    ok,
                    Effect::None,
                )
            }
            CompleteMultipartUpload => {
                let up = self.owner_upload(col, &key);
                let etag = self.owner_part(col, &key, &up, b"the only part");
                let doc = format!(
                    "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
                );
                (
                    req("POST", &obj)
                        .query("uploadId", &up)
                        .body_sha256(doc.as_bytes()),
                    ok,
                    Effect::ObjectCreated(obj),
                )
            }
            AbortMultipartUpload => {
                let up = self.owner_upload(col, &key);
                (
                    req("DELETE", &obj).query("uploadId", &up),
                    Success::Status(204),
                    Effect::UploadAborted(b.to_owned(), up),
                )
            }
            ListParts => {
                let up = self.owner_upload(col, &key);
                (req("GET", &obj).query("uploadId", &up), ok, Effect::None)
            }
        }
    }

    /// Whether `effect` has happened (checked as the owner, or as ADM1 for bucket existence).
    fn happened(&self, col: &Column, effect: &Effect) -> Option<bool> {
        let host = self.srv.host();
        let status =
            |cred: Cred, m: &str, p: &str| self.srv.send(&Req::new(m, p, &host).cred(cred)).status;
        match effect {
            Effect::None => None,
            Effect::ObjectCreated(p) => Some(status(col.owner, "HEAD", p) == 200),
            Effect::ObjectDeleted(p) => Some(status(col.owner, "HEAD", p) == 404),
            // HEAD on a bucket nobody may see is 403 when it exists and 404 when it does not.
            Effect::BucketCreated(n) => Some(status(ADM2, "HEAD", &format!("/{n}")) != 404),
            Effect::BucketDeleted(n) => Some(status(ADM2, "HEAD", &format!("/{n}")) == 404),
            Effect::UploadAborted(b, up) => {
                let r = self.as_owner(
                    col,
                    Req::new("GET", &format!("/{b}"), &host).query("uploads", ""),
                );
                assert_eq!(r.status, 200, "ListMultipartUploads: {}", r.body_text());
                Some(!r.body_text().contains(up.as_str()))
            }
        }
    }

    /// Runs one cell; returns a description of what differs from the expectation.
    fn run(&self, op: S3Operation, col: &Column) -> Result<(), String> {
        let allowed = col.allowed(op);
        let (req, success, effect) = self.case(op, col);
        // The request really is the operation it stands for.
        let target = req.target();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let has_copy = req
            .signed_headers
            .iter()
            .any(|(n, _)| n == "x-amz-copy-source");
        let routed =
            route(&req.method, path, query, Some(&req.host), None, has_copy).map(|r| r.operation);
        assert_eq!(
            routed.ok(),
            Some(op),
            "{} {target} does not route to {op:?}",
            req.method
        );

        let r = self.srv.send(&req);
        let head = req.method == "HEAD";
        let what = format!("{} with {} on {}", op.name(), col.name, col.bucket);
        if allowed {
            let good = match success {
                Success::Status(s) => r.status == s,
                Success::Error(s, code) => r.status == s && r.code().as_deref() == Some(code),
            };
            if !good {
                return Err(format!(
                    "{what}: expected allowed, got {} {}",
                    r.status,
                    r.body_text()
                ));
            }
        } else {
            let denied = r.status == 403 && (head || r.code().as_deref() == Some("AccessDenied"));
            if !denied {
                return Err(format!(
                    "{what}: expected 403 AccessDenied, got {} {}",
                    r.status,
                    r.body_text()
                ));
            }
            if !head {
                r.assert_error(403, "AccessDenied");
            }
        }
        if let Some(done) = self.happened(col, &effect) {
            if done != allowed {
                return Err(format!(
                    "{what}: allowed={allowed} but the state change happened={done}"
                ));
            }
        }
        Ok(())
    }
}

/// Creates bucket `name` as `cred`; asserts 200.
fn create_bucket(srv: &TestServer, cred: Cred, name: &str) {
    let r = srv.send(&srv.signed(cred, "PUT", &format!("/{name}")));
    assert_eq!(r.status, 200, "CreateBucket {name}: {}", r.body_text());
}

fn put_as(srv: &TestServer, cred: Cred, path: &str, body: &[u8]) -> Response {
    srv.send(&srv.signed(cred, "PUT", path).body_sha256(body))
}

#[test]
fn operation_permission_matrix_is_exhaustive() {
    // Every operation is in the list exactly once.
    let mut seen = [false; ALL_OPS.len()];
    for op in ALL_OPS {
        assert!(!seen[op_index(op)], "{op:?} listed twice");
        seen[op_index(op)] = true;
    }

    let srv = start();
    let api = "adm-matrix";
    create_bucket(&srv, ADM1, api);
    put_as(&srv, ALPHA, &format!("/alpha/{FIXTURE}"), FIXTURE_BODY).assert_ok();
    put_as(&srv, ADM1, &format!("/{api}/{FIXTURE}"), FIXTURE_BODY).assert_ok();

    let alpha = |name, cred, granted, admin_credential| Column {
        name,
        cred,
        bucket: "alpha".to_owned(),
        granted,
        admin_credential,
        api_bucket: false,
        owner: ALPHA,
    };
    let columns = [
        alpha("read", R, &[P::Read][..], false),
        alpha("write", W, &[P::Write], false),
        alpha("list", L, &[P::List], false),
        alpha("delete", D, &[P::Delete], false),
        alpha("admin", A, &[P::Admin], false),
        alpha("default", ALPHA, DEFAULT, false),
        // A credential of another bucket.
        alpha("beta-cred", BETA, &[], false),
        // An admin credential in a configured bucket it is not granted.
        alpha("admin-cred", ADM1, &[], true),
        // An admin credential in the bucket it created.
        Column {
            name: "admin-own",
            cred: ADM1,
            bucket: api.to_owned(),
            granted: EVERYTHING,
            admin_credential: true,
            api_bucket: true,
            owner: ADM1,
        },
        // Another admin credential in that bucket.
        Column {
            name: "admin-other",
            cred: ADM2,
            bucket: api.to_owned(),
            granted: &[],
            admin_credential: true,
            api_bucket: true,
            owner: ADM1,
        },
        // A bucket credential in an API bucket.
        Column {
            name: "alpha-in-api",
            cred: ALPHA,
            bucket: api.to_owned(),
            granted: &[],
            admin_credential: false,
            api_bucket: true,
            owner: ADM1,
        },
    ];
    let m = Matrix {
        srv: &srv,
        seq: Cell::new(0),
    };
    let mut failures = Vec::new();
    let mut cells = 0;
    let mut allowed = 0;
    for col in &columns {
        for op in ALL_OPS {
            cells += 1;
            allowed += usize::from(col.allowed(op));
            if let Err(e) = m.run(op, col) {
                failures.push(e);
            }
        }
    }
    assert_eq!(cells, ALL_OPS.len() * columns.len());
    assert!(
        failures.is_empty(),
        "{} of {cells} cells differ ({allowed} expected allowed):\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The fixture is intact after all of that.
    srv.assert_content(&format!("/alpha/{FIXTURE}"), FIXTURE_BODY);
}

/// The bucket names a ListBuckets answer lists.
fn listed_buckets(srv: &TestServer, cred: Cred) -> Vec<String> {
    let r = srv.send(&srv.signed(cred, "GET", "/"));
    r.assert_ok();
    let text = r.body_text();
    text.split("<Name>")
        .skip(1)
        .map(|s| s.split("</Name>").next().unwrap().to_owned())
        .collect()
}

#[test]
fn one_credential_in_two_buckets_works_in_both() {
    let srv = start();
    for b in ["alpha", "beta"] {
        let path = format!("/{b}/two/obj");
        put_as(&srv, TWO, &path, b.as_bytes()).assert_ok();
        let r = srv.send(&srv.signed(TWO, "GET", &path));
        r.assert_ok();
        assert_eq!(r.body, b.as_bytes());
        let r = srv.send(
            &srv.signed(TWO, "GET", &format!("/{b}"))
                .query("list-type", "2")
                .query("prefix", "two/"),
        );
        r.assert_ok();
        assert_eq!(r.xml_tag("Key").as_deref(), Some("two/obj"), "{b}");
        assert_eq!(r.xml_tag("KeyCount").as_deref(), Some("1"), "{b}");
        let r = srv.send(&srv.signed(TWO, "DELETE", &path));
        assert_eq!(r.status, 204, "{b}: {}", r.body_text());
    }
    assert_eq!(listed_buckets(&srv, TWO), ["alpha", "beta"]);

    // Permissions are per bucket: MIX reads alpha and writes beta, nothing else.
    srv.put_ok("/alpha/mix", b"in alpha");
    let r = srv.send(&srv.signed(MIX, "GET", "/alpha/mix"));
    r.assert_ok();
    assert_eq!(r.body, b"in alpha");
    put_as(&srv, MIX, "/alpha/mix", b"overwrite").assert_error(403, "AccessDenied");
    srv.assert_content("/alpha/mix", b"in alpha");
    put_as(&srv, MIX, "/beta/mix", b"in beta").assert_ok();
    srv.send(&srv.signed(MIX, "GET", "/beta/mix"))
        .assert_error(403, "AccessDenied");
    let r = srv.send(&srv.signed(BETA, "GET", "/beta/mix"));
    assert_eq!(r.body, b"in beta");
    assert_eq!(listed_buckets(&srv, MIX), ["alpha", "beta"]);
}

#[test]
fn a_credential_of_one_bucket_is_denied_on_another() {
    let srv = start();
    srv.put_ok("/alpha/private", b"alpha's");
    put_as(&srv, BETA, "/beta/theirs", b"beta's").assert_ok();
    for (m, p) in [
        ("GET", "/alpha/private"),
        ("PUT", "/alpha/from-beta"),
        ("DELETE", "/alpha/private"),
        ("GET", "/alpha"),
    ] {
        let req = if m == "PUT" {
            srv.signed(BETA, m, p).body_sha256(b"x")
        } else {
            srv.signed(BETA, m, p)
        };
        srv.send(&req).assert_error(403, "AccessDenied");
    }
    srv.send(&srv.signed(ALPHA, "GET", "/beta/theirs"))
        .assert_error(403, "AccessDenied");
    srv.assert_content("/alpha/private", b"alpha's");
    srv.assert_absent("/alpha/from-beta");
    assert_eq!(listed_buckets(&srv, ALPHA), ["alpha"]);
    assert_eq!(listed_buckets(&srv, BETA), ["beta"]);
    // A bucket nobody defined is NoSuchBucket, not AccessDenied.
    srv.send(&srv.signed(BETA, "GET", "/gamma/k"))
        .assert_error(404, "NoSuchBucket");
}

#[test]
fn api_bucket_belongs_to_its_creator() {
    let srv = start();
    create_bucket(&srv, ADM1, "made-by-one");
    put_as(&srv, ADM1, "/made-by-one/k", b"one's").assert_ok();
    assert_eq!(listed_buckets(&srv, ADM1), ["made-by-one"]);
    // Not visible to another admin or to a bucket credential.
    assert!(listed_buckets(&srv, ADM2).is_empty());
    assert_eq!(listed_buckets(&srv, ALPHA), ["alpha"]);
    for cred in [ADM2, ALPHA, TWO] {
        srv.send(&srv.signed(cred, "GET", "/made-by-one/k"))
            .assert_error(403, "AccessDenied");
        put_as(&srv, cred, "/made-by-one/k", b"overwrite").assert_error(403, "AccessDenied");
        srv.send(&srv.signed(cred, "DELETE", "/made-by-one/k"))
            .assert_error(403, "AccessDenied");
        srv.send(
            &srv.signed(cred, "GET", "/made-by-one")
                .query("list-type", "2"),
        )
        .assert_error(403, "AccessDenied");
        srv.send(&srv.signed(cred, "DELETE", "/made-by-one"))
            .assert_error(403, "AccessDenied");
    }
    // Creating it again: the owner is told it already has it, another admin that it is taken,
    // a non-admin that it may not create buckets... but an existing name is taken for anyone.
    srv.send(&srv.signed(ADM1, "PUT", "/made-by-one"))
        .assert_error(409, "BucketAlreadyOwnedByYou");
    srv.send(&srv.signed(ADM2, "PUT", "/made-by-one"))
        .assert_error(409, "BucketAlreadyExists");
    let r = srv.send(&srv.signed(ADM1, "GET", "/made-by-one/k"));
    assert_eq!(r.body, b"one's");

    // Config buckets cannot be created or deleted through the API, even by an admin.
    srv.send(&srv.signed(ALPHA, "PUT", "/alpha"))
        .assert_error(409, "BucketAlreadyOwnedByYou");
    srv.send(&srv.signed(ADM1, "PUT", "/alpha"))
        .assert_error(409, "BucketAlreadyExists");
    srv.send(&srv.signed(ADM1, "DELETE", "/alpha"))
        .assert_error(403, "AccessDenied");
    srv.send(&srv.signed(A, "DELETE", "/alpha"))
        .assert_error(403, "AccessDenied");
    // Bucket credentials cannot create buckets.
    srv.send(&srv.signed(ALPHA, "PUT", "/by-alpha"))
        .assert_error(403, "AccessDenied");
    assert_eq!(srv.send(&srv.signed(ADM1, "HEAD", "/by-alpha")).status, 404);

    // Non-empty: BucketNotEmpty; emptied: deleted, and then gone for everyone.
    srv.send(&srv.signed(ADM1, "DELETE", "/made-by-one"))
        .assert_error(409, "BucketNotEmpty");
    assert_eq!(
        srv.send(&srv.signed(ADM1, "DELETE", "/made-by-one/k"))
            .status,
        204
    );
    assert_eq!(
        srv.send(&srv.signed(ADM1, "DELETE", "/made-by-one")).status,
        204
    );
    assert!(listed_buckets(&srv, ADM1).is_empty());
    srv.send(&srv.signed(ADM1, "GET", "/made-by-one/k"))
        .assert_error(404, "NoSuchBucket");
    // The name is free again: the other admin may take it, and then it is theirs.
    create_bucket(&srv, ADM2, "made-by-one");
    assert_eq!(listed_buckets(&srv, ADM2), ["made-by-one"]);
    srv.send(
        &srv.signed(ADM1, "GET", "/made-by-one")
            .query("list-type", "2"),
    )
    .assert_error(403, "AccessDenied");
}

#[test]
fn api_buckets_survive_a_restart() {
    let srv = start();
    create_bucket(&srv, ADM1, "durable-one");
    put_as(&srv, ADM1, "/durable-one/k", b"kept").assert_ok();
    let dir = srv.stop();
    let yaml = permissions_config(dir.path());
    let srv = TestServer::start_yaml_in(dir, Default::default(), &yaml);
    assert_eq!(listed_buckets(&srv, ADM1), ["durable-one"]);
    let r = srv.send(&srv.signed(ADM1, "GET", "/durable-one/k"));
    r.assert_ok();
    assert_eq!(r.body, b"kept");
    srv.send(&srv.signed(ADM1, "PUT", "/durable-one"))
        .assert_error(409, "BucketAlreadyOwnedByYou");
}

#[test]
fn invalid_bucket_names_are_refused() {
    let srv = start();
    let long = "a".repeat(64);
    for name in [
        "Upper",
        "under_score",
        "ab",
        long.as_str(),
        "192.168.5.4",
        ".leading-dot",
        "trailing-dot.",
        "-leading-hyphen",
        "trailing-hyphen-",
        "two..dots",
        "xn--punycode",
    ] {
        let r = srv.send(&srv.signed(ADM1, "PUT", &format!("/{name}")));
        r.assert_error(400, "InvalidBucketName");
    }
    assert!(listed_buckets(&srv, ADM1).is_empty());
    // The limits themselves are fine.
    create_bucket(&srv, ADM1, "abc");
    create_bucket(&srv, ADM1, &"b".repeat(63));
    create_bucket(&srv, ADM1, "dots.and-hyphens.9");
    assert_eq!(listed_buckets(&srv, ADM1).len(), 3);
}

/// The config problems of `yaml`, as `(key path, line, message)`.
fn config_problems(yaml: &str) -> Vec<(String, Option<usize>, String)> {
    let e = s3_orchestrator::config::Config::from_str_named(yaml, "perm.yaml")
        .expect_err("the config must be refused");
    e.diagnostics()
        .iter()
        .map(|d| (d.key_path.clone(), d.line, d.message.clone()))
        .collect()
}

const CONFIG_HEAD: &str = "backends:
  - name: disk
    path: /tmp/s3o-perm-never-created
";

#[test]
fn config_validation_of_permissions_names_key_and_line() {
    // Line numbers count from 1: the head has 3 lines.
    let unknown = format!(
        "{CONFIG_HEAD}buckets:
  - name: alpha
    credentials:
      - access_key_id: AKIDX
        secret_access_key: sx
        permissions: [read, writ, list]
"
    );
    let p = config_problems(&unknown);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, "buckets[0].credentials[0].permissions[1]");
    assert_eq!(p[0].1, Some(9), "{p:?}");
    assert!(p[0].2.contains("unknown permission `writ`"), "{p:?}");
    let text = s3_orchestrator::config::Config::from_str_named(&unknown, "perm.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        text.starts_with("perm.yaml:9:")
            && text.contains("buckets[0].credentials[0].permissions[1]"),
        "{text}"
    );

    let empty = format!(
        "{CONFIG_HEAD}buckets:
  - name: alpha
    credentials:
      - access_key_id: AKIDX
        secret_access_key: sx
        permissions: []
"
    );
    let p = config_problems(&empty);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, "buckets[0].credentials[0].permissions");
    assert_eq!(p[0].1, Some(9), "{p:?}");
    assert!(p[0].2.contains("empty list"), "{p:?}");

    let on_admin = format!(
        "{CONFIG_HEAD}admin_credentials:
  - access_key_id: AKIDADM
    secret_access_key: sa
    permissions: [read]
"
    );
    let p = config_problems(&on_admin);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, "admin_credentials[0].permissions");
    assert_eq!(p[0].1, Some(7), "{p:?}");

    let not_a_name = format!(
        "{CONFIG_HEAD}buckets:
  - name: alpha
    credentials:
      - access_key_id: AKIDX
        secret_access_key: sx
        permissions:
          - read
          - 7
"
    );
    let p = config_problems(&not_a_name);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, "buckets[0].credentials[0].permissions[1]");
    assert_eq!(p[0].1, Some(11), "{p:?}");

    // What is accepted: any case, admin credentials alone (no bucket), a credential in two buckets.
    let ok = format!(
        "{CONFIG_HEAD}admin_credentials:
  - access_key_id: AKIDADM
    secret_access_key: sa
buckets:
  - name: alpha
    credentials:
      - access_key_id: AKIDX
        secret_access_key: sx
        permissions: [READ, List]
  - name: beta
    credentials:
      - access_key_id: AKIDX
        secret_access_key: sx
"
    );
    let cfg = s3_orchestrator::config::Config::from_str_named(&ok, "perm.yaml")
        .unwrap_or_else(|e| panic!("{e}"));
    use s3_orchestrator::config::Permissions;
    assert_eq!(
        cfg.buckets[0].credentials[0].permissions,
        Permissions::READ.union(Permissions::LIST)
    );
    assert_eq!(
        cfg.buckets[1].credentials[0].permissions,
        Permissions::DEFAULT
    );
    assert_eq!(cfg.admin_credentials.len(), 1);
    let admin_only = format!(
        "{CONFIG_HEAD}admin_credentials:
  - access_key_id: AKIDADM
    secret_access_key: sa
"
    );
    s3_orchestrator::config::Config::from_str_named(&admin_only, "perm.yaml")
        .unwrap_or_else(|e| panic!("admin credentials alone are a valid config: {e}"));
}
