//! Round trips, order properties, corruption handling and the pinned bytes of the encodings.

use super::*;
use crate::catalog::limits::{MAX_BUCKET_NAME_LEN, MAX_OBJECT_KEY_LEN};
use crate::catalog::model::{
    BackendUsage, BucketRecord, Copy, CopyState, MonthlyUsage, MultipartRecord, ObjectRecord,
    QueueId, QueueItem, QueueKind,
};
use crate::catalog::CatalogError;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Property-test iterations: enough to hit edge cases, fast in debug builds.
const CASES: usize = 2000;

fn sample_record() -> ObjectRecord {
    ObjectRecord {
        size: 1 << 40,
        etag: "abc-3".into(),
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
        etag: "abc-3".into(),
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
        "018080808080200000018bcfe5687b056162632d33ac02010a746578742f706c61696e01086e6f\
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

/// Part values: v1 (size only, written before ETags were recorded) still decodes; v2 holds the
/// ETag after the size.
#[test]
fn part_values_old_and_new() {
    let v1 = [FORMAT_V1, 0x64];
    assert_eq!(decode_part(&v1).unwrap(), (100, None));
    let mut buf = Vec::new();
    encode_part(100, "abc", &mut buf);
    assert_eq!(hex::encode(&buf), "026403616263");
    assert_eq!(decode_part(&buf).unwrap(), (100, Some("abc".to_owned())));
    assert!(decode_part(&buf[..buf.len() - 1]).is_err(), "truncated");
    assert!(decode_part(&[9, 1]).is_err(), "unknown format");
}
