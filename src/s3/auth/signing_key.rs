//! Signing-key derivation (`AWS4<secret>` → date → region → service → `aws4_request`) and the
//! per-shard cache that makes the common case one HMAC per request instead of five.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::BuildHasher;

use hmac::Mac;

use super::canonical::Sink;
use super::scope::CredentialScope;
use super::secret::SecretKey;
use super::signature::{hmac, new_mac, HmacSha256, Signature};

/// How many derived keys one shard keeps.
///
/// Each distinct (access key, day, region, service) in use on a shard takes one slot, about
/// 400 bytes with the pre-keyed HMAC state. 512 covers hundreds of active tenants per shard for
/// roughly 200 KiB; past that, requests still verify, they just pay the four extra HMACs
/// (a couple of microseconds) of a fresh derivation.
pub const SIGNING_KEY_CACHE_CAPACITY: usize = 512;

/// A derived SigV4 signing key, with the HMAC already keyed so each signature only pays for the
/// message blocks. `Debug` never prints the key: it grants signing power for a whole day.
#[derive(Clone)]
pub struct SigningKey {
    bytes: [u8; 32],
    mac: HmacSha256,
}

impl SigningKey {
    /// Derives the key for `scope` from the secret.
    pub fn derive(secret: &SecretKey, scope: &CredentialScope<'_>) -> Self {
        Self::from_bytes(signing_key(secret, scope.date, scope.region, scope.service))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        SigningKey {
            bytes,
            mac: new_mac(&bytes),
        }
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// A fresh HMAC instance keyed with this key, ready for a message to be streamed in.
    pub(crate) fn mac(&self) -> HmacSha256 {
        self.mac.clone()
    }

    /// HMAC of `message` under this key.
    pub fn sign(&self, message: &[u8]) -> Signature {
        let mut mac = self.mac();
        mac.put(message);
        Signature::from_bytes(mac.finalize().into_bytes().into())
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(***)")
    }
}

/// The derived signing key for `secret` in `date/region/service`.
pub fn signing_key(secret: &SecretKey, date: &str, region: &str, service: &str) -> [u8; 32] {
    // "AWS4" + secret, built on the stack for typical secrets so nothing secret is left in a
    // heap buffer we do not control; longer secrets fall back to a Vec.
    const PREFIX: &[u8] = b"AWS4";
    const STACK: usize = 128;
    let secret = secret.expose().as_bytes();
    let k_date = if secret.len() + PREFIX.len() <= STACK {
        let mut buf = [0u8; STACK];
        buf[..PREFIX.len()].copy_from_slice(PREFIX);
        buf[PREFIX.len()..PREFIX.len() + secret.len()].copy_from_slice(secret);
        let out = hmac(&buf[..PREFIX.len() + secret.len()], date.as_bytes());
        buf.fill(0);
        out
    } else {
        let mut buf = Vec::with_capacity(PREFIX.len() + secret.len());
        buf.extend_from_slice(PREFIX);
        buf.extend_from_slice(secret);
        let out = hmac(&buf, date.as_bytes());
        buf.fill(0);
        out
    };
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

struct CacheEntry {
    access_key_id: Box<str>,
    date: Box<str>,
    region: Box<str>,
    service: Box<str>,
    /// The secret the key was derived from: a rotated secret must not keep hitting the old key.
    secret: SecretKey,
    key: SigningKey,
}

impl CacheEntry {
    fn matches(
        &self,
        access_key_id: &str,
        secret: &SecretKey,
        scope: &CredentialScope<'_>,
    ) -> bool {
        &*self.access_key_id == access_key_id
            && &*self.date == scope.date
            && &*self.region == scope.region
            && &*self.service == scope.service
            && self.secret.ct_eq(secret)
    }
}

/// Bounded memo of derived signing keys, owned by one shard (hence `&mut self`, no locking).
///
/// Entries are found by a keyed (randomly seeded) hash of the scope tuple and then compared
/// field by field, so a hash collision is only ever a miss. When full, the oldest entry goes
/// (FIFO: keys change daily, so age is a good proxy for usefulness).
pub struct SigningKeyCache {
    map: HashMap<u64, CacheEntry>,
    order: VecDeque<u64>,
    hasher: RandomState,
    capacity: usize,
    hits: u64,
    misses: u64,
}

impl Default for SigningKeyCache {
    fn default() -> Self {
        Self::new()
    }
}

impl SigningKeyCache {
    pub fn new() -> Self {
        Self::with_capacity(SIGNING_KEY_CACHE_CAPACITY)
    }

    /// A cache holding at most `capacity` keys (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        SigningKeyCache {
            map: HashMap::with_capacity(capacity.min(SIGNING_KEY_CACHE_CAPACITY)),
            order: VecDeque::with_capacity(capacity.min(SIGNING_KEY_CACHE_CAPACITY)),
            hasher: RandomState::new(),
            capacity,
            hits: 0,
            misses: 0,
        }
    }

    fn slot(&self, access_key_id: &str, scope: &CredentialScope<'_>) -> u64 {
        self.hasher
            .hash_one((access_key_id, scope.date, scope.region, scope.service))
    }

    /// The cached key for this access key and scope, if derived from this same secret.
    pub fn get(
        &mut self,
        access_key_id: &str,
        secret: &SecretKey,
        scope: &CredentialScope<'_>,
    ) -> Option<&SigningKey> {
        let slot = self.slot(access_key_id, scope);
        match self.map.get(&slot) {
            Some(entry) if entry.matches(access_key_id, secret, scope) => {
                self.hits += 1;
                Some(&entry.key)
            }
            _ => {
                self.misses += 1;
                None
            }
        }
    }

    /// Remembers `key`, evicting the oldest entry when full.
    pub fn insert(
        &mut self,
        access_key_id: &str,
        secret: &SecretKey,
        scope: &CredentialScope<'_>,
        key: SigningKey,
    ) {
        let slot = self.slot(access_key_id, scope);
        let entry = CacheEntry {
            access_key_id: access_key_id.into(),
            date: scope.date.into(),
            region: scope.region.into(),
            service: scope.service.into(),
            secret: secret.clone(),
            key,
        };
        if let Some(existing) = self.map.get_mut(&slot) {
            // Same slot (same tuple with a new secret, or a hash collision): replace in place so
            // `order` keeps exactly one mention of each live slot.
            *existing = entry;
            return;
        }
        while self.map.len() >= self.capacity {
            match self.order.pop_front() {
                Some(old) => {
                    self.map.remove(&old);
                }
                None => break,
            }
        }
        self.order.push_back(slot);
        self.map.insert(slot, entry);
    }

    /// The cached key, or a freshly derived (and remembered) one. For the client side, whose
    /// credentials are our own and need no verification before caching.
    pub fn get_or_derive(
        &mut self,
        access_key_id: &str,
        secret: &SecretKey,
        scope: &CredentialScope<'_>,
    ) -> SigningKey {
        if let Some(key) = self.get(access_key_id, secret, scope) {
            return key.clone();
        }
        let key = SigningKey::derive(secret, scope);
        self.insert(access_key_id, secret, scope, key.clone());
        key
    }

    /// Drops every key of `access_key_id` (e.g. after the key was deleted).
    pub fn invalidate(&mut self, access_key_id: &str) {
        self.map.retain(|_, e| &*e.access_key_id != access_key_id);
        let map = &self.map;
        self.order.retain(|slot| map.contains_key(slot));
    }

    pub fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// (hits, misses) since creation, for metrics.
    pub fn stats(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }
}

impl fmt::Debug for SigningKeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyCache")
            .field("len", &self.map.len())
            .field("capacity", &self.capacity)
            .field("hits", &self.hits)
            .field("misses", &self.misses)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn derives_the_aws_example_signing_key() {
        let key = signing_key(&SecretKey::from(SECRET), "20130524", "us-east-1", "s3");
        assert_eq!(
            hex::encode(key),
            "dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378"
        );
    }

    #[test]
    fn general_reference_example_key() {
        // The AWS general reference derivation example (IAM, 20150830, "+" secret).
        let key = signing_key(
            &SecretKey::from("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            "20150830",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(key),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    #[test]
    fn long_secret_uses_heap_path_and_matches_definition() {
        let long = "x".repeat(300);
        let key = signing_key(&SecretKey::from(long.as_str()), "20130524", "r", "s3");
        let k1 = hmac(format!("AWS4{long}").as_bytes(), b"20130524");
        let k2 = hmac(&k1, b"r");
        let k3 = hmac(&k2, b"s3");
        assert_eq!(key, hmac(&k3, b"aws4_request"));
    }

    #[test]
    fn debug_hides_key() {
        let k = SigningKey::from_bytes([0xab; 32]);
        assert_eq!(format!("{k:?}"), "SigningKey(***)");
    }

    #[test]
    fn cache_hits_misses_and_secret_rotation() {
        let secret = SecretKey::from(SECRET);
        let scope = CredentialScope::new("20130524", "us-east-1", "s3");
        let mut cache = SigningKeyCache::new();
        assert!(cache.get("AK", &secret, &scope).is_none());
        let k = cache.get_or_derive("AK", &secret, &scope);
        assert_eq!(
            k.as_bytes(),
            &signing_key(&secret, "20130524", "us-east-1", "s3")
        );
        assert_eq!(
            cache.get("AK", &secret, &scope).map(|k| *k.as_bytes()),
            Some(*k.as_bytes())
        );
        // Other scope fields or another key id miss.
        assert!(cache
            .get(
                "AK",
                &secret,
                &CredentialScope::new("20130525", "us-east-1", "s3")
            )
            .is_none());
        assert!(cache
            .get(
                "AK",
                &secret,
                &CredentialScope::new("20130524", "eu-west-1", "s3")
            )
            .is_none());
        assert!(cache.get("AK2", &secret, &scope).is_none());
        // A rotated secret never gets the old key.
        let rotated = SecretKey::from("another-secret");
        assert!(cache.get("AK", &rotated, &scope).is_none());
        let k2 = cache.get_or_derive("AK", &rotated, &scope);
        assert_ne!(k2.as_bytes(), k.as_bytes());
        assert_eq!(cache.len(), 1);
        let (hits, misses) = cache.stats();
        assert_eq!((hits, misses), (1, 7));
        cache.invalidate("AK");
        assert!(cache.is_empty());
    }

    #[test]
    fn cache_is_bounded_fifo() {
        let secret = SecretKey::from(SECRET);
        let mut cache = SigningKeyCache::with_capacity(3);
        let regions = ["r0", "r1", "r2", "r3", "r4"];
        for r in regions {
            cache.get_or_derive("AK", &secret, &CredentialScope::new("20130524", r, "s3"));
            assert!(cache.len() <= 3);
        }
        assert_eq!(cache.len(), 3);
        for (r, present) in regions.iter().zip([false, false, true, true, true]) {
            let scope = CredentialScope::new("20130524", r, "s3");
            assert_eq!(cache.get("AK", &secret, &scope).is_some(), present, "{r}");
        }
        cache.clear();
        assert!(cache.is_empty());
        assert_eq!(SigningKeyCache::with_capacity(0).capacity, 1);
    }
}
