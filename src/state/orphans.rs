//! Orphaned buckets: data in the catalog (objects or multipart uploads) whose bucket nobody owns
//! any more, kept unreachable through the S3 API until an operator purges or re-binds it (admin
//! API, `/admin/orphans`).
//!
//! # The rule
//! Who owns a bucket's data follows from two sources only: the config's `buckets[]`, and the
//! catalog's bucket records, which CreateBucket writes with the creating credential. For a name:
//!
//! | config names it | catalog record | holds data | the name is |
//! |---|---|---|---|
//! | yes | no | any | a config bucket (the config's credentials) |
//! | no | yes, owner configured | any | an API bucket (its creator) |
//! | yes | yes | any | orphaned, [`OrphanReason::ApiBucketInConfig`] |
//! | no | yes, owner not configured | any | orphaned, [`OrphanReason::OwnerGone`] |
//! | no | no | yes | orphaned, [`OrphanReason::NoOwner`] |
//!
//! - An API bucket whose name later appears in the config belongs to neither: the config's
//!   credentials would get the creator's objects, and the creator loses them to the config.
//!   Nobody reaches it (`App::permissions` answers none for everyone).
//! - A config bucket taken out of the config leaves [`OrphanReason::NoOwner`] data: no one can
//!   address it (the bucket does not exist), and CreateBucket of the name is refused with
//!   `BucketAlreadyExists` while anything is stored under it (decided by the catalog writer,
//!   atomically with the other writes), so a tenant cannot claim it.
//! - Re-adding a removed config bucket to the config is itself the operator's decision: it
//!   gives the data back to the config's credentials. Re-configuring a removed owner credential
//!   does the same for [`OrphanReason::OwnerGone`].
//! - Otherwise the operator decides through the admin API: purge (delete the objects and uploads
//!   on the backends and in the catalog, and the bucket record), or re-bind (to the config
//!   bucket of that name, or to a configured credential as an API bucket).
//!
//! Startup and every reload log a warning naming each orphaned bucket with its object count.

use super::App;
use crate::backend::BackendCtx;
use crate::catalog::{BucketRecord, ListQuery, MultipartQuery, MAX_LIST_KEYS};
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// Most objects (and, separately, uploads) counted per orphaned bucket for a report: the count
/// walks the bucket's keys (summaries only), and a report runs at every reload; past this the
/// count is given as a lower bound (`counts_capped`).
pub const MAX_ORPHAN_COUNT: u64 = 100_000;

/// Most objects one purge request deletes. Deletes go to the catalog a page
/// ([`MAX_LIST_KEYS`]) at a time, group-committed; this many take seconds, which keeps an admin
/// request short. A purge that stops here answers `done: false`; repeat it.
pub const MAX_PURGE_OBJECTS_PER_REQUEST: u64 = 100_000;

/// Why a bucket's data has no owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrphanReason {
    /// An API bucket (catalog record) whose name the config now defines as well.
    ApiBucketInConfig,
    /// Data under a name with neither a config bucket nor a record (a removed config bucket).
    NoOwner,
    /// An API bucket whose creating credential is no longer configured.
    OwnerGone,
}

/// One orphaned bucket, as reports and the admin API show it.
#[derive(Debug, Clone, Serialize)]
pub struct Orphan {
    pub bucket: String,
    pub reason: OrphanReason,
    /// The access key of the catalog record's owner, if there is a record.
    pub owner: Option<String>,
    pub objects: u64,
    pub bytes: u64,
    pub uploads: u64,
    /// The counts stopped at [`MAX_ORPHAN_COUNT`].
    pub counts_capped: bool,
}

/// Where an operator re-binds an orphaned bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebindTarget {
    /// The config bucket of the same name (drops the catalog record).
    Config,
    /// A configured credential, as the owner of an API bucket.
    Owner(String),
}

/// Why an admin action on an orphan was not done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrphanError {
    /// The bucket is not orphaned (or does not exist): nothing to decide.
    NotOrphaned,
    /// The action does not fit this orphan; the message says what would.
    Refused(String),
    /// The catalog or a backend failed; retrying may work.
    Failed(String),
}

/// What a purge did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Purged {
    pub bucket: String,
    pub objects_deleted: u64,
    pub uploads_aborted: u64,
    /// Everything is gone (and the record removed); false: repeat the purge.
    pub done: bool,
}

impl App {
    /// Why `bucket` is orphaned, given its catalog record; None when someone owns it.
    pub fn orphan_reason(
        &self,
        bucket: &str,
        record: Option<&BucketRecord>,
    ) -> Option<OrphanReason> {
        match (self.is_config_bucket(bucket), record) {
            (true, Some(_)) => Some(OrphanReason::ApiBucketInConfig),
            (true, None) => None,
            (false, Some(r)) if !self.credentials.contains_key(&r.owner_access_key) => {
                Some(OrphanReason::OwnerGone)
            }
            (false, Some(_)) => None,
            (false, None) => Some(OrphanReason::NoOwner),
        }
    }

    /// `bucket`'s orphan entry, counted; None when it is not orphaned (or holds nothing and has
    /// no record).
    pub fn orphan(&self, bucket: &str) -> Result<Option<Orphan>, String> {
        let record = self.catalog.get_bucket(bucket).map_err(|e| e.to_string())?;
        let Some(reason) = self.orphan_reason(bucket, record.as_ref()) else {
            return Ok(None);
        };
        let counts = count_data(self, bucket)?;
        if record.is_none() && counts.objects == 0 && counts.uploads == 0 {
            return Ok(None);
        }
        Ok(Some(Orphan {
            bucket: bucket.to_owned(),
            reason,
            owner: record.map(|r| r.owner_access_key),
            ..counts
        }))
    }

    /// Every orphaned bucket, by name.
    pub fn orphans(&self) -> Result<Vec<Orphan>, String> {
        let mut names = self.catalog.data_buckets().map_err(|e| e.to_string())?;
        let records = self.catalog.list_buckets().map_err(|e| e.to_string())?;
        names.extend(records.into_iter().map(|r| r.name));
        names.sort();
        names.dedup();
        let mut out = Vec::new();
        for name in names {
            if let Some(o) = self.orphan(&name)? {
                out.push(o);
            }
        }
        Ok(out)
    }

    /// Logs a warning for each orphaned bucket (startup and reload); returns how many there are.
    pub fn report_orphans(&self) -> usize {
        match self.orphans() {
            Ok(orphans) => {
                for o in &orphans {
                    tracing::warn!(
                        bucket = %o.bucket,
                        reason = ?o.reason,
                        objects = o.objects,
                        uploads = o.uploads,
                        "bucket data has no owner and stays unreachable until an operator purges \
                         or re-binds it (admin API /admin/orphans)"
                    );
                }
                orphans.len()
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot check the catalog for orphaned buckets");
                0
            }
        }
    }

    /// Gives an orphaned bucket to `target` (admin API). Refused unless the bucket is orphaned
    /// and the target fits: the config bucket of that name must exist for
    /// [`RebindTarget::Config`]; a credential target needs a configured credential and a name
    /// the config does not define.
    pub async fn rebind_orphan(
        &self,
        bucket: &str,
        target: &RebindTarget,
    ) -> Result<(), OrphanError> {
        let record = self
            .catalog
            .get_bucket(bucket)
            .map_err(|e| OrphanError::Failed(e.to_string()))?;
        let reason = self
            .orphan(bucket)
            .map_err(OrphanError::Failed)?
            .map(|o| o.reason)
            .ok_or(OrphanError::NotOrphaned)?;
        let new_record = match target {
            RebindTarget::Config if reason == OrphanReason::ApiBucketInConfig => None,
            RebindTarget::Config => {
                return Err(OrphanError::Refused(format!(
                    "{bucket} is not a config bucket: add it to buckets[] and reload to give \
                     its objects to the config"
                )))
            }
            RebindTarget::Owner(_) if self.is_config_bucket(bucket) => {
                return Err(OrphanError::Refused(format!(
                    "{bucket} is defined in the config: re-bind it to the config, or remove it \
                     from the config first"
                )))
            }
            RebindTarget::Owner(key) if !self.credentials.contains_key(key) => {
                return Err(OrphanError::Refused(format!(
                    "no configured credential has access key id {key}"
                )))
            }
            RebindTarget::Owner(key) => Some(BucketRecord {
                name: bucket.to_owned(),
                owner_access_key: key.clone(),
                created_ms: record
                    .as_ref()
                    .map_or_else(crate::util::clock::now_ms, |r| r.created_ms),
            }),
        };
        self.catalog
            .replace_bucket(bucket, new_record)
            .await
            .map_err(|e| OrphanError::Failed(e.to_string()))?;
        tracing::warn!(bucket, target = ?target, "orphaned bucket re-bound by an operator");
        Ok(())
    }

    /// Deletes an orphaned bucket's uploads (aborted on their backends) and objects (their
    /// copies are deleted by the cleanup queue), then its record: the name is free afterwards.
    /// At most [`MAX_PURGE_OBJECTS_PER_REQUEST`] objects per call (`done: false` past it).
    pub async fn purge_orphan(
        &self,
        bctx: &BackendCtx<'_>,
        bucket: &str,
    ) -> Result<Purged, OrphanError> {
        if self.orphan(bucket).map_err(OrphanError::Failed)?.is_none() {
            return Err(OrphanError::NotOrphaned);
        }
        let mut purged = Purged {
            bucket: bucket.to_owned(),
            uploads_aborted: self.purge_uploads(bctx, bucket).await?,
            ..Default::default()
        };
        let fail = |e: crate::catalog::CatalogError| OrphanError::Failed(e.to_string());
        loop {
            let query = ListQuery {
                max_keys: MAX_LIST_KEYS,
                ..Default::default()
            };
            let page = self.catalog.list_objects(bucket, &query).map_err(fail)?;
            if page.entries.is_empty() {
                purged.done = true;
                break;
            }
            if purged.objects_deleted >= MAX_PURGE_OBJECTS_PER_REQUEST {
                break;
            }
            let deletes = page
                .entries
                .iter()
                .map(|(key, _)| {
                    Box::pin(self.catalog.delete_object(bucket, key))
                        as Pin<Box<dyn Future<Output = DeleteResult> + Send + '_>>
                })
                .collect();
            for r in join_all(deletes).await {
                r.map_err(fail)?;
                purged.objects_deleted += 1;
            }
        }
        self.wake_background();
        if purged.done {
            self.catalog
                .replace_bucket(bucket, None)
                .await
                .map_err(fail)?;
        }
        tracing::warn!(
            bucket,
            objects = purged.objects_deleted,
            uploads = purged.uploads_aborted,
            done = purged.done,
            "orphaned bucket purged by an operator"
        );
        Ok(purged)
    }

    /// Aborts every upload of `bucket` on its backend and removes it from the catalog.
    async fn purge_uploads(&self, bctx: &BackendCtx<'_>, bucket: &str) -> Result<u64, OrphanError> {
        let fail = |e: String| OrphanError::Failed(e);
        let mut n = 0;
        loop {
            let query = MultipartQuery {
                max_uploads: MAX_LIST_KEYS,
                ..Default::default()
            };
            let page = self
                .catalog
                .list_multipart(bucket, &query)
                .map_err(|e| fail(e.to_string()))?;
            if page.uploads.is_empty() {
                return Ok(n);
            }
            for u in page.uploads {
                // A backend no longer configured cannot be asked; its upload is dropped here.
                if let Some(b) = self.backend_by_name(&u.backend) {
                    b.abort_multipart(bctx, &u.backend_key, &u.backend_upload_id)
                        .await
                        .map_err(|e| fail(format!("backend {}: {e}", u.backend)))?;
                }
                self.catalog
                    .delete_multipart(&u.upload_id)
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                self.uploads.release(&u.upload_id);
                n += 1;
            }
        }
    }
}

/// Objects, bytes and uploads stored under `bucket`, counted up to [`MAX_ORPHAN_COUNT`] each.
fn count_data(app: &App, bucket: &str) -> Result<Orphan, String> {
    let mut o = Orphan {
        bucket: bucket.to_owned(),
        reason: OrphanReason::NoOwner,
        owner: None,
        objects: 0,
        bytes: 0,
        uploads: 0,
        counts_capped: false,
    };
    let mut query = ListQuery {
        max_keys: MAX_LIST_KEYS,
        ..Default::default()
    };
    loop {
        let page = app
            .catalog
            .list_objects(bucket, &query)
            .map_err(|e| e.to_string())?;
        o.objects += page.entries.len() as u64;
        o.bytes += page.entries.iter().map(|(_, s)| s.size).sum::<u64>();
        if !page.is_truncated {
            break;
        }
        if o.objects >= MAX_ORPHAN_COUNT {
            o.counts_capped = true;
            break;
        }
        query.start_after = page.next_start_after;
    }
    let mut mq = MultipartQuery {
        max_uploads: MAX_LIST_KEYS,
        ..Default::default()
    };
    loop {
        let page = app
            .catalog
            .list_multipart(bucket, &mq)
            .map_err(|e| e.to_string())?;
        o.uploads += page.uploads.len() as u64;
        if !page.is_truncated {
            break;
        }
        if o.uploads >= MAX_ORPHAN_COUNT {
            o.counts_capped = true;
            break;
        }
        mq.key_marker = page.next_key_marker;
        mq.upload_id_marker = page.next_upload_id_marker;
    }
    Ok(o)
}

/// What one catalog delete answers.
type DeleteResult = crate::catalog::Result<Option<crate::catalog::ObjectRecord>>;

/// Polls every future concurrently on the current thread (one page of catalog deletes, which
/// the catalog writer then commits as one group); results in order.
async fn join_all<T>(futs: Vec<Pin<Box<dyn Future<Output = T> + Send + '_>>>) -> Vec<T> {
    let mut futs: Vec<_> = futs.into_iter().map(Some).collect();
    let mut out: Vec<Option<T>> = (0..futs.len()).map(|_| None).collect();
    std::future::poll_fn(move |cx| {
        let mut pending = false;
        for (slot, res) in futs.iter_mut().zip(out.iter_mut()) {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => {
                        *res = Some(v);
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(out.iter_mut().filter_map(Option::take).collect())
        }
    })
    .await
}
