//! HTTP/1.1 request-head parser: whole-buffer and byte-by-byte parses agree; accessors of a complete head stay within the named limits.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    s3_orchestrator::http::head::fuzz_parse_head(data);
});
