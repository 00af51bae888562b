//! Tests of the aws-chunked decoder: every form, split anywhere, and every way a body is refused.

use super::*;
use crate::s3::payload::checksum::Checksummer;
use crate::s3::payload::test_support::*;
use crate::s3::payload::{drive_decoder, FakeChunkVerifier, NoChunkVerifier, SplitRng};

const SEED: [u8; 32] = [9; 32];

fn signed_cfg(len: u64, trailer: Option<ChecksumAlgorithm>) -> ChunkedConfig {
    ChunkedConfig {
        signed: true,
        trailer,
        decoded_length: Some(len),
    }
}

fn unsigned_cfg(len: Option<u64>, trailer: Option<ChecksumAlgorithm>) -> ChunkedConfig {
    ChunkedConfig {
        signed: false,
        trailer,
        decoded_length: len,
    }
}

/// Decodes `body` in one go; returns the output or the error code.
fn decode_all(config: ChunkedConfig, body: &[u8]) -> Result<Vec<u8>, S3ErrorCode> {
    decode_split(config, body, 0, body.len().max(1))
}

fn decode_split(
    config: ChunkedConfig,
    body: &[u8],
    seed: u64,
    max_piece: usize,
) -> Result<Vec<u8>, S3ErrorCode> {
    let mut dec = AwsChunkedDecoder::new(config, Some(FakeChunkVerifier::new(SEED))).unwrap();
    let mut out = Vec::new();
    drive_decoder(&mut dec, body, seed, max_piece, &mut out).map_err(|e| e.code)?;
    Ok(out)
}

/// Decodes `body` split in two at every position, and in single bytes, checking each gives
/// `expected`.
fn assert_every_split(config: ChunkedConfig, body: &[u8], expected: &Result<Vec<u8>, S3ErrorCode>) {
    for cut in 0..=body.len() {
        let mut dec = AwsChunkedDecoder::new(config, Some(FakeChunkVerifier::new(SEED))).unwrap();
        let mut out = Vec::new();
        let mut run = || -> Result<(), S3Error> {
            for part in [&body[..cut], &body[cut..]] {
                let mut input = part;
                while !input.is_empty() {
                    let d = dec.decode(input)?;
                    out.extend_from_slice(d.data);
                    input = &input[d.consumed..];
                }
            }
            dec.finish()
        };
        let got = run().map(|()| out).map_err(|e| e.code);
        assert_eq!(&got, expected, "split at {cut}");
    }
    assert_eq!(&decode_split(config, body, 0, 1), expected, "byte by byte");
}

fn signed_body(chunks: &[&[u8]], trailer: Option<&[(&str, &str)]>, crlf: bool) -> Vec<u8> {
    encode_signed(&mut FakeChunkVerifier::new(SEED), chunks, trailer, crlf)
}

#[test]
fn signed_body_every_split() {
    let body = signed_body(&[b"hello ", b"world"], None, true);
    assert_every_split(signed_cfg(11, None), &body, &Ok(b"hello world".to_vec()));
    // Without the final CRLF (some clients): accepted at finish().
    let body = signed_body(&[b"hello ", b"world"], None, false);
    assert_every_split(signed_cfg(11, None), &body, &Ok(b"hello world".to_vec()));
}

#[test]
fn signed_trailer_every_split() {
    let crc = Checksummer::digest(ChecksumAlgorithm::Crc32, b"hello world").to_b64();
    let lines = [("x-amz-checksum-crc32", crc.as_str())];
    let cfg = signed_cfg(11, Some(ChecksumAlgorithm::Crc32));
    for crlf in [true, false] {
        let body = signed_body(&[b"hello ", b"world"], Some(&lines), crlf);
        assert_every_split(cfg, &body, &Ok(b"hello world".to_vec()));
        let mut dec = AwsChunkedDecoder::new(cfg, Some(FakeChunkVerifier::new(SEED))).unwrap();
        drive_decoder(&mut dec, &body, 3, 5, &mut Vec::new()).unwrap();
        assert_eq!(
            dec.trailer_checksum(),
            Some((ChecksumAlgorithm::Crc32, crc.as_str()))
        );
        assert_eq!(
            dec.canonical_trailer(),
            format!("x-amz-checksum-crc32:{crc}\n").as_bytes()
        );
    }
}

#[test]
fn unsigned_trailer_every_split() {
    let crc = Checksummer::digest(ChecksumAlgorithm::Crc32c, b"abcdefg").to_b64();
    let cfg = unsigned_cfg(Some(7), Some(ChecksumAlgorithm::Crc32c));
    for crlf in [true, false] {
        let body = encode_unsigned(&[b"abc", b"defg"], &[("x-amz-checksum-crc32c", &crc)], crlf);
        assert_every_split(cfg, &body, &Ok(b"abcdefg".to_vec()));
    }
    // No decoded length given: still decodes.
    let body = encode_unsigned(&[b"abc"], &[("x-amz-checksum-crc32c", &crc)], true);
    assert_eq!(
        decode_all(unsigned_cfg(None, Some(ChecksumAlgorithm::Crc32c)), &body),
        Ok(b"abc".to_vec())
    );
}

#[test]
fn empty_object() {
    let body = signed_body(&[], None, true);
    assert_every_split(signed_cfg(0, None), &body, &Ok(Vec::new()));
    let body = encode_unsigned(&[], &[("x-amz-checksum-crc32", "AAAAAA==")], true);
    assert_every_split(
        unsigned_cfg(Some(0), Some(ChecksumAlgorithm::Crc32)),
        &body,
        &Ok(vec![]),
    );
}

#[test]
fn large_body_random_splits() {
    let data = body_bytes(300_000, 5);
    let chunks: Vec<&[u8]> = data.chunks(65_536).collect();
    let body = signed_body(&chunks, None, true);
    let cfg = signed_cfg(data.len() as u64, None);
    for (seed, max) in [(1, 7), (2, 1000), (3, 70_000), (4, 200_000), (5, 65_538)] {
        assert_eq!(
            decode_split(cfg, &body, seed, max).as_deref(),
            Ok(&data[..]),
            "seed {seed}"
        );
    }
    let ubody = encode_unsigned(&chunks, &[("x-amz-checksum-sha256", "x")], true);
    let ucfg = unsigned_cfg(Some(data.len() as u64), Some(ChecksumAlgorithm::Sha256));
    for (seed, max) in [(6, 13), (7, 4096), (8, 100_000)] {
        assert_eq!(
            decode_split(ucfg, &ubody, seed, max).as_deref(),
            Ok(&data[..])
        );
    }
}

#[test]
fn data_is_borrowed_and_stops_at_chunk_end() {
    let body = encode_unsigned(&[b"abc", b"de"], &[], true);
    let mut dec =
        AwsChunkedDecoder::<NoChunkVerifier>::new(unsigned_cfg(None, None), None).unwrap();
    let d = dec.decode(&body).unwrap();
    assert_eq!(d.data, b"abc");
    assert_eq!(d.consumed, 6);
    assert!(std::ptr::eq(d.data.as_ptr(), body[3..].as_ptr()));
    let d = dec.decode(&body[6..]).unwrap();
    assert_eq!((d.data, d.consumed, d.done), (&b"de"[..], 7, false));
    let d = dec.decode(&body[13..]).unwrap();
    assert_eq!((d.data, d.consumed, d.done), (&b""[..], 7, true));
    assert!(dec.is_done());
    dec.finish().unwrap();
    // Empty input after done is fine; more data is not.
    assert!(dec.decode(b"").unwrap().done);
    assert_eq!(
        dec.decode(b"\r\n").unwrap_err().code,
        S3ErrorCode::InvalidEncoding
    );
}

#[test]
fn tampered_data_and_signatures_are_rejected() {
    let good = signed_body(&[b"hello ", b"world"], None, true);
    let cfg = signed_cfg(11, None);
    // Flip a data byte.
    let mut bad = good.clone();
    let pos = bad.windows(6).position(|w| w == b"hello ").unwrap();
    bad[pos] = b'j';
    assert_eq!(
        decode_all(cfg, &bad),
        Err(S3ErrorCode::SignatureDoesNotMatch)
    );
    // Flip a hex digit of each signature in turn.
    let sig_starts: Vec<usize> = good
        .windows(16)
        .enumerate()
        .filter(|(_, w)| *w == b"chunk-signature=")
        .map(|(i, _)| i + 16)
        .collect();
    assert_eq!(sig_starts.len(), 3);
    for s in sig_starts {
        let mut bad = good.clone();
        bad[s + 10] = if bad[s + 10] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            decode_all(cfg, &bad),
            Err(S3ErrorCode::SignatureDoesNotMatch)
        );
        // Malformed (non-hex / short) signatures too.
        let mut bad = good.clone();
        bad[s] = b'z';
        assert_eq!(
            decode_all(cfg, &bad),
            Err(S3ErrorCode::SignatureDoesNotMatch)
        );
    }
    // Wrong seed = wrong key.
    let mut dec = AwsChunkedDecoder::new(cfg, Some(FakeChunkVerifier::new([1; 32]))).unwrap();
    assert_eq!(
        drive_decoder(&mut dec, &good, 0, 1000, &mut Vec::new())
            .unwrap_err()
            .code,
        S3ErrorCode::SignatureDoesNotMatch
    );
}

#[test]
fn reordered_and_dropped_chunks_are_rejected() {
    let mut signer = FakeChunkVerifier::new(SEED);
    // Build chunk frames individually so they can be shuffled.
    let frame = |signer: &mut FakeChunkVerifier, data: &[u8]| {
        let sig = signer.sign_chunk(&Sha256::digest(data).into());
        let mut f = format!("{:x};chunk-signature=", data.len()).into_bytes();
        f.extend_from_slice(&sig);
        f.extend_from_slice(b"\r\n");
        f.extend_from_slice(data);
        f.extend_from_slice(b"\r\n");
        f
    };
    let a = frame(&mut signer, b"aaaa");
    let b = frame(&mut signer, b"bbbb");
    let end = frame(&mut signer, b"");
    let cfg = signed_cfg(8, None);
    assert_eq!(
        decode_all(cfg, &[&a[..], &b, &end].concat()),
        Ok(b"aaaabbbb".to_vec())
    );
    assert_eq!(
        decode_all(cfg, &[&b[..], &a, &end].concat()),
        Err(S3ErrorCode::SignatureDoesNotMatch)
    );
    // Dropping a chunk: the final chunk's signature no longer chains.
    let cfg4 = signed_cfg(4, None);
    assert_eq!(
        decode_all(cfg4, &[&a[..], &end].concat()),
        Err(S3ErrorCode::SignatureDoesNotMatch)
    );
    // Missing final chunk: incomplete.
    assert_eq!(
        decode_all(cfg, &[&a[..], &b].concat()),
        Err(S3ErrorCode::IncompleteBody)
    );
}

#[test]
fn signed_trailer_failures() {
    let cfg = signed_cfg(5, Some(ChecksumAlgorithm::Crc32));
    let lines = [("x-amz-checksum-crc32", "AAAAAA==")];
    let good = signed_body(&[b"hello"], Some(&lines), true);
    assert!(decode_all(cfg, &good).is_ok());
    // Tampered trailer value (signature no longer matches).
    let bad = String::from_utf8(good.clone())
        .unwrap()
        .replace("AAAAAA==", "AAAAAB==");
    assert_eq!(
        decode_all(cfg, bad.as_bytes()),
        Err(S3ErrorCode::SignatureDoesNotMatch)
    );
    // Trailer signature line missing.
    let text = String::from_utf8(good.clone()).unwrap();
    let cut = text.find("x-amz-trailer-signature").unwrap();
    let no_sig = format!("{}\r\n", &text[..cut]);
    assert_eq!(
        decode_all(cfg, no_sig.as_bytes()),
        Err(S3ErrorCode::SignatureDoesNotMatch)
    );
    // Trailer missing entirely.
    let body = signed_body(&[b"hello"], None, true);
    assert_eq!(decode_all(cfg, &body), Err(S3ErrorCode::InvalidRequest));
    // Undeclared trailer in a signed body without x-amz-trailer.
    assert_eq!(
        decode_all(signed_cfg(5, None), &good),
        Err(S3ErrorCode::InvalidRequest)
    );
    // Wrong algorithm.
    let other = signed_body(
        &[b"hello"],
        Some(&[("x-amz-checksum-crc32c", "AAAAAA==")]),
        true,
    );
    assert_eq!(decode_all(cfg, &other), Err(S3ErrorCode::InvalidChecksum));
    // Header after the signature line.
    let after = format!("{}x-amz-meta-a:b\r\n\r\n", &text[..text.len() - 2]);
    assert_eq!(
        decode_all(cfg, after.as_bytes()),
        Err(S3ErrorCode::InvalidRequest)
    );
}

#[test]
fn trailer_leniency_and_canonical_form() {
    let cfg = unsigned_cfg(Some(3), Some(ChecksumAlgorithm::Crc32));
    // Blank line between the final chunk and the trailer, with and without closing CRLF.
    for tail in [
        "\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n",
        "\r\nx-amz-checksum-crc32:NSRBwg==\r\n",
    ] {
        let body = format!("3\r\nabc\r\n0\r\n{tail}");
        assert_every_split(cfg, body.as_bytes(), &Ok(b"abc".to_vec()));
    }
    // Only one blank line is skipped: two blank lines then the trailer = missing trailer, then junk.
    let body = "3\r\nabc\r\n0\r\n\r\n\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n";
    assert_eq!(
        decode_all(cfg, body.as_bytes()),
        Err(S3ErrorCode::InvalidRequest)
    );
    // Mixed-case name and padded value are canonicalised; extra headers are kept for signing.
    let body = "3\r\nabc\r\n0\r\nX-Amz-Checksum-CRC32: NSRBwg== \r\nx-amz-meta-Z:\tv\r\n\r\n";
    let mut dec = AwsChunkedDecoder::<NoChunkVerifier>::new(cfg, None).unwrap();
    drive_decoder(&mut dec, body.as_bytes(), 0, 100, &mut Vec::new()).unwrap();
    assert_eq!(
        dec.canonical_trailer(),
        b"x-amz-checksum-crc32:NSRBwg==\nx-amz-meta-z:v\n"
    );
    assert_eq!(
        dec.trailer_checksum(),
        Some((ChecksumAlgorithm::Crc32, "NSRBwg=="))
    );
    // A trailer signature in an unsigned body is ignored.
    let body = format!(
        "3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\nx-amz-trailer-signature:{}\r\n\r\n",
        "0".repeat(64)
    );
    assert!(decode_all(cfg, body.as_bytes()).is_ok());
}

#[test]
fn trailer_limits_and_malformed_lines() {
    let cfg = unsigned_cfg(Some(3), Some(ChecksumAlgorithm::Crc32));
    let with = |lines: &str| decode_all(cfg, format!("3\r\nabc\r\n0\r\n{lines}\r\n").as_bytes());
    assert_eq!(
        with("x-amz-checksum-crc32:NSRBwg==\r\n"),
        Ok(b"abc".to_vec())
    );
    assert_eq!(
        with("x-amz-checksum-crc32 NSRBwg==\r\n"),
        Err(S3ErrorCode::InvalidRequest)
    );
    assert_eq!(with(":NSRBwg==\r\n"), Err(S3ErrorCode::InvalidRequest));
    assert_eq!(
        with("bad name:x\r\nx-amz-checksum-crc32:NSRBwg==\r\n"),
        Err(S3ErrorCode::InvalidRequest)
    );
    assert_eq!(
        with("x-amz-checksum-crc32:NSRBwg==\r\nx-amz-checksum-crc32:NSRBwg==\r\n"),
        Err(S3ErrorCode::InvalidRequest)
    );
    assert_eq!(
        with("x-amz-checksum-md5:NSRBwg==\r\n"),
        Err(S3ErrorCode::InvalidChecksum)
    );
    assert_eq!(
        with(&format!("x-amz-checksum-crc32:{}\r\n", "A".repeat(45))),
        Err(S3ErrorCode::InvalidRequest)
    );
    let many: String = (0..MAX_TRAILER_COUNT)
        .map(|i| format!("x-amz-meta-{i}:v\r\n"))
        .collect();
    assert_eq!(
        with(&format!("{many}x-amz-checksum-crc32:NSRBwg==\r\n")),
        Err(S3ErrorCode::InvalidRequest)
    );
    let big: String = (0..3)
        .map(|i| format!("x-amz-meta-{i}:{}\r\n", "v".repeat(200)))
        .collect();
    assert_eq!(
        with(&format!("{big}x-amz-checksum-crc32:NSRBwg==\r\n")),
        Err(S3ErrorCode::InvalidRequest)
    );
    let long_line = format!("x-amz-meta-a:{}\r\n", "v".repeat(MAX_LINE_LEN));
    assert_eq!(with(&long_line), Err(S3ErrorCode::InvalidEncoding));
    // Unsigned body without x-amz-trailer must not carry a trailer.
    assert_eq!(
        decode_all(
            unsigned_cfg(None, None),
            b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n"
        ),
        Err(S3ErrorCode::InvalidRequest)
    );
}

#[test]
fn size_line_validation() {
    let cfg = unsigned_cfg(None, None);
    for body in [
        "+3\r\nabc\r\n0\r\n\r\n",
        " 3\r\nabc\r\n0\r\n\r\n",
        "3 \r\nabc\r\n0\r\n\r\n",
        "g\r\nabc\r\n0\r\n\r\n",
        "\r\nabc\r\n0\r\n\r\n",
        "-1\r\n",
        "00000000000000003\r\nabc\r\n0\r\n\r\n",
        "3\nabc\r\n0\r\n\r\n",
        "3\r\nabcX\r\n0\r\n\r\n",
        "3\r\nabc\rX0\r\n\r\n",
    ] {
        assert_eq!(
            decode_all(cfg, body.as_bytes()),
            Err(S3ErrorCode::InvalidEncoding),
            "{body:?}"
        );
    }
    // 16 digits with leading zeros and upper-case hex are fine; extensions ignored when unsigned.
    assert_eq!(
        decode_all(cfg, b"000000000000000A;foo=bar\r\n0123456789\r\n0\r\n\r\n"),
        Ok(b"0123456789".to_vec())
    );
    // Chunk size limit.
    let over = format!("{:x}\r\n", MAX_CHUNK_SIZE + 1);
    assert_eq!(
        decode_all(cfg, over.as_bytes()),
        Err(S3ErrorCode::InvalidEncoding)
    );
    let at = format!("{:x}\r\n", MAX_CHUNK_SIZE);
    assert_eq!(
        decode_all(cfg, at.as_bytes()),
        Err(S3ErrorCode::IncompleteBody),
        "accepted, then truncated"
    );
    // Overlong size line.
    let long = format!("3;{}\r\n", "x".repeat(MAX_LINE_LEN));
    assert_eq!(
        decode_all(cfg, long.as_bytes()),
        Err(S3ErrorCode::InvalidEncoding)
    );
    // Signed bodies need the chunk-signature extension.
    let scfg = signed_cfg(3, None);
    assert_eq!(
        decode_all(scfg, b"3\r\nabc\r\n0\r\n\r\n"),
        Err(S3ErrorCode::InvalidEncoding)
    );
    assert_eq!(
        decode_all(scfg, b"3;chunk-signatur=00\r\nabc\r\n"),
        Err(S3ErrorCode::InvalidEncoding)
    );
}

#[test]
fn declared_length_is_enforced() {
    let body = signed_body(&[b"hello ", b"world"], None, true);
    // Too little declared: fails at the chunk header that exceeds it, before its data.
    let mut dec =
        AwsChunkedDecoder::new(signed_cfg(8, None), Some(FakeChunkVerifier::new(SEED))).unwrap();
    let mut out = Vec::new();
    assert_eq!(
        drive_decoder(&mut dec, &body, 0, 1, &mut out)
            .unwrap_err()
            .code,
        S3ErrorCode::IncompleteBody
    );
    assert_eq!(out, b"hello ");
    // Too much declared: fails at the final chunk.
    assert_eq!(
        decode_all(signed_cfg(12, None), &body),
        Err(S3ErrorCode::IncompleteBody)
    );
    assert_eq!(
        decode_all(signed_cfg(u64::MAX, None), &body),
        Err(S3ErrorCode::IncompleteBody)
    );
}

#[test]
fn truncated_bodies_fail_and_overlong_bodies_fail() {
    let crc = Checksummer::digest(ChecksumAlgorithm::Crc32, b"hello world").to_b64();
    let lines = [("x-amz-checksum-crc32", crc.as_str())];
    let cases = [
        (
            signed_cfg(11, None),
            signed_body(&[b"hello ", b"world"], None, true),
        ),
        (
            signed_cfg(11, Some(ChecksumAlgorithm::Crc32)),
            signed_body(&[b"hello ", b"world"], Some(&lines), true),
        ),
        (
            unsigned_cfg(Some(11), Some(ChecksumAlgorithm::Crc32)),
            encode_unsigned(&[b"hello ", b"world"], &lines, true),
        ),
    ];
    for (cfg, body) in cases {
        assert!(decode_all(cfg, &body).is_ok());
        for len in 0..body.len() - 2 {
            assert!(
                decode_all(cfg, &body[..len]).is_err(),
                "prefix {len} accepted"
            );
        }
        // Missing only the closing CRLF is tolerated; a lone CR is not.
        assert!(decode_all(cfg, &body[..body.len() - 2]).is_ok());
        assert_eq!(
            decode_all(cfg, &body[..body.len() - 1]),
            Err(S3ErrorCode::IncompleteBody)
        );
        for extra in [&b"x"[..], b"\r\n", b"0\r\n\r\n"] {
            let long = [&body[..], extra].concat();
            assert_eq!(decode_all(cfg, &long), Err(S3ErrorCode::InvalidEncoding));
        }
    }
}

#[test]
fn errors_poison_the_decoder() {
    let mut dec =
        AwsChunkedDecoder::<NoChunkVerifier>::new(unsigned_cfg(None, None), None).unwrap();
    assert!(dec.decode(b"zz\r\n").is_err());
    assert!(dec.decode(b"3\r\nabc\r\n").is_err());
    assert!(dec.finish().is_err());
    // A signed config without a verifier is refused up front.
    assert_eq!(
        AwsChunkedDecoder::<NoChunkVerifier>::new(signed_cfg(0, None), None)
            .unwrap_err()
            .code,
        S3ErrorCode::InternalError
    );
}

#[test]
fn garbage_never_panics_and_is_split_invariant() {
    let mut rng = SplitRng::new(77);
    let alphabet = b"0123456789abcdefABCDEF;=-:\r\n xchunk-signature";
    let seeds = [
        signed_body(&[b"abc"], None, true),
        encode_unsigned(&[b"abc"], &[("x-amz-checksum-crc32", "NSRBwg==")], true),
    ];
    for round in 0..400 {
        let mut body = seeds[round % 2].clone();
        // Mutate a few bytes, or make fresh noise.
        if round % 3 == 0 {
            let len = rng.next_len(80);
            body = (0..len)
                .map(|_| alphabet[rng.next_len(alphabet.len()) - 1])
                .collect();
        } else {
            for _ in 0..rng.next_len(3) {
                let i = rng.next_len(body.len()) - 1;
                body[i] = alphabet[rng.next_len(alphabet.len()) - 1];
            }
        }
        for cfg in [
            signed_cfg(3, None),
            unsigned_cfg(Some(3), Some(ChecksumAlgorithm::Crc32)),
            unsigned_cfg(None, None),
        ] {
            let whole = decode_all(cfg, &body);
            assert_eq!(decode_split(cfg, &body, round as u64, 1), whole);
            assert_eq!(decode_split(cfg, &body, round as u64, 4), whole);
        }
    }
}
