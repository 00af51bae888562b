//! HTTP/1.1 chunked transfer decoding: the verdict, body and trailers do not depend on how the input is split.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    s3_orchestrator::http::chunked::fuzz_decode_chunked(data);
});
