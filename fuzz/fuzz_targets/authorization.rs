//! SigV4 `Authorization: AWS4-HMAC-SHA256 ...` header parser: never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    s3_orchestrator::s3::auth::fuzz_parse_authorization(data);
});
