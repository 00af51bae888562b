//! `buckets` and `admin_credentials`: bucket names, each bucket's credentials and permissions, and
//! the rule that one access key id has one secret wherever it appears.

use std::collections::{HashMap, HashSet};

use super::names::bucket_name_problem;
use super::Checker;
use crate::config::model::{
    BucketConfig, CredentialConfig, Permissions, Secret, MAX_MULTIPART_UPLOADS_LIMIT,
};
use crate::config::raw::{RawBucket, RawCredential, Scalar};

/// Most virtual buckets. The router resolves buckets from an in-memory table; a thousand is far beyond
/// real deployments yet keeps the table small.
const MAX_BUCKETS: usize = 1024;

/// Most client credentials over all buckets, for the same reason as [`MAX_BUCKETS`].
const MAX_CREDENTIALS: usize = 4096;

/// Access key id → (key path of its first secret, that secret), over buckets and admin
/// credentials: one access key id has one secret wherever it appears.
pub(super) type KeySecrets = HashMap<String, (String, Secret)>;

impl Checker<'_> {
    pub(super) fn buckets(
        &mut self,
        raw: Option<&[RawBucket]>,
        has_admins: bool,
        keys: &mut KeySecrets,
    ) -> Vec<BucketConfig> {
        let raw = raw.unwrap_or_default();
        if raw.is_empty() {
            if !has_admins {
                self.problem(
                    "buckets",
                    "at least one virtual bucket is required (or admin_credentials, to create buckets through the S3 API)",
                );
            }
            return Vec::new();
        }
        if raw.len() > MAX_BUCKETS {
            self.problem(
                "buckets",
                format!(
                    "at most {MAX_BUCKETS} buckets are supported, found {}",
                    raw.len()
                ),
            );
        }
        let total: usize = raw
            .iter()
            .map(|b| b.credentials.as_ref().map_or(0, Vec::len))
            .sum();
        if total > MAX_CREDENTIALS {
            self.problem(
                "buckets",
                format!(
                    "at most {MAX_CREDENTIALS} credentials are supported in all, found {total}"
                ),
            );
        }
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut out = Vec::with_capacity(raw.len());
        for (i, b) in raw.iter().enumerate() {
            let base = format!("buckets[{i}]");
            let name_path = format!("{base}.name");
            let name = self.required_text(&name_path, b.name.as_ref());
            if let Some(n) = &name {
                if let Some(why) = bucket_name_problem(n) {
                    self.problem(&name_path, format!("invalid bucket name `{n}`: {why}"));
                } else if let Some(first) = names.get(n) {
                    self.problem(
                        &name_path,
                        format!("duplicate bucket name `{n}` (already used by buckets[{first}])"),
                    );
                } else {
                    names.insert(n.clone(), i);
                }
            }
            let credentials = self.credentials(&base, b, keys);
            let max_multipart_uploads = self.max_multipart_uploads(&base, b);
            if let Some(name) = name {
                out.push(BucketConfig {
                    name,
                    credentials,
                    max_multipart_uploads,
                });
            }
        }
        out
    }

    /// `buckets[].max_multipart_uploads`: 0 (unlimited, the default) up to
    /// [`MAX_MULTIPART_UPLOADS_LIMIT`].
    fn max_multipart_uploads(&mut self, base: &str, b: &RawBucket) -> u64 {
        let path = format!("{base}.max_multipart_uploads");
        match self.uint(&path, b.max_multipart_uploads.as_ref()) {
            Some(n) if n > MAX_MULTIPART_UPLOADS_LIMIT => {
                self.problem(
                    &path,
                    format!(
                        "must be at most {MAX_MULTIPART_UPLOADS_LIMIT} (0 = unlimited), found {n}"
                    ),
                );
                0
            }
            Some(n) => n,
            None => 0,
        }
    }

    fn credentials(
        &mut self,
        base: &str,
        b: &RawBucket,
        keys: &mut KeySecrets,
    ) -> Vec<CredentialConfig> {
        let list_path = format!("{base}.credentials");
        let raw = b.credentials.as_deref().unwrap_or_default();
        if raw.is_empty() {
            self.problem(&list_path, "at least one credential is required");
            return Vec::new();
        }
        let mut in_bucket: HashSet<String> = HashSet::new();
        let mut out = Vec::with_capacity(raw.len());
        for (j, c) in raw.iter().enumerate() {
            let cbase = format!("{list_path}[{j}]");
            let id_path = format!("{cbase}.access_key_id");
            let secret_path = format!("{cbase}.secret_access_key");
            let id = self.access_key_id(&id_path, c.access_key_id.as_ref());
            let secret = self.secret(&secret_path, c.secret_access_key.as_ref());
            let (Some(id), Some(secret)) = (id, secret) else {
                continue;
            };
            if !in_bucket.insert(id.clone()) {
                self.problem(
                    &id_path,
                    format!("access key id `{id}` is listed twice in this bucket"),
                );
                continue;
            }
            self.one_secret_per_key(keys, &id, &secret_path, &secret);
            let permissions = self.permissions(&cbase, c.permissions.as_deref());
            out.push(CredentialConfig {
                access_key_id: id,
                secret_access_key: secret,
                permissions,
            });
        }
        out
    }

    /// `permissions: [read, write, ...]`; absent = [`Permissions::DEFAULT`].
    fn permissions(&mut self, cbase: &str, raw: Option<&[Scalar]>) -> Permissions {
        let Some(list) = raw else {
            return Permissions::DEFAULT;
        };
        let path = format!("{cbase}.permissions");
        let mut p = Permissions::NONE;
        for (k, item) in list.iter().enumerate() {
            let name = match item {
                Scalar::Str(s) => s.trim().to_ascii_lowercase(),
                other => {
                    self.problem(
                        format!("{path}[{k}]"),
                        format!("expected a permission name, found {}", other.describe()),
                    );
                    continue;
                }
            };
            match Permissions::NAMES.iter().find(|(n, _)| *n == name) {
                Some((_, flag)) => p = p.union(*flag),
                None => self.problem(
                    format!("{path}[{k}]"),
                    format!(
                        "unknown permission `{name}`; expected read, write, list, delete or admin"
                    ),
                ),
            }
        }
        if list.is_empty() {
            self.problem(&path, "an empty list grants nothing; give at least one of read, write, list, delete, admin");
        }
        p
    }

    /// `admin_credentials`: may create and delete buckets through the S3 API.
    pub(super) fn admin_credentials(
        &mut self,
        raw: Option<&[RawCredential]>,
        keys: &mut KeySecrets,
    ) -> Vec<CredentialConfig> {
        let raw = raw.unwrap_or_default();
        let mut out = Vec::with_capacity(raw.len());
        for (j, c) in raw.iter().enumerate() {
            let cbase = format!("admin_credentials[{j}]");
            let id_path = format!("{cbase}.access_key_id");
            let secret_path = format!("{cbase}.secret_access_key");
            if c.permissions.is_some() {
                self.problem(
                    format!("{cbase}.permissions"),
                    "admin credentials have every permission; remove this key",
                );
            }
            let id = self.access_key_id(&id_path, c.access_key_id.as_ref());
            let secret = self.secret(&secret_path, c.secret_access_key.as_ref());
            let (Some(id), Some(secret)) = (id, secret) else {
                continue;
            };
            self.one_secret_per_key(keys, &id, &secret_path, &secret);
            out.push(CredentialConfig {
                access_key_id: id,
                secret_access_key: secret,
                permissions: Permissions::ALL,
            });
        }
        out
    }

    /// Records `id`'s secret (written at `secret_path`) the first time the id is seen; a later
    /// different secret for the same id is a problem.
    fn one_secret_per_key(
        &mut self,
        keys: &mut KeySecrets,
        id: &str,
        secret_path: &str,
        secret: &Secret,
    ) {
        match keys.get(id) {
            Some((first_path, first_secret)) if first_secret != secret => {
                self.problem(
                    secret_path,
                    format!(
                        "access key id `{id}` is also used at {first_path} with a different secret_access_key; one access key id has one secret"
                    ),
                );
            }
            Some(_) => {}
            None => {
                keys.insert(id.to_owned(), (secret_path.to_owned(), secret.clone()));
            }
        }
    }
}
