//! The shape of the YAML file as serde sees it, before validation.
//!
//! Every struct refuses unknown keys (`deny_unknown_fields`), so a typo such as `quota_byte` is an
//! error with its line rather than a silently ignored setting. Every leaf is an `Option<Scalar>`: serde
//! checks only the structure (which keys, mapping or list or scalar), and `validate/` converts the
//! scalars after `${VAR}` expansion, so that `quota_bytes: ${QUOTA}` works as well as a literal number
//! and every value error is reported the same way. None of these types derive `Debug`: they hold
//! secrets as plain strings.

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::fmt;

/// A YAML scalar as written, before expansion and conversion.
#[derive(Clone, PartialEq)]
pub(crate) enum Scalar {
    /// A string (plain or quoted). The only form `${VAR}` expansion applies to.
    Str(String),
    /// An integer (a plain scalar such as `10737418240` or `-5`).
    Int(i128),
    /// A floating-point number (a plain scalar such as `1.5`).
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
    /// The key is written without a value (`key:`, `key: ~`, `key: null`).
    Null,
}

impl Scalar {
    /// Written without a value.
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Scalar::Null)
    }

    /// What the value is, for "expected X, found Y" messages. Quotes the value except for strings,
    /// which may be secrets.
    pub(crate) fn describe(&self) -> String {
        match self {
            Scalar::Str(_) => "a string".to_owned(),
            Scalar::Int(i) => format!("the integer `{i}`"),
            Scalar::Float(x) => format!("the number `{x}`"),
            Scalar::Bool(b) => format!("the boolean `{b}`"),
            Scalar::Null => "no value".to_owned(),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a single value (string, number or boolean)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Str(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar::Str(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Int(i128::from(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Int(i128::from(v)))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Scalar, E> {
                Ok(Scalar::Int(v))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Scalar, E> {
                i128::try_from(v)
                    .map(Scalar::Int)
                    .map_err(|_| E::custom("integer is too large"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Float(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// Field deserializer keeping "written without a value" (`Some(Scalar::Null)`) apart from "not
/// written" (`None`, via `#[serde(default)]`); plain `Option` would turn both into `None`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Scalar>, D::Error> {
    Scalar::deserialize(deserializer).map(Some)
}

/// The whole file.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, expecting = "a mapping of configuration sections")]
pub(crate) struct RawConfig {
    #[serde(default, deserialize_with = "present")]
    pub(crate) routing_strategy: Option<Scalar>,
    pub(crate) backends: Option<Vec<RawBackend>>,
    pub(crate) replication: Option<RawReplication>,
    pub(crate) backend_circuit_breaker: Option<RawCircuitBreaker>,
    pub(crate) rebalance: Option<RawRebalance>,
    pub(crate) cleanup_queue: Option<RawCleanupQueue>,
    pub(crate) rate_limit: Option<RawRateLimit>,
    pub(crate) buckets: Option<Vec<RawBucket>>,
    pub(crate) admin_credentials: Option<Vec<RawCredential>>,
    pub(crate) server: Option<RawServer>,
    pub(crate) catalog: Option<RawCatalog>,
    pub(crate) ui: Option<RawUi>,
    pub(crate) logging: Option<RawLogging>,
}

/// One entry of `backends`: S3 keys, or `path` for a local directory.
#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a backend mapping (name, endpoint, ...)"
)]
pub(crate) struct RawBackend {
    #[serde(default, deserialize_with = "present")]
    pub(crate) name: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) endpoint: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) path: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) region: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) bucket: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) access_key_id: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) secret_access_key: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) force_path_style: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) quota_bytes: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) api_request_limit: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) egress_byte_limit: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) ingress_byte_limit: Option<Scalar>,
    pub(crate) tls: Option<RawBackendTls>,
}

/// `backends[].tls`: how an `https://` S3 backend's certificate is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping (ca_file)")]
pub(crate) struct RawBackendTls {
    #[serde(default, deserialize_with = "present")]
    pub(crate) ca_file: Option<Scalar>,
}

/// `replication`.
#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping (factor, unhealthy_threshold, concurrency, max_bytes_per_sec, busy_bytes_per_sec, worker_interval, batch_size)"
)]
pub(crate) struct RawReplication {
    #[serde(default, deserialize_with = "present")]
    pub(crate) factor: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) unhealthy_threshold: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) concurrency: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) max_bytes_per_sec: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) busy_bytes_per_sec: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) worker_interval: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) batch_size: Option<Scalar>,
}

/// `rebalance`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping (enabled, threshold)")]
pub(crate) struct RawRebalance {
    #[serde(default, deserialize_with = "present")]
    pub(crate) enabled: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) threshold: Option<Scalar>,
}

/// `cleanup_queue`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping (multipart_stale_timeout)")]
pub(crate) struct RawCleanupQueue {
    #[serde(default, deserialize_with = "present")]
    pub(crate) multipart_stale_timeout: Option<Scalar>,
}

/// `backend_circuit_breaker`.
#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping (enabled, failure_threshold, open_timeout, success_threshold)"
)]
pub(crate) struct RawCircuitBreaker {
    #[serde(default, deserialize_with = "present")]
    pub(crate) enabled: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) failure_threshold: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) open_timeout: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) success_threshold: Option<Scalar>,
}

/// `rate_limit` (per client credential).
#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping (enabled, requests_per_sec, burst)"
)]
pub(crate) struct RawRateLimit {
    #[serde(default, deserialize_with = "present")]
    pub(crate) enabled: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) requests_per_sec: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) burst: Option<Scalar>,
}

/// One entry of `buckets`.
#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a bucket mapping (name, credentials, max_multipart_uploads)"
)]
pub(crate) struct RawBucket {
    #[serde(default, deserialize_with = "present")]
    pub(crate) name: Option<Scalar>,
    pub(crate) credentials: Option<Vec<RawCredential>>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) max_multipart_uploads: Option<Scalar>,
}

/// One entry of `buckets[].credentials`.
#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a credential mapping (access_key_id, secret_access_key, permissions)"
)]
pub(crate) struct RawCredential {
    #[serde(default, deserialize_with = "present")]
    pub(crate) access_key_id: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) secret_access_key: Option<Scalar>,
    #[serde(default)]
    pub(crate) permissions: Option<Vec<Scalar>>,
}

/// `server`.
#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping (listen_addr, admin_addr, shards, domain, tls, max_concurrent_requests, backend_timeout, write_stall_timeout, request_timeout, min_upload_bytes_per_second, upload_rate_window, max_in_flight_bytes_per_key)"
)]
pub(crate) struct RawServer {
    #[serde(default, deserialize_with = "present")]
    pub(crate) max_concurrent_requests: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) backend_timeout: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) max_in_flight_bytes_per_key: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) write_stall_timeout: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) request_timeout: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) min_upload_bytes_per_second: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) upload_rate_window: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) listen_addr: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) admin_addr: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) shards: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) domain: Option<Scalar>,
    pub(crate) tls: Option<RawTls>,
}

/// `server.tls`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping (cert_file, key_file)")]
pub(crate) struct RawTls {
    #[serde(default, deserialize_with = "present")]
    pub(crate) cert_file: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) key_file: Option<Scalar>,
}

/// `catalog`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping (path)")]
pub(crate) struct RawCatalog {
    #[serde(default, deserialize_with = "present")]
    pub(crate) path: Option<Scalar>,
}

/// `ui`: the web dashboard and the admin credentials (the Go project's `ui` block names).
#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping (enabled, admin_key, admin_secret, admin_token)"
)]
pub(crate) struct RawUi {
    #[serde(default, deserialize_with = "present")]
    pub(crate) enabled: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) admin_key: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) admin_secret: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) admin_token: Option<Scalar>,
}

/// `logging`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping (access_log_level)")]
pub(crate) struct RawLogging {
    #[serde(default, deserialize_with = "present")]
    pub(crate) access_log_level: Option<Scalar>,
}
