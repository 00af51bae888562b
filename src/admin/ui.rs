//! The web dashboard at `/ui`: a login form, then one page that polls `/admin/status` and
//! `/stats` every 2 s and draws its tables and chart itself. Every asset is compiled into the
//! binary (no CDN, no internet); a Content-Security-Policy of `'self'` keeps it that way.

use super::auth::{self, SESSION_COOKIE, SESSION_TTL};
use super::http::{form_value, Request, Response};
use super::AdminState;

const INDEX_HTML: &str = include_str!("ui/index.html");
const LOGIN_HTML: &str = include_str!("ui/login.html");
const APP_JS: &str = include_str!("ui/app.js");
const LOGIN_JS: &str = include_str!("ui/login.js");
const STYLE_CSS: &str = include_str!("ui/style.css");

/// Only our own origin; inline style attributes for the quota bars.
const CSP: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'";

fn page(status: u16, html: &str) -> Response {
    Response::new(status, "text/html; charset=utf-8", html.to_owned())
        .with_header("Content-Security-Policy", CSP)
        .with_header("X-Frame-Options", "DENY")
}

fn login_page(status: u16, error: Option<&str>) -> Response {
    let html = match error {
        Some(e) => LOGIN_HTML.replace(
            "<!--ERROR-->",
            &format!("<p class=\"error\" id=\"login-error\">{e}</p>"),
        ),
        None => LOGIN_HTML.to_owned(),
    };
    page(status, &html)
}

pub(crate) fn route(req: &Request, state: &AdminState) -> Response {
    let app = state.app();
    let ui = &app.config().ui;
    if !ui.enabled {
        return Response::text(
            404,
            "the dashboard is off: set ui.enabled, ui.admin_key and ui.admin_secret",
        );
    }
    let get = req.method == "GET" || req.method == "HEAD";
    match (req.path.as_str(), get) {
        ("/ui/app.js", true) => Response::new(200, "text/javascript; charset=utf-8", APP_JS),
        ("/ui/login.js", true) => Response::new(200, "text/javascript; charset=utf-8", LOGIN_JS),
        ("/ui/style.css", true) => Response::new(200, "text/css; charset=utf-8", STYLE_CSS),
        ("/ui" | "/ui/", true) => {
            if auth::authorized(req, ui, &state.sessions, None) {
                page(200, INDEX_HTML)
            } else {
                login_page(200, None)
            }
        }
        ("/ui/login", false) if req.method == "POST" => {
            let form = String::from_utf8_lossy(&req.body);
            let key = form_value(&form, "admin_key").unwrap_or_default();
            let secret = form_value(&form, "admin_secret").unwrap_or_default();
            let issued_for = auth::Fingerprint::of(ui);
            if let (true, Some(fp)) = (auth::credentials_match(ui, &key, &secret), issued_for) {
                let token = state.sessions.create(fp);
                tracing::info!("dashboard login");
                Response::text(303, "signed in")
                    .with_header("Location", "/ui")
                    .with_header(
                        "Set-Cookie",
                        format!(
                            "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
                            SESSION_TTL.as_secs()
                        ),
                    )
            } else {
                // Never log what was typed: it may be a password with a typo. The listener logs
                // and delays the failure.
                login_page(401, Some("Wrong admin key or secret.")).auth_failed("wrong login")
            }
        }
        ("/ui/logout", false) if req.method == "POST" => {
            if let Some(t) = auth::session_token(req) {
                state.sessions.remove(&t);
            }
            Response::text(303, "signed out")
                .with_header("Location", "/ui")
                .with_header(
                    "Set-Cookie",
                    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
                )
        }
        _ => Response::text(405, "method not allowed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_self_contained() {
        for (name, text) in [
            ("index.html", INDEX_HTML),
            ("login.html", LOGIN_HTML),
            ("app.js", APP_JS),
            ("login.js", LOGIN_JS),
            ("style.css", STYLE_CSS),
        ] {
            assert!(!text.contains("http://"), "{name} refers to another origin");
            assert!(
                !text.contains("https://"),
                "{name} refers to another origin"
            );
        }
        assert!(INDEX_HTML.contains("id=\"backends\""));
        assert!(INDEX_HTML.contains("id=\"latency-chart\""));
        assert!(LOGIN_HTML.contains("<!--ERROR-->"));
    }
}
