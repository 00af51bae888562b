//! SigV4 presigned-query parser and the x-amz-date / HTTP date parsers: never panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    s3_orchestrator::s3::auth::fuzz_parse_presigned(data);
});
