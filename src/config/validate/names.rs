//! Checks of single names and addresses, without a [`Checker`](super::Checker): S3 bucket names,
//! backend names, DNS host names, endpoint URLs, listen addresses and `server.domain`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::config::model::Endpoint;

/// Longest backend name. Names are Prometheus label values and parts of catalog keys; short names keep
/// both compact.
const MAX_BACKEND_NAME_LEN: usize = 64;

/// Longest DNS name (RFC 1035), for endpoint hosts and `server.domain`.
const MAX_HOST_LEN: usize = 253;

/// Longest label of a DNS name (RFC 1035).
const MAX_LABEL_LEN: usize = 63;

/// Shortest and longest S3 bucket name (AWS bucket naming rules).
const BUCKET_NAME_LEN: std::ops::RangeInclusive<usize> = 3..=63;

/// Why `name` is not a usable backend name, if it is not.
pub(super) fn backend_name_problem(name: &str) -> Option<String> {
    if name.len() > MAX_BACKEND_NAME_LEN {
        return Some(format!(
            "backend name is longer than {MAX_BACKEND_NAME_LEN} characters"
        ));
    }
    if !name
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    {
        return Some(format!(
            "invalid backend name `{name}`: use letters, digits, `-`, `_` and `.`"
        ));
    }
    None
}

/// Why `name` is not a valid S3 bucket name (AWS's general-purpose bucket naming rules), if it is not.
pub(crate) fn bucket_name_problem(name: &str) -> Option<&'static str> {
    if !BUCKET_NAME_LEN.contains(&name.len()) {
        return Some("must be 3 to 63 characters long");
    }
    if !name
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
    {
        return Some("only lowercase letters, digits, `.` and `-` are allowed");
    }
    let bytes = name.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return Some("must begin and end with a letter or digit");
    }
    if name.contains("..") {
        return Some("must not contain two adjacent dots");
    }
    if looks_like_ipv4(name) {
        return Some("must not be formatted as an IP address");
    }
    if name.starts_with("xn--") || name.starts_with("sthree-") {
        return Some("must not start with `xn--` or `sthree-`");
    }
    if name.ends_with("-s3alias") || name.ends_with("--ol-s3") {
        return Some("must not end with `-s3alias` or `--ol-s3`");
    }
    None
}

/// Four dot-separated groups of digits (`192.168.5.4`, also out-of-range ones like `999.1.1.1`).
fn looks_like_ipv4(name: &str) -> bool {
    let groups: Vec<&str> = name.split('.').collect();
    groups.len() == 4
        && groups
            .iter()
            .all(|g| !g.is_empty() && g.bytes().all(|c| c.is_ascii_digit()))
}

/// Validates a DNS host name and lowercases it.
fn parse_hostname(host: &str) -> Result<String, String> {
    if host.is_empty() {
        return Err("the host is empty".to_owned());
    }
    if host.len() > MAX_HOST_LEN {
        return Err(format!("the host is longer than {MAX_HOST_LEN} characters"));
    }
    for label in host.split('.') {
        if label.is_empty() {
            return Err("the host has an empty label (`..` or a leading/trailing dot)".to_owned());
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(format!(
                "a host label is longer than {MAX_LABEL_LEN} characters"
            ));
        }
        if !label
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        {
            return Err(format!(
                "the host label `{label}` may contain only letters, digits, `-` and `_`"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "the host label `{label}` must not begin or end with `-`"
            ));
        }
    }
    Ok(host.to_ascii_lowercase())
}

/// Parses an `http://` or `https://` endpoint URL.
pub(super) fn parse_endpoint(url: &str) -> Result<Endpoint, String> {
    let (scheme_https, rest) = if let Some(r) = strip_prefix_ignore_case(url, "https://") {
        (true, r)
    } else if let Some(r) = strip_prefix_ignore_case(url, "http://") {
        (false, r)
    } else {
        return Err("must start with `http://` or `https://`".to_owned());
    };
    if rest.contains(['?', '#']) {
        return Err("must not have a query (`?`) or fragment (`#`)".to_owned());
    }
    if rest.bytes().any(|c| !c.is_ascii_graphic()) {
        return Err("must not contain spaces or non-ASCII characters".to_owned());
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return Err(
            "must not contain user credentials; use access_key_id and secret_access_key".to_owned(),
        );
    }
    let default_port = if scheme_https { 443 } else { 80 };
    let (host, port_text) = if let Some(v6) = authority.strip_prefix('[') {
        let end = v6.find(']').ok_or("unclosed `[` in the IPv6 host")?;
        let addr: Ipv6Addr = v6[..end]
            .parse()
            .map_err(|_| format!("`{}` is not an IPv6 address", &v6[..end]))?;
        let after = &v6[end + 1..];
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("unexpected text after `]`")?),
        };
        (addr.to_string(), port)
    } else {
        let (h, p) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let host = if h.parse::<Ipv4Addr>().is_ok() {
            h.to_owned()
        } else {
            parse_hostname(h)?
        };
        (host, p)
    };
    let port = match port_text {
        None => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(0) | Err(_) => return Err(format!("`{p}` is not a valid port (1-65535)")),
            Ok(n) => n,
        },
    };
    let base_path = path.trim_end_matches('/').to_owned();
    Ok(Endpoint {
        scheme_https,
        host,
        port,
        base_path,
    })
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Parses `IP:port`; `:port` (the Go form) means all IPv4 interfaces.
pub(super) fn parse_socket_addr(text: &str) -> Result<SocketAddr, String> {
    const HINT: &str =
        "expected `IP:port` such as `0.0.0.0:9000`, `127.0.0.1:9001` or `[::1]:9000`";
    if let Some(port) = text.strip_prefix(':') {
        let port: u16 = port.parse().map_err(|_| HINT.to_owned())?;
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    }
    text.parse().map_err(|_| HINT.to_owned())
}

/// Validates `server.domain`: a DNS name, lowercased, without a trailing dot.
pub(super) fn parse_domain(text: &str) -> Result<String, String> {
    let d = text.strip_suffix('.').unwrap_or(text);
    if d.contains(':') || d.contains('/') {
        return Err("a bare host name is expected, without scheme, port or path".to_owned());
    }
    let host = parse_hostname(d)?;
    if host.contains('_') {
        return Err("`_` is not allowed in a domain name".to_owned());
    }
    Ok(host)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names() {
        for ok in ["myapp", "my-app.logs", "a1b", "123", &"a".repeat(63)] {
            assert_eq!(bucket_name_problem(ok), None, "{ok}");
        }
        let bad = [
            ("ab", "3 to 63"),
            (&"a".repeat(64) as &str, "3 to 63"),
            ("MyApp", "lowercase"),
            ("my_app", "lowercase"),
            ("-app", "begin and end"),
            ("app.", "begin and end"),
            ("my..app", "adjacent"),
            ("192.168.5.4", "IP address"),
            ("999.1.1.1", "IP address"),
            ("xn--app", "xn--"),
            ("app-s3alias", "-s3alias"),
        ];
        for (name, why) in bad {
            let p = bucket_name_problem(name).unwrap_or("");
            assert!(p.contains(why), "{name}: {p}");
        }
    }

    #[test]
    fn endpoints() {
        let e = parse_endpoint("https://objectstorage.us-ashburn-1.oraclecloud.com").unwrap();
        assert_eq!(
            e,
            Endpoint {
                scheme_https: true,
                host: "objectstorage.us-ashburn-1.oraclecloud.com".into(),
                port: 443,
                base_path: String::new()
            }
        );
        let e = parse_endpoint("HTTP://LocalHost:8333/s3/").unwrap();
        assert!(!e.scheme_https);
        assert_eq!(e.host, "localhost");
        assert_eq!(e.port, 8333);
        assert_eq!(e.base_path, "/s3");
        let e = parse_endpoint("http://127.0.0.1:9000").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("127.0.0.1", 9000));
        let e = parse_endpoint("http://[::1]:9000/").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.base_path.as_str()),
            ("::1", 9000, "")
        );
        let e = parse_endpoint("http://[::1]").unwrap();
        assert_eq!(e.port, 80);

        for (bad, why) in [
            ("ftp://x.com", "http://"),
            ("x.com", "http://"),
            ("https://", "empty"),
            ("https://x.com:0", "port"),
            ("https://x.com:99999", "port"),
            ("https://x.com:abc", "port"),
            ("https://user:pw@x.com", "credentials"),
            ("https://x.com/?a=b", "query"),
            ("https://x .com", "spaces"),
            ("https://<account-id>.r2.cloudflarestorage.com", "label"),
            ("https://a..b", "empty label"),
            ("https://-a.com", "`-`"),
            ("http://[::1", "unclosed"),
            ("http://[zz]:1", "IPv6"),
            ("http://[::1]x", "after"),
        ] {
            let err = parse_endpoint(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn socket_addrs() {
        assert_eq!(
            parse_socket_addr(":9000").unwrap(),
            "0.0.0.0:9000".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            parse_socket_addr("[::1]:9000").unwrap(),
            "[::1]:9000".parse::<SocketAddr>().unwrap()
        );
        assert!(parse_socket_addr("localhost:9000").is_err());
        assert!(parse_socket_addr("127.0.0.1").is_err());
        assert!(parse_socket_addr(":x").is_err());
    }

    #[test]
    fn domains() {
        assert_eq!(parse_domain("S3.Example.com.").unwrap(), "s3.example.com");
        assert_eq!(parse_domain("localhost").unwrap(), "localhost");
        assert!(parse_domain("s3.example.com:9000").is_err());
        assert!(parse_domain("http://x").is_err());
        assert!(parse_domain("a_b.com").is_err());
        assert!(parse_domain("").is_err());
    }

    #[test]
    fn backend_names() {
        assert_eq!(backend_name_problem("oci-1_a.b"), None);
        assert!(backend_name_problem("a b").is_some());
        assert!(backend_name_problem(&"a".repeat(65)).is_some());
    }
}
