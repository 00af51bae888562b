//! Tests of the chunked decoder (every split, strictness, limits, trailers, framing-only use) and
//! of the chunk-size lines written for uploads.

use super::*;

fn decode_whole(input: &[u8]) -> RunResult {
    run_pieces(&mut ChunkedDecoder::new(), input, &[])
}

fn body_of(input: &[u8]) -> Vec<u8> {
    let (body, consumed, done) = decode_whole(input).unwrap();
    assert!(done, "not done: {:?}", String::from_utf8_lossy(input));
    assert_eq!(consumed, input.len());
    body
}

fn err_of(input: &[u8]) -> HttpError {
    match decode_whole(input) {
        Err(e) => e,
        Ok(r) => panic!(
            "expected error for {:?}, got {r:?}",
            String::from_utf8_lossy(input)
        ),
    }
}

#[test]
fn simple_bodies() {
    assert_eq!(body_of(b"0\r\n\r\n"), b"");
    assert_eq!(body_of(b"5\r\nhello\r\n0\r\n\r\n"), b"hello");
    assert_eq!(
        body_of(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
        b"hello world"
    );
    assert_eq!(body_of(b"A\r\n0123456789\r\n0\r\n\r\n"), b"0123456789");
    assert_eq!(body_of(b"a\r\n0123456789\r\n0\r\n\r\n"), b"0123456789");
    assert_eq!(body_of(b"000005\r\nhello\r\n000\r\n\r\n"), b"hello");
    let mut long = b"00000000000000000000000000000000000000000001\r\nx\r\n0\r\n\r\n".to_vec();
    assert_eq!(body_of(&long), b"x");
    long.clear();
}

#[test]
fn binary_data_with_crlf_inside() {
    let input = b"4\r\n\r\n\r\n\r\n0\r\n\r\n";
    assert_eq!(body_of(input), b"\r\n\r\n");
    let mut input = b"3\r\n".to_vec();
    input.extend_from_slice(&[0, 0xff, b'\n']);
    input.extend_from_slice(b"\r\n0\r\n\r\n");
    assert_eq!(body_of(&input), [0, 0xff, b'\n']);
}

#[test]
fn extensions_ignored() {
    assert_eq!(
        body_of(b"5;name=value\r\nhello\r\n0;last\r\n\r\n"),
        b"hello"
    );
    assert_eq!(body_of(b"5 ; a=\"b c\";d\r\nhello\r\n0\r\n\r\n"), b"hello");
    assert_eq!(body_of(b"5\t;x\r\nhello\r\n0\r\n\r\n"), b"hello");
    assert_eq!(
        body_of(b"5;chunk-signature=0123456789abcdef\r\nhello\r\n0\r\n\r\n"),
        b"hello"
    );
}

#[test]
fn invalid_framing_is_400() {
    let long_ext = {
        let mut v = b"5;".to_vec();
        v.resize(MAX_CHUNK_LINE_BYTES + 1, b'a');
        v.extend_from_slice(b"\r\nhello\r\n0\r\n\r\n");
        v
    };
    let cases: Vec<&[u8]> = vec![
        b"\r\n",
        b";x\r\n",
        b"g\r\n",
        b"-1\r\n",
        b"+1\r\n",
        b"0x5\r\n",
        b" 5\r\n",
        b"5 \r\nhello\r\n",
        b"5 x\r\nhello\r\n",
        b"5\nhello\r\n0\r\n\r\n",
        b"5\rhello\r\n",
        b"5\r\nhelloX\r\n",
        b"5\r\nhello\n0\r\n\r\n",
        b"5\r\nhello\rX",
        b"5;a\x00b\r\nhello\r\n",
        b"5;a\nb\r\nhello\r\n",
        b"10000000000000000\r\n",
        b"ffffffffffffffff0\r\n",
        b"0\r\n\n",
        b"0\r\n\rX",
        b"0\r\nX-A: 1\n\r\n",
        b"0\r\nX-A: 1\rX\r\n\r\n",
        b"0\r\nX-A 1\r\n\r\n",
        b"0\r\n: 1\r\n\r\n",
        b"0\r\nX A: 1\r\n\r\n",
        b"0\r\nX-A: 1\r\n folded\r\n\r\n",
        b"0\r\nX-A: a\x00b\r\n\r\n",
        b"0\r\nX-A: a\x7fb\r\n\r\n",
        &long_ext,
    ];
    for input in cases {
        let e = err_of(input);
        assert_eq!(e.status, 400, "{:?}", String::from_utf8_lossy(input));
        // Same verdict byte by byte.
        let cuts: Vec<usize> = (0..input.len()).collect();
        assert_eq!(
            run_pieces(&mut ChunkedDecoder::new(), input, &cuts),
            Err(e),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn line_length_boundary() {
    let mut ok = b"5;".to_vec();
    ok.resize(MAX_CHUNK_LINE_BYTES, b'a');
    ok.extend_from_slice(b"\r\nhello\r\n0\r\n\r\n");
    assert_eq!(body_of(&ok), b"hello");
}

#[test]
fn max_chunk_size_accepted() {
    let mut dec = ChunkedDecoder::new();
    let d = dec.decode(b"ffffffffffffffff\r\nabc").unwrap();
    assert_eq!((d.data, d.consumed), (&b"abc"[..], 21));
    let d = dec.decode(b"de").unwrap();
    assert_eq!(d.data, b"de");
    assert_eq!(dec.state, State::Data(u64::MAX - 5));
}

#[test]
fn trailers_parsed_and_kept() {
    let input = b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32: sOO8/Q==  \r\nX-Empty:\r\nx-raw:\ta\xffb\r\n\r\n";
    let mut dec = ChunkedDecoder::new();
    let (body, consumed, done) = run_pieces(&mut dec, input, &[]).unwrap();
    assert!(done && dec.is_done());
    assert_eq!((body.as_slice(), consumed), (&b"hello"[..], input.len()));
    assert_eq!(dec.trailer("X-Amz-Checksum-CRC32"), Some(&b"sOO8/Q=="[..]));
    assert_eq!(dec.trailer("x-empty"), Some(&b""[..]));
    assert_eq!(dec.trailer("x-raw"), Some(&b"a\xffb"[..]));
    assert_eq!(dec.trailer("nope"), None);
    let names: Vec<&str> = dec.trailers().map(|(n, _)| n).collect();
    assert_eq!(names, ["x-amz-checksum-crc32", "X-Empty", "x-raw"]);
    // Reset clears trailers but keeps capacity.
    let cap = dec.trailer.capacity();
    dec.reset();
    assert_eq!(dec.trailers().count(), 0);
    assert_eq!(dec.trailer.capacity(), cap);
    assert_eq!(body_of(b"0\r\n\r\n"), b"");
}

#[test]
fn trailer_limits() {
    // The field lines with their CRLFs may total MAX_TRAILER_BYTES.
    let mut big = b"0\r\nx-big: ".to_vec();
    big.resize(3 + MAX_TRAILER_BYTES - 2, b'v');
    big.extend_from_slice(b"\r\n\r\n");
    assert_eq!(body_of(&big), b"");
    let mut over = b"0\r\nx-big: ".to_vec();
    over.resize(3 + MAX_TRAILER_BYTES - 1, b'v');
    over.extend_from_slice(b"\r\n\r\n");
    assert_eq!(err_of(&over).status, 400);

    let mut many = b"0\r\n".to_vec();
    for i in 0..MAX_TRAILER_HEADERS {
        many.extend_from_slice(format!("t{i}: v\r\n").as_bytes());
    }
    let mut too_many = many.clone();
    many.extend_from_slice(b"\r\n");
    assert_eq!(body_of(&many), b"");
    too_many.extend_from_slice(b"extra: v\r\n\r\n");
    assert_eq!(err_of(&too_many).status, 400);
}

#[test]
fn stops_at_end_of_body_for_pipelining() {
    let input = b"3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    let (body, consumed, done) = decode_whole(input).unwrap();
    assert!(done);
    assert_eq!(body, b"abc");
    assert_eq!(&input[consumed..], b"GET / HTTP/1.1\r\n");
    // After done, nothing more is consumed.
    let mut dec = ChunkedDecoder::new();
    run_pieces(&mut dec, b"0\r\n\r\n", &[]).unwrap();
    assert_eq!(
        dec.decode(b"more").unwrap(),
        Decoded {
            consumed: 0,
            data: b"",
            done: true
        }
    );
}

#[test]
fn need_more_input_is_normal() {
    let mut dec = ChunkedDecoder::new();
    assert_eq!(
        dec.decode(b"").unwrap(),
        Decoded {
            consumed: 0,
            data: b"",
            done: false
        }
    );
    let d = dec.decode(b"5\r").unwrap();
    assert_eq!((d.consumed, d.data, d.done), (2, &b""[..], false));
    let d = dec.decode(b"\nhe").unwrap();
    assert_eq!((d.consumed, d.data, d.done), (3, &b"he"[..], false));
    let d = dec.decode(b"llo\r\n0\r\n\r\n").unwrap();
    assert_eq!((d.consumed, d.data), (3, &b"llo"[..]));
    let d = dec.decode(b"\r\n0\r\n\r\n").unwrap();
    assert_eq!((d.consumed, d.data, d.done), (7, &b""[..], true));
    assert_eq!(dec.body_len(), 5);
}

#[test]
fn errors_are_sticky() {
    let mut dec = ChunkedDecoder::new();
    assert!(dec.decode(b"z").is_err());
    assert!(dec.decode(b"0\r\n\r\n").is_err());
    dec.reset();
    assert!(dec.decode(b"0\r\n\r\n").unwrap().done);
}

fn xorshift(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

/// Appends `data` as one chunk (size line, data, CRLF).
fn encode_chunk(data: &[u8], out: &mut Vec<u8>) {
    if data.is_empty() {
        return;
    }
    out.extend_from_slice(ChunkHeader::new(data.len() as u64).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

fn sample_body() -> (Vec<u8>, Vec<u8>) {
    let mut wire = Vec::new();
    let mut plain = Vec::new();
    for (i, size) in [1usize, 15, 16, 255, 3, 1000].iter().enumerate() {
        let data: Vec<u8> = (0..*size).map(|k| (k * 7 + i) as u8).collect();
        if i % 2 == 0 {
            encode_chunk(&data, &mut wire);
        } else {
            wire.extend_from_slice(format!("{size:X};ext{i}=v\r\n").as_bytes());
            wire.extend_from_slice(&data);
            wire.extend_from_slice(b"\r\n");
        }
        plain.extend_from_slice(&data);
    }
    wire.extend_from_slice(b"0;end\r\nx-amz-checksum-sha256: abc\r\nx-t: 1\r\n\r\n");
    (wire, plain)
}

#[test]
fn every_split_point_same_output() {
    let (wire, plain) = sample_body();
    let expected = Ok((plain, wire.len(), true));
    for split in 0..=wire.len() {
        let mut dec = ChunkedDecoder::new();
        assert_eq!(
            run_pieces(&mut dec, &wire, &[split]),
            expected,
            "split {split}"
        );
        assert_eq!(dec.trailer("x-t"), Some(&b"1"[..]));
        for max_copy in [1, 7, usize::MAX] {
            let mut dec = ChunkedDecoder::new();
            assert_eq!(
                run_pieces_moving_data(&mut dec, &wire, &[split], max_copy),
                expected,
                "split {split}, copies of {max_copy}"
            );
            assert_eq!(dec.trailer("x-t"), Some(&b"1"[..]));
        }
    }
    // Two split points over the framing-heavy tail of the input.
    let tail = wire.len() - 60;
    for a in tail..wire.len() {
        for b in a..=wire.len() {
            let mut dec = ChunkedDecoder::new();
            assert_eq!(run_pieces(&mut dec, &wire, &[a, b]), expected);
        }
    }
}

#[test]
fn random_splits_and_byte_by_byte() {
    let (wire, plain) = sample_body();
    let expected = Ok((plain, wire.len(), true));
    let byte_cuts: Vec<usize> = (0..wire.len()).collect();
    assert_eq!(
        run_pieces(&mut ChunkedDecoder::new(), &wire, &byte_cuts),
        expected
    );
    let mut seed = 0x1234_5678_9abc_def1u64;
    let mut dec = ChunkedDecoder::new();
    for _ in 0..200 {
        let mut cuts = Vec::new();
        let mut pos = 0;
        while pos < wire.len() {
            pos += (xorshift(&mut seed) % 40) as usize;
            cuts.push(pos);
        }
        dec.reset();
        assert_eq!(run_pieces(&mut dec, &wire, &cuts), expected);
        assert_eq!(dec.trailer("x-amz-checksum-sha256"), Some(&b"abc"[..]));
    }
}

#[test]
fn chunk_header_encoding() {
    assert_eq!(ChunkHeader::new(0).as_bytes(), b"0\r\n");
    assert_eq!(ChunkHeader::new(1).as_bytes(), b"1\r\n");
    assert_eq!(ChunkHeader::new(15).as_bytes(), b"f\r\n");
    assert_eq!(ChunkHeader::new(16).as_bytes(), b"10\r\n");
    assert_eq!(ChunkHeader::new(0x1234abcd).as_bytes(), b"1234abcd\r\n");
    assert_eq!(
        ChunkHeader::new(u64::MAX).as_bytes(),
        b"ffffffffffffffff\r\n"
    );
    for n in [2u64, 255, 256, 4095, 4096, 65_536, 1 << 40] {
        let h = ChunkHeader::new(n);
        let s = std::str::from_utf8(h.as_bytes()).unwrap();
        assert_eq!(u64::from_str_radix(s.trim_end(), 16).unwrap(), n);
    }
    let mut out = Vec::new();
    encode_chunk(b"", &mut out);
    assert!(out.is_empty());
    encode_chunk(b"hello", &mut out);
    encode_chunk(&[7u8; 300], &mut out);
    out.extend_from_slice(LAST_CHUNK);
    let mut expected = b"hello".to_vec();
    expected.extend_from_slice(&[7u8; 300]);
    assert_eq!(body_of(&out), expected);
    assert!(out.starts_with(b"5\r\nhello\r\n12c\r\n"));

    // The backend client's framing: each size line closes the previous data.
    assert_eq!(ChunkHeader::after_data(0x1f).as_bytes(), b"\r\n1f\r\n");
    assert_eq!(
        ChunkHeader::after_data(u64::MAX).as_bytes(),
        b"\r\nffffffffffffffff\r\n"
    );
    let mut out = ChunkHeader::new(3).as_bytes().to_vec();
    out.extend_from_slice(b"abc");
    out.extend_from_slice(ChunkHeader::after_data(2).as_bytes());
    out.extend_from_slice(b"de");
    out.extend_from_slice(LAST_CHUNK_AFTER_DATA);
    assert_eq!(body_of(&out), b"abcde");
}

#[test]
fn framing_only_decoding_leaves_data_to_the_caller() {
    let mut dec = ChunkedDecoder::new();
    assert_eq!(dec.data_remaining(), 0);
    let d = dec.decode_framing(b"5\r\nhello\r\n0\r\n\r\n").unwrap();
    assert_eq!((d.consumed, d.data, d.done), (3, &b""[..], false));
    assert_eq!(dec.data_remaining(), 5);
    // At the start of data, nothing is consumed.
    assert_eq!(dec.decode_framing(b"hello").unwrap().consumed, 0);
    dec.advance_data(2);
    assert_eq!((dec.data_remaining(), dec.body_len()), (3, 2));
    // More than remains is capped.
    dec.advance_data(10);
    assert_eq!((dec.data_remaining(), dec.body_len()), (0, 5));
    let d = dec.decode_framing(b"\r\n0\r\n\r\nnext").unwrap();
    assert_eq!((d.consumed, d.done), (7, true));
    // Outside chunk data, advance_data does nothing.
    dec.advance_data(1);
    assert_eq!(dec.body_len(), 5);
    // Framing errors are reported just the same.
    let mut dec = ChunkedDecoder::new();
    dec.decode_framing(b"2\r\n").unwrap();
    dec.advance_data(2);
    assert_eq!(dec.decode_framing(b"X").unwrap_err().status, 400);
}

#[test]
fn fuzz_entry_on_corpus_and_random_bytes() {
    let (wire, _) = sample_body();
    let corpus: Vec<&[u8]> = vec![
        &wire,
        b"",
        b"0\r\n\r\n",
        b"5\r\nhel",
        b"0\r\nx: y\r\n\r\nnext",
        b"zz",
        b"5 ;\r\nhello\r\n0\r\n\r\n",
    ];
    for c in corpus {
        fuzz_decode_chunked(c);
    }
    let alphabet = b"0123456789abcdefG;= \t\r\n\r\n:xX\x00\xff";
    let mut seed = 42u64;
    for _ in 0..300 {
        let len = (xorshift(&mut seed) % 60) as usize;
        let data: Vec<u8> = (0..len)
            .map(|_| alphabet[(xorshift(&mut seed) % alphabet.len() as u64) as usize])
            .collect();
        fuzz_decode_chunked(&data);
    }
}
