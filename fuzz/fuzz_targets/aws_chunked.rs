//! aws-chunked decoding (signed / unsigned, with and without trailers) and the payload verifier on top of it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    s3_orchestrator::s3::payload::fuzz_aws_chunked(data);
    s3_orchestrator::s3::payload::fuzz_payload_verifier(data);
});
