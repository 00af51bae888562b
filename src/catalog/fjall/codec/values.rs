//! The versioned value format: a format byte ([`FORMAT_V1`]), then the fields in a fixed order.
//! Integers are LEB128 varints (timestamps: fixed 8-byte big-endian two's complement), strings
//! are varint-length-prefixed UTF-8, options a 0/1 tag. Decoding never panics and never
//! allocates more than the input could hold: lengths are checked against the remaining bytes
//! first.

use super::keys::{queue_kind, queue_tag};
use crate::catalog::model::{
    BackendUsage, BucketRecord, CompletedUpload, Copy, CopyState, MonthlyUsage, MultipartRecord,
    ObjectRecord, ObjectSummary, QueueItem, QueueKind,
};
use crate::catalog::{CatalogError, Result};

/// The only value format written so far.
pub(crate) const FORMAT_V1: u8 = 1;

/// Longest a LEB128-encoded u64 can be (ceil(64 / 7)).
pub(crate) const MAX_VARINT_LEN: usize = 10;

// ---------------------------------------------------------------- value writer

/// Appends encoded fields to a buffer.
struct Enc<'a>(&'a mut Vec<u8>);

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
            e.u8(queue_tag(QueueKind::Replicate));
            e.str(bucket);
            e.str(key);
            e.varint(*generation);
        }
        QueueItem::Cleanup {
            backend,
            backend_key,
            generation,
        } => {
            e.u8(queue_tag(QueueKind::Cleanup));
            e.str(backend);
            e.str(backend_key);
            e.varint(*generation);
        }
    }
}

/// Decodes a queue item.
pub(crate) fn decode_queue_item(raw: &[u8]) -> Result<QueueItem> {
    let mut d = Dec::start(raw)?;
    let item = match queue_kind(d.u8()?) {
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

/// Format of a part value that holds the part's ETag after its size. Part values written before
/// it ([`FORMAT_V1`]) hold the size only, and still decode.
pub(crate) const PART_FORMAT_V2: u8 = 2;

/// Encodes a stored part's size and ETag (the value of a multipart part key).
pub(crate) fn encode_part(size: u64, etag: &str, out: &mut Vec<u8>) {
    out.clear();
    let mut e = Enc(out);
    e.u8(PART_FORMAT_V2);
    e.varint(size);
    e.str(etag);
}

/// Decodes a stored part's size, and its ETag when the value holds one (written by
/// [`encode_part`]; a size-only v1 value has none).
pub(crate) fn decode_part(raw: &[u8]) -> Result<(u64, Option<String>)> {
    match raw.split_first() {
        Some((&PART_FORMAT_V2, rest)) => {
            let mut d = Dec { buf: rest };
            let size = d.varint()?;
            let etag = d.str()?;
            d.finish()?;
            Ok((size, Some(etag)))
        }
        _ => {
            let mut d = Dec::start(raw)?;
            let size = d.varint()?;
            d.finish()?;
            Ok((size, None))
        }
    }
}

/// Encodes a completed upload's kept answer.
pub(crate) fn encode_completed(c: &CompletedUpload, out: &mut Vec<u8>) {
    out.clear();
    let mut e = Enc(out);
    e.u8(FORMAT_V1);
    e.str(&c.bucket);
    e.str(&c.key);
    e.str(&c.etag);
    e.i64(c.completed_ms);
}

/// Decodes a completed upload's kept answer.
pub(crate) fn decode_completed(raw: &[u8]) -> Result<CompletedUpload> {
    let mut d = Dec::start(raw)?;
    let c = CompletedUpload {
        bucket: d.str()?,
        key: d.str()?,
        etag: d.str()?,
        completed_ms: d.i64()?,
    };
    d.finish()?;
    Ok(c)
}
