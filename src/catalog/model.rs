//! The catalog's data model, shared by every store implementation: the records, and the
//! inputs and outcomes of catalog operations.
//!
//! These are plain values; the fjall store's on-disk form of them is in `fjall::codec`.
//! They derive serde so the admin API can render them (e.g. object locations)
//! without a second set of types.

use serde::{Deserialize, Serialize};

/// State of one copy of an object on one backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CopyState {
    /// The backend holds the complete, current body under `backend_key`.
    Complete,
    /// The copy is recorded but must not be served, and does not count toward the
    /// replication factor. Nothing marks copies stale yet; `add_copy` at the same
    /// backend + key can set it.
    Stale,
}

/// One copy of an object body on a backend.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Copy {
    /// Backend name as configured.
    pub backend: String,
    /// The object's key inside the backend's bucket.
    pub backend_key: String,
    /// Whether this copy may be served.
    pub state: CopyState,
}

/// Everything the catalog knows about one object (one virtual bucket + key).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ObjectRecord {
    /// Body length in bytes.
    pub size: u64,
    /// ETag without the surrounding quotes (e.g. hex MD5, or `<hex>-<parts>` for a
    /// multipart object); the S3 layer adds the quotes when it answers.
    pub etag: String,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// `Content-Disposition`.
    pub content_disposition: Option<String>,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// `Content-Language`.
    pub content_language: Option<String>,
    /// `Expires`, kept verbatim as the client sent it.
    pub expires: Option<String>,
    /// `x-amz-meta-*` pairs (name without the prefix, lower-cased by the caller).
    pub user_metadata: Vec<(String, String)>,
    /// Last-Modified, milliseconds since the Unix epoch.
    pub last_modified_ms: i64,
    /// Full-object checksum: (algorithm, base64 value), e.g. ("CRC32", "...").
    pub checksum: Option<(String, String)>,
    /// Number of parts when the object was created by a multipart upload.
    pub parts_count: Option<u32>,
    /// Version of this record, assigned by the catalog on every put from a
    /// persistent counter: greater than every generation acknowledged before, across
    /// all keys, never reused. `add_copy`/`remove_copy` keep it. The value a caller
    /// passes to `put_object` is ignored.
    pub generation: u64,
    /// Backends holding a copy of the body.
    pub copies: Vec<Copy>,
}

impl ObjectRecord {
    /// The copy on `backend` under `backend_key`, if the record has it.
    pub(crate) fn copy_at(&self, backend: &str, backend_key: &str) -> Option<&Copy> {
        self.copies
            .iter()
            .find(|c| c.backend == backend && c.backend_key == backend_key)
    }

    /// Copies that may be served, in stored (preference) order.
    pub(crate) fn complete_copies(&self) -> impl Iterator<Item = &Copy> {
        self.copies
            .iter()
            .filter(|c| c.state == CopyState::Complete)
    }
}

/// What a listing needs from an object: decoded without the rest of the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectSummary {
    /// Body length in bytes.
    pub size: u64,
    /// ETag without the surrounding quotes, as in [`ObjectRecord::etag`].
    pub etag: String,
    /// Last-Modified, milliseconds since the Unix epoch.
    pub last_modified_ms: i64,
}

/// Bytes and objects stored on one backend, as far as the catalog knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct BackendUsage {
    /// Sum of the sizes of all copies on the backend.
    pub bytes_used: u64,
    /// Number of copies on the backend.
    pub objects: u64,
}

/// One backend's usage in one calendar month (UTC), for `api_request_limit`,
/// `egress_byte_limit` and `ingress_byte_limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MonthlyUsage {
    /// Requests sent to the backend.
    pub api_requests: u64,
    /// Body bytes read from the backend.
    pub egress_bytes: u64,
    /// Body bytes written to the backend.
    pub ingress_bytes: u64,
}

/// Which durable queue an item belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) enum QueueKind {
    /// Copies still to be made to reach the replication factor.
    Replicate,
    /// Backend objects that are no longer referenced and must be deleted.
    Cleanup,
}

/// Identity of a queued item: its queue and a sequence number that orders items
/// by creation (from a persistent counter, so acknowledged ids are never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct QueueId {
    /// The queue holding the item.
    pub kind: QueueKind,
    /// Creation order within the catalog (one counter for both queues).
    pub seq: u64,
}

/// A durable work intent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum QueueItem {
    /// Make one more copy of `bucket/key`, if its record still has `generation`.
    Replicate {
        /// Virtual bucket.
        bucket: String,
        /// Object key.
        key: String,
        /// Generation of the record the copy is for.
        generation: u64,
    },
    /// Delete `backend_key` on `backend`: it held a copy of a record
    /// (`generation`) that was overwritten or deleted.
    Cleanup {
        /// Backend name.
        backend: String,
        /// Key inside the backend's bucket.
        backend_key: String,
        /// Generation of the record whose copy this was.
        generation: u64,
    },
}

impl QueueItem {
    /// The queue this item belongs in.
    pub(crate) fn kind(&self) -> QueueKind {
        match self {
            QueueItem::Replicate { .. } => QueueKind::Replicate,
            QueueItem::Cleanup { .. } => QueueKind::Cleanup,
        }
    }
}

/// The answer of a CompleteMultipartUpload that succeeded, kept for
/// `COMPLETED_UPLOAD_RETENTION_MS` so that a client whose answer was lost can retry it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompletedUpload {
    pub bucket: String,
    pub key: String,
    /// The object's ETag (unquoted), as the first answer gave it.
    pub etag: String,
    pub completed_ms: i64,
}

/// A part of an upload in progress as the catalog recorded it: the last upload of its number.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredPart {
    pub part_number: u32,
    pub size: u64,
    /// The part's ETag (unquoted); None for a part recorded before ETags were.
    pub etag: Option<String>,
}

/// An in-progress multipart upload, passed through to one backend.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MultipartRecord {
    /// Virtual bucket.
    pub bucket: String,
    /// Object key the upload will create.
    pub key: String,
    /// Upload id handed to the client (the orchestrator's own). Listings of a
    /// bucket's uploads order by key, then by this id: ids that start with a
    /// time or sequence component list in initiation order, as S3 does.
    pub upload_id: String,
    /// Backend the parts go to.
    pub backend: String,
    /// Key inside the backend's bucket.
    pub backend_key: String,
    /// The backend's own upload id.
    pub backend_upload_id: String,
    /// Initiation time, milliseconds since the Unix epoch.
    pub initiated_ms: i64,
    /// `Content-Type` for the final object.
    pub content_type: Option<String>,
    /// `Cache-Control` for the final object.
    pub cache_control: Option<String>,
    /// `Content-Disposition` for the final object.
    pub content_disposition: Option<String>,
    /// `Content-Encoding` for the final object.
    pub content_encoding: Option<String>,
    /// `Content-Language` for the final object.
    pub content_language: Option<String>,
    /// `Expires` for the final object.
    pub expires: Option<String>,
    /// Checksum algorithm the client declared at initiation (e.g. "CRC32").
    pub checksum_algorithm: Option<String>,
    /// `x-amz-meta-*` pairs for the final object.
    pub user_metadata: Vec<(String, String)>,
}

/// A bucket created through the S3 API (as opposed to configured ones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketRecord {
    /// Bucket name.
    pub name: String,
    /// Access key of the credential that created it.
    pub owner_access_key: String,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: i64,
}

/// Result of `put_object`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutOutcome {
    /// Generation assigned to the new record.
    pub generation: u64,
    /// The record that was replaced, if any.
    pub previous: Option<ObjectRecord>,
}

/// Result of `create_bucket`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub(crate) enum CreateBucketOutcome {
    /// The bucket was created.
    Created,
    /// A bucket of that name exists; `owner` is its owner's access key (S3
    /// answers `BucketAlreadyOwnedByYou` or `BucketAlreadyExists` from it).
    AlreadyExists {
        /// Owner's access key.
        owner: String,
    },
    /// No bucket record of that name, but objects or multipart uploads are stored under it
    /// (an orphan: a removed config bucket, say). Refused, so a new owner never inherits them;
    /// S3 answers `BucketAlreadyExists`.
    HoldsData,
}

/// Result of `delete_bucket`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub(crate) enum DeleteBucketOutcome {
    /// The bucket was removed; its record is returned.
    Deleted(BucketRecord),
    /// No such bucket.
    NotFound,
    /// The bucket still holds objects.
    NotEmpty,
}

/// Result of `add_copy`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum AddCopyOutcome {
    /// The copy was added to (or, at the same backend + key, updated in) the record.
    Added,
    /// The object was deleted or overwritten since: the copy was not recorded
    /// and, unless the current record uses the same backend + key, a cleanup for
    /// it was queued in the same batch.
    Superseded,
}

/// A `ListObjects` request against one bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Only keys starting with this (empty: all keys).
    pub prefix: String,
    /// Roll keys up to the first occurrence of this string after the prefix.
    /// Any non-empty string; an empty one means no delimiter, as in S3.
    pub delimiter: Option<String>,
    /// Exclusive start: only keys (and common prefixes) after this. V1 markers
    /// and V2 continuation tokens map onto it. When it is itself a common
    /// prefix of this query (ends at a delimiter), everything under it is skipped,
    /// so feeding `next_start_after` back continues without repeating it.
    pub start_after: Option<String>,
    /// Page size; capped at `MAX_LIST_KEYS`.
    pub max_keys: usize,
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    /// Objects, in key order.
    pub entries: Vec<(String, ObjectSummary)>,
    /// Common prefixes, in order, each once.
    pub common_prefixes: Vec<String>,
    /// More keys or prefixes follow.
    pub is_truncated: bool,
    /// When truncated: the last key or prefix returned, to pass as `start_after`.
    pub next_start_after: Option<String>,
}

/// A `ListMultipartUploads` request against one bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MultipartQuery {
    /// Only uploads whose key starts with this.
    pub prefix: String,
    /// Only uploads for keys after this one (or, with `upload_id_marker`, for
    /// this key with a later upload id, then later keys).
    pub key_marker: Option<String>,
    /// See `key_marker`; ignored without it, as in S3.
    pub upload_id_marker: Option<String>,
    /// Page size; capped at `MAX_LIST_KEYS`.
    pub max_uploads: usize,
}

/// One page of multipart uploads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MultipartPage {
    /// Uploads ordered by key, then upload id.
    pub uploads: Vec<MultipartRecord>,
    /// More uploads follow.
    pub is_truncated: bool,
    /// When truncated: key of the last upload returned.
    pub next_key_marker: Option<String>,
    /// When truncated: upload id of the last upload returned.
    pub next_upload_id_marker: Option<String>,
}
