//! On-disk encodings of the catalog: ordered keys and versioned values.
//!
//! Keys are built so that the orders the S3 API needs are plain byte-range
//! scans in fjall:
//! - objects: `[bucket_len u8][bucket][key]`; within one bucket the order is the
//!   key's UTF-8 byte order, which is S3's listing order.
//! - multipart: `[0x01][upload_id]` holds the record; the bucket index
//!   `[0x02][bucket_len u8][bucket][escaped key][0x00 0x00][upload_id]` orders a
//!   bucket's uploads by key, then upload id (the escape maps 0x00 to 0x00 0xFF,
//!   so the terminator sorts below any continuation of the key).
//! - queue: `[kind tag][seq u64 BE]`, so each queue is an id-ordered range.
//!
//! Values start with a format byte ([`FORMAT_V1`]); a later format can add fields
//! and still decode v1 values. Integers are LEB128 varints (timestamps: fixed
//! 8-byte big-endian two's complement), strings are varint-length-prefixed UTF-8,
//! options a 0/1 tag. Decoding never panics and never allocates more than the
//! input could hold: lengths are checked against the remaining bytes first.
//!
//! The object value leads with size, last-modified and ETag so a listing decodes
//! just that head ([`decode_summary`]).

use crate::catalog::model::{
    BackendUsage, BucketRecord, Copy, CopyState, MonthlyUsage, MultipartRecord, ObjectRecord,
    ObjectSummary, QueueId, QueueItem, QueueKind,
};
use crate::catalog::{CatalogError, MAX_BUCKET_NAME_LEN, MAX_OBJECT_KEY_LEN};

/// The only value format written so far.
pub(crate) const FORMAT_V1: u8 = 1;

/// Longest a LEB128-encoded u64 can be (ceil(64 / 7)).
const MAX_VARINT_LEN: usize = 10;

/// Capacity of an encoded object key: length byte, longest bucket, longest key.
pub(crate) const OBJECT_KEY_CAP: usize = 1 + MAX_BUCKET_NAME_LEN + MAX_OBJECT_KEY_LEN;

/// Leading byte of a multipart record key (by upload id).
pub(crate) const MP_RECORD_TAG: u8 = 0x01;
/// Leading byte of a multipart bucket-index key.
pub(crate) const MP_INDEX_TAG: u8 = 0x02;

type Result<T> = std::result::Result<T, CatalogError>;

// ---------------------------------------------------------------- keys

/// An encoded object key on the stack: point lookups allocate nothing.
pub(crate) struct ObjectKey {
    buf: [u8; OBJECT_KEY_CAP],
    len: usize,
}

impl ObjectKey {
    /// Encodes `(bucket, key)`; fails if either is longer than its limit.
    pub(crate) fn new(bucket: &str, key: &str) -> Result<Self> {
        check_bucket(bucket)?;
        check_key(key)?;
        let mut buf = [0u8; OBJECT_KEY_CAP];
        let blen = bucket.len();
        // check_bucket bounded blen to MAX_BUCKET_NAME_LEN (255).
        buf[0] = blen as u8;
        buf[1..1 + blen].copy_from_slice(bucket.as_bytes());
        buf[1 + blen..1 + blen + key.len()].copy_from_slice(key.as_bytes());
        Ok(Self {
            buf,
            len: 1 + blen + key.len(),
        })
    }
}

impl AsRef<[u8]> for ObjectKey {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Fails when a bucket name does not fit the one-byte length prefix.
pub(crate) fn check_bucket(bucket: &str) -> Result<()> {
    if bucket.len() > MAX_BUCKET_NAME_LEN {
        return Err(CatalogError::InvalidInput("bucket name too long"));
    }
    Ok(())
}

/// Fails when an object key is longer than S3 allows.
pub(crate) fn check_key(key: &str) -> Result<()> {
    if key.len() > MAX_OBJECT_KEY_LEN {
        return Err(CatalogError::InvalidInput("object key too long"));
    }
    Ok(())
}

/// Appends `[bucket_len][bucket]`, the prefix of all of a bucket's object keys.
pub(crate) fn push_bucket_prefix(out: &mut Vec<u8>, bucket: &str) -> Result<()> {
    check_bucket(bucket)?;
    out.push(bucket.len() as u8);
    out.extend_from_slice(bucket.as_bytes());
    Ok(())
}

/// Splits an encoded object key into (bucket, key).
pub(crate) fn decode_object_key(raw: &[u8]) -> Result<(&str, &str)> {
    let (&blen, rest) = raw
        .split_first()
        .ok_or(CatalogError::Corrupt("empty object key"))?;
    let blen = usize::from(blen);
    if rest.len() < blen {
        return Err(CatalogError::Corrupt("object key shorter than its bucket"));
    }
    let (b, k) = rest.split_at(blen);
    let b = std::str::from_utf8(b).map_err(|_| CatalogError::Corrupt("bucket not UTF-8"))?;
    let k = std::str::from_utf8(k).map_err(|_| CatalogError::Corrupt("key not UTF-8"))?;
    Ok((b, k))
}

/// Turns `bytes` into the smallest byte string greater than every string that
/// starts with it (drop trailing 0xFF bytes, increment the last one). Returns
/// false when no such string exists (empty or all 0xFF): the range is unbounded.
pub(crate) fn prefix_successor(bytes: &mut Vec<u8>) -> bool {
    while let Some(last) = bytes.last_mut() {
        if *last < 0xFF {
            *last += 1;
            return true;
        }
        bytes.pop();
    }
    false
}

/// Queue key: `[kind tag][seq BE]`.
pub(crate) fn queue_key(id: QueueId) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = id.kind.tag();
    k[1..].copy_from_slice(&id.seq.to_be_bytes());
    k
}

/// Inverse of [`queue_key`].
pub(crate) fn decode_queue_key(raw: &[u8]) -> Result<QueueId> {
    let bad = CatalogError::Corrupt("queue key");
    let (&tag, seq) = raw
        .split_first()
        .ok_or(CatalogError::Corrupt("queue key"))?;
    let kind = QueueKind::from_tag(tag).ok_or(CatalogError::Corrupt("queue key tag"))?;
    let seq: [u8; 8] = seq.try_into().map_err(|_| bad)?;
    Ok(QueueId {
        kind,
        seq: u64::from_be_bytes(seq),
    })
}

/// Multipart record key: `[0x01][upload_id]`.
pub(crate) fn mp_record_key(upload_id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + upload_id.len());
    k.push(MP_RECORD_TAG);
    k.extend_from_slice(upload_id.as_bytes());
    k
}

/// Appends `[0x02][bucket_len][bucket]`, the prefix of a bucket's upload index.
pub(crate) fn push_mp_index_bucket(out: &mut Vec<u8>, bucket: &str) -> Result<()> {
    out.push(MP_INDEX_TAG);
    push_bucket_prefix(out, bucket)
}

/// Appends `bytes` with 0x00 escaped as 0x00 0xFF (order-preserving).
pub(crate) fn push_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
}

/// The terminator after an escaped key: sorts below any escaped continuation.
pub(crate) const ESCAPED_TERMINATOR: [u8; 2] = [0x00, 0x00];

/// Full index key of one upload.
pub(crate) fn mp_index_key(bucket: &str, key: &str, upload_id: &str) -> Result<Vec<u8>> {
    let mut k = Vec::with_capacity(4 + bucket.len() + key.len() + upload_id.len() + 2);
    push_mp_index_bucket(&mut k, bucket)?;
    push_escaped(&mut k, key.as_bytes());
    k.extend_from_slice(&ESCAPED_TERMINATOR);
    k.extend_from_slice(upload_id.as_bytes());
    Ok(k)
}

// ---------------------------------------------------------------- value writer

/// Appends encoded fields to a buffer.
pub(crate) struct Enc<'a>(pub(crate) &'a mut Vec<u8>);

impl Enc<'_> {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    fn varint(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7F) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(byte);
                return;
            }
            self.0.push(byte | 0x80);
        }
    }

    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn str(&mut self, s: &str) {
        self.varint(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }

    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
        }
    }

    fn pairs(&mut self, pairs: &[(String, String)]) {
        self.varint(pairs.len() as u64);
        for (k, v) in pairs {
            self.str(k);
            self.str(v);
        }
    }
}

// ---------------------------------------------------------------- value reader

/// Reads encoded fields from a slice; every read is bounds-checked.
struct Dec<'a> {
    buf: &'a [u8],
}

impl<'a> Dec<'a> {
    /// Checks the format byte and positions after it.
    fn start(buf: &'a [u8]) -> Result<Self> {
        let (&format, rest) = buf
            .split_first()
            .ok_or(CatalogError::Corrupt("empty value"))?;
        if format != FORMAT_V1 {
            return Err(CatalogError::Corrupt("unknown value format"));
        }
        Ok(Self { buf: rest })
    }

    fn finish(self) -> Result<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(CatalogError::Corrupt("trailing bytes in value"))
        }
    }

    fn u8(&mut self) -> Result<u8> {
        let (&b, rest) = self
            .buf
            .split_first()
            .ok_or(CatalogError::Corrupt("value truncated"))?;
        self.buf = rest;
        Ok(b)
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() < n {
            return Err(CatalogError::Corrupt("value truncated"));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn varint(&mut self) -> Result<u64> {
        let mut v: u64 = 0;
        for i in 0..MAX_VARINT_LEN {
            let b = self.u8()?;
            let shift = 7 * i as u32;
            let bits = u64::from(b & 0x7F);
            // The tenth byte may carry only the top bit of a u64.
            if i == MAX_VARINT_LEN - 1 && bits > 1 {
                return Err(CatalogError::Corrupt("varint overflow"));
            }
            v |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(CatalogError::Corrupt("varint too long"))
    }

    /// A count or length that must fit in the remaining input (each element
    /// takes at least `min_elem` bytes), so corrupt lengths cannot make us
    /// allocate more than the value's own size.
    fn len(&mut self, min_elem: usize) -> Result<usize> {
        let n = self.varint()?;
        let n = usize::try_from(n).map_err(|_| CatalogError::Corrupt("length overflow"))?;
        if n.saturating_mul(min_elem) > self.buf.len() {
            return Err(CatalogError::Corrupt("length exceeds value"));
        }
        Ok(n)
    }

    fn u32(&mut self) -> Result<u32> {
        u32::try_from(self.varint()?).map_err(|_| CatalogError::Corrupt("u32 overflow"))
    }

    fn i64(&mut self) -> Result<i64> {
        let b: [u8; 8] = self
            .bytes(8)?
            .try_into()
            .map_err(|_| CatalogError::Corrupt("value truncated"))?;
        Ok(i64::from_be_bytes(b))
    }

    fn str(&mut self) -> Result<String> {
        let n = self.len(1)?;
        let b = self.bytes(n)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| CatalogError::Corrupt("string not UTF-8"))
    }

    fn opt_str(&mut self) -> Result<Option<String>> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.str().map(Some),
            _ => Err(CatalogError::Corrupt("option tag")),
        }
    }

    fn pairs(&mut self) -> Result<Vec<(String, String)>> {
        // Each pair is at least two empty strings: two length bytes.
        let n = self.len(2)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push((self.str()?, self.str()?));
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------- objects

/// Encodes an object record (replacing `out`'s contents).
pub(crate) fn encode_object(r: &ObjectRecord, out: &mut Vec<u8>) {
    out.clear();
    let mut e = Enc(out);
    e.u8(FORMAT_V1);
    // Summary head first: listings decode only these three.
    e.varint(r.size);
    e.i64(r.last_modified_ms);
    e.str(&r.etag);
    e.varint(r.generation);
    e.opt_str(r.content_type.as_deref());
    e.opt_str(r.cache_control.as_deref());
    e.opt_str(r.content_disposition.as_deref());
    e.opt_str(r.content_encoding.as_deref());
    e.opt_str(r.content_language.as_deref());
    e.opt_str(r.expires.as_deref());
    e.pairs(&r.user_metadata);
    match &r.checksum {
        None => e.u8(0),
        Some((alg, val)) => {
            e.u8(1);
            e.str(alg);
            e.str(val);
        }
    }
    match r.parts_count {
        None => e.u8(0),
        Some(n) => {
            e.u8(1);
            e.varint(u64::from(n));
        }
    }
    e.varint(r.copies.len() as u64);
    for c in &r.copies {
        e.str(&c.backend);
        e.str(&c.backend_key);
        e.u8(match c.state {
            CopyState::Complete => 0,
            CopyState::Stale => 1,
        });
    }
}

/// Decodes only the listing head of an object record.
pub(crate) fn decode_summary(raw: &[u8]) -> Result<ObjectSummary> {
    let mut d = Dec::start(raw)?;
    let size = d.varint()?;
    let last_modified_ms = d.i64()?;
    let etag = d.str()?;
    Ok(ObjectSummary {
        size,
        etag,
        last_modified_ms,
    })
}

/// Decodes a full object record.
pub(crate) fn decode_object(raw: &[u8]) -> Result<ObjectRecord> {
    let mut d = Dec::start(raw)?;
    let size = d.varint()?;
    let last_modified_ms = d.i64()?;
    let etag = d.str()?;
    let generation = d.varint()?;
    let content_type = d.opt_str()?;
    let cache_control = d.opt_str()?;
    let content_disposition = d.opt_str()?;
    let content_encoding = d.opt_str()?;
    let content_language = d.opt_str()?;
    let expires = d.opt_str()?;
    let user_metadata = d.pairs()?;
    let checksum = match d.u8()? {
        0 => None,
        1 => Some((d.str()?, d.str()?)),
        _ => return Err(CatalogError::Corrupt("checksum tag")),
    };
    let parts_count = match d.u8()? {
        0 => None,
        1 => Some(d.u32()?),
        _ => return Err(CatalogError::Corrupt("parts tag")),
    };
    // A copy is at least two length bytes and a state byte.
    let n = d.len(3)?;
    let mut copies = Vec::with_capacity(n);
    for _ in 0..n {
        let backend = d.str()?;
        let backend_key = d.str()?;
        let state = match d.u8()? {
            0 => CopyState::Complete,
            1 => CopyState::Stale,
            _ => return Err(CatalogError::Corrupt("copy state")),
        };
        copies.push(Copy {
            backend,
            backend_key,
            state,
        });
    }
    d.finish()?;
    Ok(ObjectRecord {
        size,
        etag,
        content_type,
        cache_control,
        content_disposition,
        content_encoding,
        content_language,
        expires,
        user_metadata,
        last_modified_ms,
        checksum,
        parts_count,
        generation,
        copies,
    })
}

// ---------------------------------------------------------------- small values

/// Encodes per-backend usage.
pub(crate) fn encode_usage(u: &BackendUsage, out: &mut Vec<u8>) {
    out.clear();
    let mut e = Enc(out);
    e.u8(FORMAT_V1);
    e.varint(u.bytes_used);
    e.varint(u.objects);
}

/// Decodes per-backend usage.
pub(crate) fn decode_usage(raw: &[u8]) -> Result<BackendUsage> {
    let mut d = Dec::start(raw)?;
    let u = BackendUsage {
        bytes_used: d.varint()?,
        objects: d.varint()?,
    };
    d.finish()?;
    Ok(u)
}

/// First byte of monthly-usage keys in the `backends` keyspace. Backend names
/// are printable ASCII, so these keys never collide with a name.
pub(crate) const MONTHLY_USAGE_TAG: u8 = 0;

/// `backends` key of one backend's usage in `month` (`yyyymm`): the tag, the
/// name, a zero separator and the month big-endian.
pub(crate) fn monthly_usage_key(backend: &str, month: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(backend.len() + 6);
    k.push(MONTHLY_USAGE_TAG);
    k.extend_from_slice(backend.as_bytes());
    k.push(0);
    k.extend_from_slice(&month.to_be_bytes());
    k
}

/// Encodes a monthly usage record.
pub(crate) fn encode_monthly_usage(u: &MonthlyUsage, out: &mut Vec<u8>) {
    out.clear();
    let mut e = Enc(out);
    e.u8(FORMAT_V1);
    e.varint(u.api_requests);
    e.varint(u.egress_bytes);
    e.varint(u.ingress_bytes);
}

/// Decodes a monthly usage record.
pub(crate) fn decode_monthly_usage(raw: &[u8]) -> Result<MonthlyUsage> {
    let mut d = Dec::start(raw)?;
    let u = MonthlyUsage {
        api_requests: d.varint()?,
        egress_bytes: d.varint()?,
        ingress_bytes: d.varint()?,
    };
    d.finish()?;
    Ok(u)
}

/// Encodes a meta counter.
pub(crate) fn encode_u64(v: u64, out: &mut Vec<u8>) {
    out.clear();
    let mut e = Enc(out);
    e.u8(FORMAT_V1);
    e.varint(v);
}

/// Decodes a meta counter.
pub(crate) fn decode_u64(raw: &[u8]) -> Result<u64> {
    let mut d = Dec::start(raw)?;
    let v = d.varint()?;
    d.finish()?;
    Ok(v)
}

/// Encodes a queue item.
pub(crate) fn encode_queue_item(item: &QueueItem, out: &mut Vec<u8>) {
    out.clear();
    let mut e = Enc(out);
    e.u8(FORMAT_V1);
    match item {
        QueueItem::Replicate {
            bucket,
            key,
            generation,
        } => {
            e.u8(QueueKind::Replicate.tag());
            e.str(bucket);
            e.str(key);
            e.varint(*generation);
        }
        QueueItem::Cleanup {
            backend,
            backend_key,
            generation,
        } => {
            e.u8(QueueKind::Cleanup.tag());
            e.str(backend);
            e.str(backend_key);
            e.varint(*generation);
        }
    }
}

/// Decodes a queue item.
pub(crate) fn decode_queue_item(raw: &[u8]) -> Result<QueueItem> {
    let mut d = Dec::start(raw)?;
    let item = match QueueKind::from_tag(d.u8()?) {
        Some(QueueKind::Replicate) => QueueItem::Replicate {
            bucket: d.str()?,
            key: d.str()?,
            generation: d.varint()?,
        },
        Some(QueueKind::Cleanup) => QueueItem::Cleanup {
            backend: d.str()?,
            backend_key: d.str()?,
            generation: d.varint()?,
        },
        None => return Err(CatalogError::Corrupt("queue item tag")),
    };
    d.finish()?;
    Ok(item)
}

/// Encodes a bucket record.
pub(crate) fn encode_bucket(b: &BucketRecord, out: &mut Vec<u8>) {
    out.clear();
    let mut e = Enc(out);
    e.u8(FORMAT_V1);
    e.str(&b.name);
    e.str(&b.owner_access_key);
    e.i64(b.created_ms);
}

/// Decodes a bucket record.
pub(crate) fn decode_bucket(raw: &[u8]) -> Result<BucketRecord> {
    let mut d = Dec::start(raw)?;
    let b = BucketRecord {
        name: d.str()?,
        owner_access_key: d.str()?,
        created_ms: d.i64()?,
    };
    d.finish()?;
    Ok(b)
}

/// Encodes a multipart record.
pub(crate) fn encode_multipart(m: &MultipartRecord, out: &mut Vec<u8>) {
    out.clear();
    let mut e = Enc(out);
    e.u8(FORMAT_V1);
    e.str(&m.bucket);
    e.str(&m.key);
    e.str(&m.upload_id);
    e.str(&m.backend);
    e.str(&m.backend_key);
    e.str(&m.backend_upload_id);
    e.i64(m.initiated_ms);
    e.opt_str(m.content_type.as_deref());
    e.opt_str(m.cache_control.as_deref());
    e.opt_str(m.content_disposition.as_deref());
    e.opt_str(m.content_encoding.as_deref());
    e.opt_str(m.content_language.as_deref());
    e.opt_str(m.expires.as_deref());
    e.opt_str(m.checksum_algorithm.as_deref());
    e.pairs(&m.user_metadata);
}

/// Decodes a multipart record.
pub(crate) fn decode_multipart(raw: &[u8]) -> Result<MultipartRecord> {
    let mut d = Dec::start(raw)?;
    let m = MultipartRecord {
        bucket: d.str()?,
        key: d.str()?,
        upload_id: d.str()?,
        backend: d.str()?,
        backend_key: d.str()?,
        backend_upload_id: d.str()?,
        initiated_ms: d.i64()?,
        content_type: d.opt_str()?,
        cache_control: d.opt_str()?,
        content_disposition: d.opt_str()?,
        content_encoding: d.opt_str()?,
        content_language: d.opt_str()?,
        expires: d.opt_str()?,
        checksum_algorithm: d.opt_str()?,
        user_metadata: d.pairs()?,
    };
    d.finish()?;
    Ok(m)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Property-test iterations: enough to hit edge cases, fast in debug builds.
    const CASES: usize = 2000;

    fn sample_record() -> ObjectRecord {
        ObjectRecord {
            size: 1 << 40,
            etag: "\"abc-3\"".into(),
            content_type: Some("text/plain; charset=utf-8".into()),
            cache_control: None,
            content_disposition: Some("attachment; filename=\"ü.txt\"".into()),
            content_encoding: Some("gzip".into()),
            content_language: None,
            expires: Some("Thu, 01 Dec 1994 16:00:00 GMT".into()),
            user_metadata: vec![("a".into(), "1".into()), ("".into(), "".into())],
            last_modified_ms: -5,
            checksum: Some(("CRC32".into(), "AAAAAA==".into())),
            parts_count: Some(3),
            generation: u64::MAX,
            copies: vec![
                Copy {
                    backend: "b1".into(),
                    backend_key: "k/1".into(),
                    state: CopyState::Complete,
                },
                Copy {
                    backend: "b2".into(),
                    backend_key: "".into(),
                    state: CopyState::Stale,
                },
            ],
        }
    }

    /// A random string drawn from a small alphabet rich in order edge cases:
    /// NUL, '/', multi-byte UTF-8, the highest code point.
    fn rand_string(rng: &mut StdRng, max_len: usize) -> String {
        const ALPHABET: &[char] = &[
            '\0',
            'a',
            'b',
            '/',
            ' ',
            '+',
            '%',
            '~',
            '\u{7f}',
            'é',
            '字',
            '\u{10FFFF}',
            '😀',
        ];
        let n = rng.random_range(0..=max_len);
        (0..n)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())])
            .collect()
    }

    #[test]
    fn object_roundtrip_and_summary() {
        let r = sample_record();
        let mut buf = Vec::new();
        encode_object(&r, &mut buf);
        assert_eq!(buf[0], FORMAT_V1);
        assert_eq!(decode_object(&buf).unwrap(), r);
        let s = decode_summary(&buf).unwrap();
        assert_eq!(s.size, r.size);
        assert_eq!(s.etag, r.etag);
        assert_eq!(s.last_modified_ms, r.last_modified_ms);
        let empty = ObjectRecord::default();
        encode_object(&empty, &mut buf);
        assert_eq!(decode_object(&buf).unwrap(), empty);
    }

    #[test]
    fn truncated_or_garbled_values_are_errors_not_panics() {
        let mut buf = Vec::new();
        encode_object(&sample_record(), &mut buf);
        for cut in 0..buf.len() {
            assert!(decode_object(&buf[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = buf.clone();
        long.push(0);
        assert!(matches!(
            decode_object(&long),
            Err(CatalogError::Corrupt("trailing bytes in value"))
        ));
        let mut wrong_format = buf.clone();
        wrong_format[0] = 9;
        assert!(matches!(
            decode_object(&wrong_format),
            Err(CatalogError::Corrupt("unknown value format"))
        ));
        // A huge length must be refused before allocating.
        let huge = [
            FORMAT_V1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F,
        ];
        assert!(decode_object(&huge).is_err());
        // Random garbage: never panics.
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..CASES {
            let n = rng.random_range(0..64);
            let mut g: Vec<u8> = (0..n).map(|_| rng.random()).collect();
            if let Some(f) = g.first_mut() {
                *f = FORMAT_V1;
            }
            let _ = decode_object(&g);
            let _ = decode_multipart(&g);
            let _ = decode_queue_item(&g);
            let _ = decode_usage(&g);
            let _ = decode_bucket(&g);
        }
        // Bit flips of a valid value: never panic.
        for i in 0..buf.len() {
            for bit in 0..8 {
                let mut f = buf.clone();
                f[i] ^= 1 << bit;
                let _ = decode_object(&f);
            }
        }
    }

    /// The on-disk format, byte for byte: existing databases must keep opening, so any change
    /// here needs a new format byte (and a decoder for the old one), not an edit of this test.
    #[test]
    fn on_disk_format_is_pinned() {
        let hex = |b: &[u8]| hex::encode(b);
        let mut buf = Vec::new();
        let r = ObjectRecord {
            size: 1 << 40,
            etag: "\"abc-3\"".into(),
            content_type: Some("text/plain".into()),
            cache_control: Some("no-cache".into()),
            content_disposition: None,
            content_encoding: Some("gzip".into()),
            content_language: Some("en".into()),
            expires: Some("Thu, 01 Dec 1994 16:00:00 GMT".into()),
            user_metadata: vec![("a".into(), "1".into())],
            last_modified_ms: 1_700_000_000_123,
            checksum: Some(("CRC32".into(), "AAAAAA==".into())),
            parts_count: Some(3),
            generation: 300,
            copies: vec![
                Copy {
                    backend: "b1".into(),
                    backend_key: "k/1".into(),
                    state: CopyState::Complete,
                },
                Copy {
                    backend: "b2".into(),
                    backend_key: "k/2".into(),
                    state: CopyState::Stale,
                },
            ],
        };
        encode_object(&r, &mut buf);
        assert_eq!(
            hex(&buf),
            "018080808080200000018bcfe5687b07226162632d3322ac02010a746578742f706c61696e01086e6f\
             2d6361636865000104677a69700102656e011d5468752c2030312044656320313939342031363a30\
             303a303020474d54010161013101054352433332084141414141413d3d010302026231036b2f3100\
             026232036b2f3201"
        );
        encode_usage(
            &BackendUsage {
                bytes_used: 12345,
                objects: 7,
            },
            &mut buf,
        );
        assert_eq!(hex(&buf), "01b96007");
        encode_monthly_usage(
            &MonthlyUsage {
                api_requests: 1,
                egress_bytes: 200,
                ingress_bytes: 70000,
            },
            &mut buf,
        );
        assert_eq!(hex(&buf), "0101c801f0a204");
        encode_queue_item(
            &QueueItem::Replicate {
                bucket: "b".into(),
                key: "k".into(),
                generation: 9,
            },
            &mut buf,
        );
        assert_eq!(hex(&buf), "01010162016b09");
        encode_queue_item(
            &QueueItem::Cleanup {
                backend: "x".into(),
                backend_key: "y".into(),
                generation: 130,
            },
            &mut buf,
        );
        assert_eq!(hex(&buf), "0102017801798201");
        encode_bucket(
            &BucketRecord {
                name: "n".into(),
                owner_access_key: "AK".into(),
                created_ms: 17,
            },
            &mut buf,
        );
        assert_eq!(hex(&buf), "01016e02414b0000000000000011");
        let m = MultipartRecord {
            bucket: "b".into(),
            key: "k".into(),
            upload_id: "u".into(),
            backend: "be".into(),
            backend_key: "bk".into(),
            backend_upload_id: "bu".into(),
            initiated_ms: 5,
            content_type: Some("x/y".into()),
            expires: Some("e".into()),
            checksum_algorithm: Some("SHA256".into()),
            user_metadata: vec![("m".into(), "v".into())],
            ..Default::default()
        };
        encode_multipart(&m, &mut buf);
        assert_eq!(
            hex(&buf),
            "010162016b017502626502626b02627500000000000000050103782f79000000000101650106534841\
             32353601016d0176"
        );
        encode_u64(1, &mut buf);
        assert_eq!(hex(&buf), "0101");
        assert_eq!(
            hex(ObjectKey::new("bkt", "a/b").unwrap().as_ref()),
            "03626b74612f62"
        );
        let qid = QueueId {
            kind: QueueKind::Cleanup,
            seq: 258,
        };
        assert_eq!(hex(&queue_key(qid)), "020000000000000102");
        assert_eq!(hex(&mp_record_key("up1")), "01757031");
        assert_eq!(
            hex(&mp_index_key("bkt", "a\0b", "up1").unwrap()),
            "0203626b746100ff620000757031"
        );
        assert_eq!(hex(&monthly_usage_key("b1", 202501)), "0062310000031705");
    }

    #[test]
    fn varint_edges() {
        for v in [0u64, 1, 127, 128, 16383, 16384, u64::MAX - 1, u64::MAX] {
            let mut buf = Vec::new();
            encode_u64(v, &mut buf);
            assert!(buf.len() <= 1 + MAX_VARINT_LEN);
            assert_eq!(decode_u64(&buf).unwrap(), v);
        }
        // 11 continuation bytes, and a tenth byte with too many bits.
        let mut too_long = vec![FORMAT_V1];
        too_long.extend([0x80; 10]);
        too_long.push(0);
        assert!(decode_u64(&too_long).is_err());
        let mut overflow = vec![FORMAT_V1];
        overflow.extend([0xFF; 9]);
        overflow.push(0x02);
        assert!(decode_u64(&overflow).is_err());
    }

    #[test]
    fn small_values_roundtrip() {
        let mut buf = Vec::new();
        let u = BackendUsage {
            bytes_used: 12345678901,
            objects: 3,
        };
        encode_usage(&u, &mut buf);
        assert_eq!(decode_usage(&buf).unwrap(), u);
        for item in [
            QueueItem::Replicate {
                bucket: "b".into(),
                key: "k é".into(),
                generation: 9,
            },
            QueueItem::Cleanup {
                backend: "x".into(),
                backend_key: "y".into(),
                generation: 0,
            },
        ] {
            encode_queue_item(&item, &mut buf);
            assert_eq!(decode_queue_item(&buf).unwrap(), item);
        }
        let b = BucketRecord {
            name: "n".into(),
            owner_access_key: "AK".into(),
            created_ms: 17,
        };
        encode_bucket(&b, &mut buf);
        assert_eq!(decode_bucket(&buf).unwrap(), b);
        let m = MultipartRecord {
            bucket: "b".into(),
            key: "k".into(),
            upload_id: "u".into(),
            backend: "be".into(),
            backend_key: "bk".into(),
            backend_upload_id: "bu".into(),
            initiated_ms: 5,
            content_type: Some("x/y".into()),
            checksum_algorithm: Some("SHA256".into()),
            user_metadata: vec![("m".into(), "v".into())],
            ..Default::default()
        };
        encode_multipart(&m, &mut buf);
        assert_eq!(decode_multipart(&buf).unwrap(), m);
        for id in [
            QueueId {
                kind: QueueKind::Cleanup,
                seq: 0,
            },
            QueueId {
                kind: QueueKind::Replicate,
                seq: u64::MAX,
            },
        ] {
            assert_eq!(decode_queue_key(&queue_key(id)).unwrap(), id);
        }
        assert!(decode_queue_key(&[9, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(decode_queue_key(&[1, 0]).is_err());
    }

    #[test]
    fn queue_keys_order_by_kind_then_seq() {
        let a = queue_key(QueueId {
            kind: QueueKind::Replicate,
            seq: 255,
        });
        let b = queue_key(QueueId {
            kind: QueueKind::Replicate,
            seq: 256,
        });
        let c = queue_key(QueueId {
            kind: QueueKind::Cleanup,
            seq: 0,
        });
        assert!(a < b && b < c);
    }

    #[test]
    fn object_key_property_roundtrip_and_order() {
        let mut rng = StdRng::seed_from_u64(42);
        for _ in 0..CASES {
            let bucket = rand_string(&mut rng, 6);
            let k1 = rand_string(&mut rng, 8);
            let k2 = rand_string(&mut rng, 8);
            let e1 = ObjectKey::new(&bucket, &k1).unwrap();
            let e2 = ObjectKey::new(&bucket, &k2).unwrap();
            assert_eq!(decode_object_key(e1.as_ref()).unwrap(), (&*bucket, &*k1));
            // Order within a bucket is the key's UTF-8 byte order (S3 order).
            assert_eq!(
                e1.as_ref().cmp(e2.as_ref()),
                k1.as_bytes().cmp(k2.as_bytes()),
                "{k1:?} vs {k2:?}"
            );
            // Every key of a bucket lies inside the bucket's prefix range, and a
            // key prefix's range holds exactly the keys that start with it.
            let mut lo = Vec::new();
            push_bucket_prefix(&mut lo, &bucket).unwrap();
            let plen = rng.random_range(0..=k1.len());
            if k1.is_char_boundary(plen) {
                lo.extend_from_slice(&k1.as_bytes()[..plen]);
                let mut hi = lo.clone();
                assert!(prefix_successor(&mut hi));
                assert!(lo.as_slice() <= e1.as_ref() && e1.as_ref() < hi.as_slice());
                let inside = lo.as_slice() <= e2.as_ref() && e2.as_ref() < hi.as_slice();
                assert_eq!(inside, k2.as_bytes().starts_with(&k1.as_bytes()[..plen]));
            }
        }
    }

    #[test]
    fn object_key_limits() {
        let long_bucket = "b".repeat(MAX_BUCKET_NAME_LEN + 1);
        assert!(ObjectKey::new(&long_bucket, "k").is_err());
        let long_key = "k".repeat(MAX_OBJECT_KEY_LEN + 1);
        assert!(ObjectKey::new("b", &long_key).is_err());
        let max = ObjectKey::new(
            &"b".repeat(MAX_BUCKET_NAME_LEN),
            &"k".repeat(MAX_OBJECT_KEY_LEN),
        )
        .unwrap();
        assert_eq!(max.as_ref().len(), OBJECT_KEY_CAP);
        assert!(decode_object_key(&[]).is_err());
        assert!(decode_object_key(&[5, b'a']).is_err());
        assert!(decode_object_key(&[1, 0xFF]).is_err());
    }

    #[test]
    fn prefix_successor_edges() {
        let mut v = vec![1, 0xFF, 0xFF];
        assert!(prefix_successor(&mut v));
        assert_eq!(v, vec![2]);
        let mut v = vec![0xFF];
        assert!(!prefix_successor(&mut v));
        let mut v = Vec::new();
        assert!(!prefix_successor(&mut v));
    }

    #[test]
    fn multipart_index_property_order() {
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..CASES {
            let (k1, k2) = (rand_string(&mut rng, 5), rand_string(&mut rng, 5));
            let (u1, u2) = (rand_string(&mut rng, 3), rand_string(&mut rng, 3));
            let a = mp_index_key("b", &k1, &u1).unwrap();
            let b = mp_index_key("b", &k2, &u2).unwrap();
            let want = k1
                .as_bytes()
                .cmp(k2.as_bytes())
                .then(u1.as_bytes().cmp(u2.as_bytes()));
            assert_eq!(a.cmp(&b), want, "({k1:?},{u1:?}) vs ({k2:?},{u2:?})");
        }
    }
}
