//! SigV2 against the examples in AWS's documentation ("Signing and authenticating REST requests",
//! the `johnsmith` / `awsexamplebucket1` examples with the documentation's example key), and the
//! verifier's refusals.

use super::*;
use crate::s3::auth::{verify_request, verify_request_for_host, SigningKeyCache};

const AK: &str = "AKIAIOSFODNN7EXAMPLE";
const SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// `Tue, 27 Mar 2007 19:36:42 +0000`, the documentation's GET example.
const DOC_GET_UNIX: i64 = 1_175_024_202;

fn view<'a>(
    method: &'a str,
    path: &'a str,
    query: &'a str,
    headers: &'a [(&'a str, &'a [u8])],
) -> RequestView<'a> {
    RequestView {
        method,
        raw_path: path,
        raw_query: query,
        headers,
    }
}

fn string_to_sign(req: &RequestView<'_>, date_line: &str, host_bucket: Option<&str>) -> String {
    let mut out = Vec::new();
    write_string_to_sign_v2(&mut out, req, date_line, host_bucket).unwrap();
    String::from_utf8(out).unwrap()
}

fn verify(req: &RequestView<'_>, host_bucket: Option<&str>, now: i64) -> S3Result<VerifiedRequest> {
    let secret = SecretKey::from(SK);
    let mut cache = SigningKeyCache::new();
    verify_request_for_host(
        req,
        host_bucket,
        |ak| (ak == AK).then_some(&secret),
        &mut cache,
        now,
    )
}

#[test]
fn documentation_object_get_virtual_hosted() {
    let date = "Tue, 27 Mar 2007 19:36:42 +0000";
    let auth = format!("AWS {AK}:qgk2+6Sv9/oM7G3qLEjTH1a1l1g=");
    let headers: [(&str, &[u8]); 3] = [
        ("Host", b"awsexamplebucket1.us-west-1.s3.amazonaws.com"),
        ("Date", date.as_bytes()),
        ("Authorization", auth.as_bytes()),
    ];
    let req = view("GET", "/photos/puppy.jpg", "", &headers);
    assert_eq!(
        string_to_sign(&req, date, Some("awsexamplebucket1")),
        "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg"
    );
    let v = verify(&req, Some("awsexamplebucket1"), DOC_GET_UNIX + 60).unwrap();
    assert_eq!(v.access_key_id, AK);
    assert_eq!(v.kind, AuthKind::HeaderV2);
    assert_eq!(v.payload, PayloadSigning::Unsigned);
    // Without the Host's bucket the resource differs, and so does the signature.
    assert_eq!(
        verify(&req, None, DOC_GET_UNIX).unwrap_err().code,
        S3ErrorCode::SignatureDoesNotMatch
    );
}

#[test]
fn documentation_object_get_path_style() {
    let date = "Tue, 27 Mar 2007 19:36:42 +0000";
    let auth = format!("AWS {AK}:bWq2s1WEIj+Ydj0vQ697zp+IXMU=");
    let headers: [(&str, &[u8]); 2] = [
        ("Date", date.as_bytes()),
        ("Authorization", auth.as_bytes()),
    ];
    let req = view("GET", "/johnsmith/photos/puppy.jpg", "", &headers);
    verify(&req, None, DOC_GET_UNIX).unwrap();
    // The same request an hour later is outside the skew window.
    let e = verify(&req, None, DOC_GET_UNIX + 3600).unwrap_err();
    assert_eq!(
        (e.code, e.status()),
        (S3ErrorCode::RequestTimeTooSkewed, 403)
    );
}

#[test]
fn documentation_object_put_signs_content_type() {
    let date = "Tue, 27 Mar 2007 21:15:45 +0000";
    let auth = format!("AWS {AK}:MyyxeRY7whkBe+bq8fHCL/2kKUg=");
    let headers: [(&str, &[u8]); 4] = [
        ("Content-Type", b"image/jpeg"),
        ("Content-Length", b"94328"),
        ("Date", date.as_bytes()),
        ("Authorization", auth.as_bytes()),
    ];
    let req = view("PUT", "/johnsmith/photos/puppy.jpg", "", &headers);
    verify(&req, None, 1_175_030_145).unwrap();
}

#[test]
fn documentation_query_string_authentication() {
    let query = format!(
        "AWSAccessKeyId={AK}&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D"
    );
    let req = view("GET", "/johnsmith/photos/puppy.jpg", &query, &[]);
    let v = verify(&req, None, 1_175_139_000).unwrap();
    assert_eq!(v.kind, AuthKind::PresignedV2);
    // Past Expires: AccessDenied, 403.
    let e = verify(&req, None, 1_175_139_621).unwrap_err();
    assert_eq!((e.code, e.status()), (S3ErrorCode::AccessDenied, 403));
    // Another path under the same signature.
    let other = view("GET", "/johnsmith/photos/kitten.jpg", &query, &[]);
    assert_eq!(
        verify(&other, None, 1_175_139_000).unwrap_err().code,
        S3ErrorCode::SignatureDoesNotMatch
    );
}

#[test]
fn amz_headers_and_sub_resources_are_canonicalized() {
    let headers: [(&str, &[u8]); 5] = [
        ("X-Amz-Meta-B", b"  two "),
        ("x-amz-meta-a", b"one"),
        ("X-AMZ-META-B", b"three"),
        ("Content-MD5", b"1B2M2Y8AsgTpgAmY7PhCfg=="),
        ("x-amz-date", b"Tue, 27 Mar 2007 21:20:26 +0000"),
    ];
    let query = "uploadId=a%2Bb&partNumber=2&max-parts=5&uploads";
    let req = view("PUT", "/b/k%20ey", query, &headers);
    assert_eq!(
        string_to_sign(&req, "", None),
        "PUT\n1B2M2Y8AsgTpgAmY7PhCfg==\n\n\n\
         x-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\n\
         x-amz-meta-a:one\n\
         x-amz-meta-b:two,three\n\
         /b/k%20ey?partNumber=2&uploadId=a+b&uploads"
    );
}

#[test]
fn x_amz_date_empties_the_date_line_and_is_checked_for_skew() {
    let amz = "Tue, 27 Mar 2007 19:36:42 +0000";
    let req_headers: [(&str, &[u8]); 2] = [("x-amz-date", amz.as_bytes()), ("Date", b"garbage")];
    let req = view("GET", "/johnsmith/", "", &req_headers);
    let secret = SecretKey::from(SK);
    let sig = signature_v2(&secret, &req, "", None).unwrap();
    let auth = format!(
        "AWS {AK}:{}",
        base64::engine::general_purpose::STANDARD.encode(sig.0)
    );
    let headers: [(&str, &[u8]); 3] = [
        ("x-amz-date", amz.as_bytes()),
        ("Date", b"garbage"),
        ("Authorization", auth.as_bytes()),
    ];
    let signed = view("GET", "/johnsmith/", "", &headers);
    verify(&signed, None, DOC_GET_UNIX).unwrap();
    assert_eq!(
        verify(&signed, None, DOC_GET_UNIX - 3600).unwrap_err().code,
        S3ErrorCode::RequestTimeTooSkewed
    );
}

#[test]
fn refusals() {
    let date = "Tue, 27 Mar 2007 19:36:42 +0000";
    let case = |auth: &str, date: Option<&str>| {
        let mut headers: Vec<(&str, &[u8])> = vec![("Authorization", auth.as_bytes())];
        if let Some(d) = date {
            headers.push(("Date", d.as_bytes()));
        }
        let req = view("GET", "/johnsmith/photos/puppy.jpg", "", &headers);
        verify(&req, None, DOC_GET_UNIX).unwrap_err().code
    };
    let good = format!("AWS {AK}:bWq2s1WEIj+Ydj0vQ697zp+IXMU=");
    assert_eq!(case(&good, None), S3ErrorCode::AccessDenied);
    assert_eq!(
        case("AWS nocolon", Some(date)),
        S3ErrorCode::InvalidArgument
    );
    assert_eq!(
        case("AWS :sig", Some(date)),
        S3ErrorCode::InvalidAccessKeyId
    );
    assert_eq!(
        case("AWS SOMEONEELSE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=", Some(date)),
        S3ErrorCode::InvalidAccessKeyId
    );
    for bad in [
        "",
        "!!!",
        "bWq2s1WEIj+Ydj0vQ697zp+IXMA=",
        "AAAA",
        &"A".repeat(200),
    ] {
        let auth = format!("AWS {AK}:{bad}");
        assert_eq!(
            case(&auth, Some(date)),
            S3ErrorCode::SignatureDoesNotMatch,
            "{bad}"
        );
    }
    // Presigned: a parameter missing, or given twice.
    for query in [
        format!("AWSAccessKeyId={AK}&Expires=1175139620"),
        format!("AWSAccessKeyId={AK}&Expires=1175139620&Signature=a&Signature=b"),
        format!("AWSAccessKeyId={AK}&Expires=tomorrow&Signature=a"),
    ] {
        let req = view("GET", "/johnsmith/photos/puppy.jpg", &query, &[]);
        let e = verify(&req, None, 1_175_139_000).unwrap_err();
        assert!(
            e.status() == 403 || e.code == S3ErrorCode::InvalidArgument,
            "{query}: {e:?}"
        );
    }
}

#[test]
fn signed_streaming_payloads_need_sigv4() {
    let date = "Tue, 27 Mar 2007 19:36:42 +0000";
    let base: [(&str, &[u8]); 2] = [
        ("Date", date.as_bytes()),
        (
            "x-amz-content-sha256",
            b"STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        ),
    ];
    let req = view("PUT", "/johnsmith/k", "", &base);
    let sig = signature_v2(&SecretKey::from(SK), &req, date, None).unwrap();
    let auth = format!(
        "AWS {AK}:{}",
        base64::engine::general_purpose::STANDARD.encode(sig.0)
    );
    let headers: [(&str, &[u8]); 3] = [base[0], base[1], ("Authorization", auth.as_bytes())];
    let req = view("PUT", "/johnsmith/k", "", &headers);
    assert_eq!(
        verify(&req, None, DOC_GET_UNIX).unwrap_err().code,
        S3ErrorCode::InvalidRequest
    );
    // Plain `verify_request` is path-style.
    let secret = SecretKey::from(SK);
    let mut cache = SigningKeyCache::new();
    let e = verify_request(&req, |_| Some(&secret), &mut cache, DOC_GET_UNIX).unwrap_err();
    assert_eq!(e.code, S3ErrorCode::InvalidRequest);
}

#[test]
fn bucket_resource_is_signed_with_or_without_its_slash() {
    let date = "Tue, 27 Mar 2007 19:36:42 +0000";
    let secret = SecretKey::from(SK);
    for signed_path in ["/johnsmith", "/johnsmith/"] {
        let base: [(&str, &[u8]); 1] = [("Date", date.as_bytes())];
        let as_signed = view("GET", signed_path, "prefix=a", &base);
        let sig = signature_v2(&secret, &as_signed, date, None).unwrap();
        let auth = format!(
            "AWS {AK}:{}",
            base64::engine::general_purpose::STANDARD.encode(sig.0)
        );
        let headers: [(&str, &[u8]); 2] = [base[0], ("Authorization", auth.as_bytes())];
        // botocore signs `/johnsmith/` and sends `/johnsmith`.
        let sent = view("GET", "/johnsmith", "prefix=a", &headers);
        verify(&sent, None, DOC_GET_UNIX).unwrap();
    }
    assert!(!names_bucket_only("/johnsmith/k", None));
    assert!(!names_bucket_only("/", None));
    assert!(!names_bucket_only("/", Some("johnsmith")));
}
