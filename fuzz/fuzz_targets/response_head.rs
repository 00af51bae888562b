//! HTTP/1.1 response-head parser (the backend client's side): interim and final heads parse the same whole and byte by byte; accessors of a complete head stay within the named limits and agree with its framing.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    s3_orchestrator::http::response_parse::fuzz_parse_response_head(data);
});
