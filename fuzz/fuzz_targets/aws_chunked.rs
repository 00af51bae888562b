//! aws-chunked decoding (signed / unsigned, with and without trailers) and the payload verifier on
//! top of it. Input: `flags, seed, declared_len_hi, declared_len_lo, body...`; flags bit 0 = signed,
//! bits 1-3 = trailer checksum (1 crc32, 2 crc32c, 3 crc64nvme, 4 sha1, 5 sha256), 0x10 = declared
//! length given, 0x20 = every signature accepted, 0x40 = one-byte pieces, 0x80 = plain body
//! (verifier only); `seed` drives the random split.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    s3_orchestrator::s3::payload::fuzz_aws_chunked(data);
    s3_orchestrator::s3::payload::fuzz_payload_verifier(data);
});
