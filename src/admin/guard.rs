//! Checks every admin request passes before it is routed, against requests a browser makes on
//! someone else's behalf:
//! - **`Host`** must name the admin listener (`localhost`, a loopback address, `admin_addr`'s
//!   address, or any IP literal when it listens on all addresses), so a DNS-rebinding page cannot
//!   reach it under its own domain name. The port is not compared (port forwards change it).
//! - **Changing requests** (anything but GET and HEAD) must carry
//!   `X-Requested-With: s3-orchestrator`: a page on another site can only add such a header
//!   through a CORS preflight, which this listener never answers. A foreign `Origin` (or a
//!   `Sec-Fetch-Site` other than `same-origin`/`none`) is refused as well.
//! - **Methods**: each documented path accepts its documented methods only; others get `405` with
//!   an `Allow` header.

use super::http::{Request, Response};
use std::net::{IpAddr, SocketAddr};

/// The header changing requests carry, and its only accepted value.
pub(crate) const REQUESTED_WITH_HEADER: &str = "x-requested-with";
pub(crate) const REQUESTED_WITH_VALUE: &str = "s3-orchestrator";

/// The documented methods of each path (the user's guide and `docs/`); `None` for paths this
/// table does not know (routed as before, typically to a 404).
pub(crate) fn allowed_methods(path: &str) -> Option<&'static str> {
    Some(match path {
        "/health" | "/ready" | "/metrics" | "/stats" => "GET, HEAD",
        "/ui" | "/ui/" | "/ui/app.js" | "/ui/login.js" | "/ui/style.css" => "GET, HEAD",
        "/ui/login" | "/ui/logout" => "POST",
        "/admin/status" | "/admin/object" => "GET, HEAD",
        "/admin/log-level" => "GET, HEAD, PUT",
        "/admin/reload" => "POST",
        "/admin/drain" => "GET, HEAD, POST, DELETE",
        "/admin/orphans" => "GET, HEAD",
        "/admin/orphans/purge" | "/admin/orphans/rebind" => "POST",
        _ => return None,
    })
}

/// `405` unless `method` is one `allow` lists.
pub(crate) fn check_method(method: &str, allow: &'static str) -> Result<(), Response> {
    if allow.split(", ").any(|m| m == method) {
        Ok(())
    } else {
        Err(Response::text(405, "method not allowed").with_header("Allow", allow))
    }
}

/// Whether the request only reads.
pub(crate) fn is_read(req: &Request) -> bool {
    req.method == "GET" || req.method == "HEAD"
}

/// The `Host` check and, for changing requests, the cross-site checks.
pub(crate) fn check(req: &Request, admin_addr: SocketAddr) -> Result<(), Response> {
    let host = req.header("host").unwrap_or_default();
    if !host_names_listener(host, admin_addr) {
        return Err(Response::text(
            421,
            "the Host header does not name this admin listener; use its address or localhost",
        ));
    }
    if is_read(req) {
        return Ok(());
    }
    if req.header(REQUESTED_WITH_HEADER) != Some(REQUESTED_WITH_VALUE) {
        return Err(Response::text(
            403,
            "changing admin requests need the header X-Requested-With: s3-orchestrator",
        ));
    }
    if let Some(origin) = req.header("origin") {
        if !same_origin(origin, host) {
            return Err(Response::text(403, "cross-origin admin request refused"));
        }
    }
    if let Some(site) = req.header("sec-fetch-site") {
        if site != "same-origin" && site != "none" {
            return Err(Response::text(403, "cross-site admin request refused"));
        }
    }
    Ok(())
}

/// The host part of a `Host` value (`name`, `name:port`, `[v6]:port`).
fn host_part(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

fn host_names_listener(host: &str, admin_addr: SocketAddr) -> bool {
    let name = host_part(host.trim());
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let Ok(ip) = name.parse::<IpAddr>() else {
        return false;
    };
    ip.is_loopback() || ip == admin_addr.ip() || admin_addr.ip().is_unspecified()
}

/// Whether `Origin` (`scheme://host[:port]`) is the listener the request was sent to.
fn same_origin(origin: &str, host: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false; // `null` and anything malformed
    };
    (scheme == "http" || scheme == "https") && authority.eq_ignore_ascii_case(host.trim())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn req(method: &str, headers: &[(&str, &str)]) -> Request {
        Request {
            method: method.into(),
            path: "/admin/reload".into(),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Default::default()
        }
    }

    fn status(r: Result<(), Response>) -> u16 {
        r.map_or_else(|e| e.status, |()| 200)
    }

    const LOOPBACK: &str = "127.0.0.1:9001";
    const XRW: (&str, &str) = ("x-requested-with", "s3-orchestrator");

    #[test]
    fn host_must_name_the_listener() {
        let lo: SocketAddr = LOOPBACK.parse().unwrap();
        let any: SocketAddr = "0.0.0.0:9001".parse().unwrap();
        for (host, addr, ok) in [
            ("127.0.0.1:9001", lo, true),
            ("localhost:8080", lo, true),
            ("LOCALHOST", lo, true),
            ("[::1]:9001", lo, true),
            ("evil.example:9001", lo, false),
            ("10.0.0.5:9001", lo, false),
            ("10.0.0.5:9001", any, true),
            ("admin.example", any, false),
            ("", lo, false),
        ] {
            let r = req("GET", &[("host", host)]);
            assert_eq!(status(check(&r, addr)) == 200, ok, "{host} for {addr}");
        }
    }

    #[test]
    fn changing_requests_are_same_origin_only() {
        let lo: SocketAddr = LOOPBACK.parse().unwrap();
        let host = ("host", LOOPBACK);
        assert_eq!(status(check(&req("POST", &[host]), lo)), 403);
        assert_eq!(
            status(check(
                &req("POST", &[host, ("x-requested-with", "XMLHttpRequest")]),
                lo
            )),
            403
        );
        assert_eq!(status(check(&req("POST", &[host, XRW]), lo)), 200);
        let same = ("origin", "http://127.0.0.1:9001");
        assert_eq!(status(check(&req("POST", &[host, XRW, same]), lo)), 200);
        for origin in ["http://evil.example", "null", "http://127.0.0.1:9002"] {
            let r = req("DELETE", &[host, XRW, ("origin", origin)]);
            assert_eq!(status(check(&r, lo)), 403, "{origin}");
        }
        let cross = ("sec-fetch-site", "cross-site");
        assert_eq!(status(check(&req("PUT", &[host, XRW, cross]), lo)), 403);
        // Reads need none of it.
        assert_eq!(status(check(&req("GET", &[host, cross]), lo)), 200);
    }

    #[test]
    fn only_documented_methods() {
        let allow = |p| allowed_methods(p).unwrap_or("none");
        assert_eq!(status(check_method("POST", allow("/admin/log-level"))), 405);
        assert_eq!(status(check_method("PUT", allow("/admin/log-level"))), 200);
        assert_eq!(status(check_method("PUT", allow("/admin/drain"))), 405);
        assert_eq!(status(check_method("GET", allow("/admin/reload"))), 405);
        let e = check_method("PATCH", allow("/admin/drain")).unwrap_err();
        assert_eq!(
            e.headers,
            vec![("Allow", "GET, HEAD, POST, DELETE".to_owned())]
        );
        assert_eq!(allowed_methods("/admin/unknown"), None);
    }
}
