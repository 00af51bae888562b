//! The whole SigV4 verifier over a request whose path, query and headers come from the input: never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    s3_orchestrator::s3::auth::fuzz_verify_request(data);
});
