//! Request-head parsing (`http::RequestHead::parse`) for typical S3 requests (divan).

use s3_orchestrator::http::RequestHead;

const GET: &[u8] = b"GET /myapp/some/object/key.bin HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n\
Accept-Encoding: identity\r\nUser-Agent: aws-cli/1.46.0 Python/3.11 Linux/6.1 botocore/1.40\r\n\
X-Amz-Date: 20240101T000000Z\r\nX-Amz-Content-SHA256: UNSIGNED-PAYLOAD\r\n\
Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/s3/aws4_request, \
SignedHeaders=host;x-amz-content-sha256;x-amz-date, \
Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024\r\n\r\n";

const PUT: &[u8] = b"PUT /myapp/dir/file.dat HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n\
Accept-Encoding: identity\r\nContent-Type: application/octet-stream\r\n\
User-Agent: aws-cli/1.46.0 Python/3.11 Linux/6.1 botocore/1.40\r\nContent-MD5: 1B2M2Y8AsgTpgAmY7PhCfg==\r\n\
x-amz-checksum-crc32: AAAAAA==\r\nx-amz-meta-owner: bench\r\nExpect: 100-continue\r\n\
X-Amz-Date: 20240101T000000Z\r\n\
X-Amz-Content-SHA256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\r\n\
Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/s3/aws4_request, \
SignedHeaders=content-md5;content-type;host;x-amz-checksum-crc32;x-amz-content-sha256;x-amz-date;x-amz-meta-owner, \
Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024\r\nContent-Length: 4096\r\n\r\n";

fn main() {
    divan::main();
}

#[divan::bench(args = ["get", "put"])]
fn parse(bencher: divan::Bencher, kind: &str) {
    let bytes = if kind == "get" { GET } else { PUT };
    // One head reused across requests, as a connection does.
    let mut head = RequestHead::new();
    bencher
        .counter(divan::counter::BytesCount::new(bytes.len()))
        .bench_local(|| {
            head.clear();
            let r = head.parse(divan::black_box(bytes));
            assert!(r.is_ok());
            r
        });
}
