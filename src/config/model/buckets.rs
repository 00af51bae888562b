//! `buckets` and `admin_credentials`: the virtual buckets clients see, their credentials and what
//! each credential may do.

use super::Secret;

/// One entry of `buckets`: a virtual bucket clients see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketConfig {
    /// A valid S3 bucket name, unique among the virtual buckets.
    pub name: String,
    /// The client credentials allowed on this bucket; never empty.
    pub credentials: Vec<CredentialConfig>,
    /// `max_multipart_uploads`: most uploads in progress at once (0 = unlimited, the default);
    /// past it CreateMultipartUpload is refused with 503 SlowDown, as in the Go project.
    pub max_multipart_uploads: u64,
}

/// Largest `buckets[].max_multipart_uploads`: CreateMultipartUpload counts the bucket's uploads
/// (catalog index keys, up to the limit) before each create, so the limit bounds that walk.
pub(crate) const MAX_MULTIPART_UPLOADS_LIMIT: u64 = 100_000;

/// One client credential of a virtual bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialConfig {
    /// `access_key_id`. The same id may appear under several buckets, always with the same secret.
    pub access_key_id: String,
    /// `secret_access_key`.
    pub secret_access_key: Secret,
    /// `permissions`: what this credential may do in this bucket.
    pub permissions: Permissions,
}

/// What a credential may do in a bucket (`permissions: [read, write, list, delete, admin]`).
/// Without the key a credential has everything but `admin`, which keeps the user's guide's
/// configs meaning what they always meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Permissions(u8);

impl Permissions {
    /// GetObject, HeadObject, GetObjectAcl, and the bucket settings (location, versioning, ACL...).
    pub const READ: Permissions = Permissions(1);
    /// PutObject, CopyObject (destination), multipart uploads.
    pub const WRITE: Permissions = Permissions(2);
    /// ListObjects(V2), ListObjectVersions, ListMultipartUploads, ListParts.
    pub const LIST: Permissions = Permissions(4);
    /// DeleteObject, DeleteObjects.
    pub const DELETE: Permissions = Permissions(8);
    /// DeleteBucket and bucket management.
    pub const ADMIN: Permissions = Permissions(16);
    pub const NONE: Permissions = Permissions(0);
    pub const ALL: Permissions = Permissions(31);
    /// The default: everything but `admin`.
    pub const DEFAULT: Permissions = Permissions(15);

    /// The name used in the config, for one flag.
    pub const NAMES: [(&'static str, Permissions); 5] = [
        ("read", Permissions::READ),
        ("write", Permissions::WRITE),
        ("list", Permissions::LIST),
        ("delete", Permissions::DELETE),
        ("admin", Permissions::ADMIN),
    ];

    pub const fn union(self, other: Permissions) -> Permissions {
        Permissions(self.0 | other.0)
    }

    pub const fn contains(self, other: Permissions) -> bool {
        self.0 & other.0 == other.0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}
