//! The fjall store's on-disk encodings: ordered keys ([`keys`]) and versioned values
//! ([`values`]). Both are part of the on-disk format: existing databases must keep opening, so
//! any change needs a new format byte or schema version (the `on_disk_format_is_pinned` test
//! holds the bytes).
//!
//! Keys are built so that the orders the S3 API needs are plain byte-range scans in fjall:
//! - objects: `[bucket_len u8][bucket][key]`; within one bucket the order is the
//!   key's UTF-8 byte order, which is S3's listing order. Across buckets the order is
//!   by bucket name length, then name.
//! - multipart: `[0x01][upload_id]` holds the record; the bucket index
//!   `[0x02][bucket_len u8][bucket][escaped key][0x00 0x00][upload_id]` orders a
//!   bucket's uploads by key, then upload id (the escape maps 0x00 to 0x00 0xFF,
//!   so the terminator sorts below any continuation of the key). Each part stored holds
//!   `[0x03][upload_id_len u8][upload_id][part u32 BE]` → its size and ETag (value format 2; a
//!   format-1 value holds the size only), so the quota parts hold is known again after a
//!   restart and the part recorded last under a number is the one that counts. A completed
//!   upload's answer is kept at `[0x04][upload_id]`, with `[0x05][completed_ms u64 BE][upload_id]`
//!   ordering them oldest first for expiry.
//! - queue: `[kind tag][seq u64 BE]`, so each queue is an id-ordered range.
//! - backends: the name holds the running usage; `[0x00][name][0x00][month u32 BE]` one
//!   month's usage.
//! - buckets: the name; meta: ASCII names of the schema version and the counters.
//!
//! Values start with a format byte ([`FORMAT_V1`]); a later format can add fields
//! and still decode v1 values. The object value leads with size, last-modified and ETag so a
//! listing decodes just that head ([`decode_summary`]).

mod keys;
mod values;

pub(crate) use keys::*;
pub(crate) use values::*;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
