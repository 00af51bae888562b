//! Key encodings. Each is built so that an order the catalog needs is a plain byte-range scan;
//! the layouts are listed in the `codec` module documentation.

use crate::catalog::limits::{check_bucket, check_key, MAX_BUCKET_NAME_LEN, MAX_OBJECT_KEY_LEN};
use crate::catalog::model::{QueueId, QueueKind};
use crate::catalog::{CatalogError, Result};

/// Capacity of an encoded object key: length byte, longest bucket, longest key.
pub(crate) const OBJECT_KEY_CAP: usize = 1 + MAX_BUCKET_NAME_LEN + MAX_OBJECT_KEY_LEN;

/// Leading byte of a multipart record key (by upload id).
pub(crate) const MP_RECORD_TAG: u8 = 0x01;
/// Leading byte of a multipart bucket-index key.
pub(crate) const MP_INDEX_TAG: u8 = 0x02;
/// Leading byte of a multipart part key (one per part stored, with its size).
pub(crate) const MP_PART_TAG: u8 = 0x03;
/// Leading byte of a completed upload's kept answer (by upload id), for retried Completes.
pub(crate) const MP_DONE_TAG: u8 = 0x04;
/// Leading byte of the completed uploads' expiry index (by completion time).
pub(crate) const MP_DONE_AGE_TAG: u8 = 0x05;

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

/// The one-byte tag of a queue: it leads the queue's keys (keeping each queue a contiguous,
/// id-ordered range) and its items' values.
pub(crate) fn queue_tag(kind: QueueKind) -> u8 {
    match kind {
        QueueKind::Replicate => 1,
        QueueKind::Cleanup => 2,
    }
}

/// Inverse of [`queue_tag`].
pub(crate) fn queue_kind(tag: u8) -> Option<QueueKind> {
    match tag {
        1 => Some(QueueKind::Replicate),
        2 => Some(QueueKind::Cleanup),
        _ => None,
    }
}

/// Queue key: `[kind tag][seq BE]`.
pub(crate) fn queue_key(id: QueueId) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = queue_tag(id.kind);
    k[1..].copy_from_slice(&id.seq.to_be_bytes());
    k
}

/// Inverse of [`queue_key`].
pub(crate) fn decode_queue_key(raw: &[u8]) -> Result<QueueId> {
    let bad = CatalogError::Corrupt("queue key");
    let (&tag, seq) = raw
        .split_first()
        .ok_or(CatalogError::Corrupt("queue key"))?;
    let kind = queue_kind(tag).ok_or(CatalogError::Corrupt("queue key tag"))?;
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

/// Completed upload key: `[0x04][upload_id]`.
pub(crate) fn mp_done_key(upload_id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + upload_id.len());
    k.push(MP_DONE_TAG);
    k.extend_from_slice(upload_id.as_bytes());
    k
}

/// Expiry index key of a completed upload: `[0x05][completed_ms u64 BE][upload_id]`, so the
/// oldest completions come first. Times before 1970 sort as 0.
pub(crate) fn mp_done_age_key(completed_ms: i64, upload_id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + upload_id.len());
    k.push(MP_DONE_AGE_TAG);
    k.extend_from_slice(&(completed_ms.max(0) as u64).to_be_bytes());
    k.extend_from_slice(upload_id.as_bytes());
    k
}

/// Inverse of [`mp_done_age_key`]: (completed_ms, upload id).
pub(crate) fn decode_mp_done_age_key(raw: &[u8]) -> Result<(i64, &str)> {
    let bad = CatalogError::Corrupt("completed upload age key");
    let rest = raw.strip_prefix(&[MP_DONE_AGE_TAG]).ok_or(bad.clone())?;
    if rest.len() < 8 {
        return Err(bad);
    }
    let (ms, id) = rest.split_at(8);
    let ms: [u8; 8] = ms.try_into().map_err(|_| bad)?;
    let id = std::str::from_utf8(id).map_err(|_| CatalogError::Corrupt("upload id not UTF-8"))?;
    Ok((
        i64::try_from(u64::from_be_bytes(ms)).unwrap_or(i64::MAX),
        id,
    ))
}

/// Prefix of an upload's part keys: `[0x03][upload_id_len u8][upload_id]`. Upload ids are at
/// most `MAX_UPLOAD_ID_LEN` (255) bytes, checked by the catalog handle.
pub(crate) fn mp_part_prefix(upload_id: &str) -> Result<Vec<u8>> {
    let len = u8::try_from(upload_id.len())
        .map_err(|_| CatalogError::InvalidInput("upload id too long"))?;
    let mut k = Vec::with_capacity(2 + upload_id.len() + 4);
    k.push(MP_PART_TAG);
    k.push(len);
    k.extend_from_slice(upload_id.as_bytes());
    Ok(k)
}

/// Part key: [`mp_part_prefix`] then the part number big-endian (parts in number order).
pub(crate) fn mp_part_key(upload_id: &str, part_number: u32) -> Result<Vec<u8>> {
    let mut k = mp_part_prefix(upload_id)?;
    k.extend_from_slice(&part_number.to_be_bytes());
    Ok(k)
}

/// Inverse of [`mp_part_key`]: (upload id, part number).
pub(crate) fn decode_mp_part_key(raw: &[u8]) -> Result<(&str, u32)> {
    let bad = CatalogError::Corrupt("multipart part key");
    let rest = raw.strip_prefix(&[MP_PART_TAG]).ok_or(bad.clone())?;
    let (&len, rest) = rest.split_first().ok_or(bad.clone())?;
    let len = usize::from(len);
    if rest.len() != len + 4 {
        return Err(bad);
    }
    let (id, n) = rest.split_at(len);
    let id = std::str::from_utf8(id).map_err(|_| CatalogError::Corrupt("upload id not UTF-8"))?;
    let n: [u8; 4] = n.try_into().map_err(|_| bad)?;
    Ok((id, u32::from_be_bytes(n)))
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

/// First byte of monthly-usage keys in the `backends` keyspace. No backend name starts with a
/// zero byte (the config allows letters, digits, `-`, `_` and `.`), so these keys never collide
/// with a name.
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
