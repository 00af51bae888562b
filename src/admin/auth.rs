//! Who may use the dashboard and the admin API: the `ui.admin_key` / `ui.admin_secret` pair (a
//! login form giving a session cookie, or HTTP basic auth), or `ui.admin_token` as a bearer
//! token. Every comparison is constant-time; secrets are never logged.

use super::http::Request;
use crate::config::UiConfig;
use base64::Engine;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// Name of the dashboard's session cookie.
pub(crate) const SESSION_COOKIE: &str = "s3o_session";
/// How long a dashboard login lasts.
pub(crate) const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at once; the oldest is dropped beyond this (a few operators, many browsers).
pub(crate) const MAX_SESSIONS: usize = 256;
/// Pause after a failed login, so guessing the password from one connection is slow.
pub(crate) const LOGIN_FAILURE_DELAY: Duration = Duration::from_millis(250);

fn eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Whether `key`/`secret` are the configured admin credentials.
pub(crate) fn credentials_match(ui: &UiConfig, key: &str, secret: &str) -> bool {
    match (&ui.admin_key, &ui.admin_secret) {
        // Evaluate both comparisons whatever the first gives.
        (Some(k), Some(s)) => eq(k, key) & eq(s.expose(), secret),
        _ => false,
    }
}

/// Dashboard sessions: random tokens in memory (a restart logs everyone out).
#[derive(Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<String, Instant>>,
}

impl Sessions {
    /// A new session's token.
    pub(crate) fn create(&self) -> String {
        let token = hex::encode(rand::random::<[u8; 32]>());
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        map.retain(|_, exp| *exp > now);
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map.iter().min_by_key(|(_, e)| **e).map(|(k, _)| k.clone()) {
                map.remove(&oldest);
            }
        }
        map.insert(token.clone(), now + SESSION_TTL);
        token
    }

    pub(crate) fn valid(&self, token: &str) -> bool {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        // Tokens are 64 hex chars; a lookup by hash leaks nothing useful about other tokens.
        map.get(token).is_some_and(|exp| *exp > Instant::now())
    }

    pub(crate) fn remove(&self, token: &str) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(token);
    }
}

/// The session token in the request's cookies.
pub(crate) fn session_token(req: &Request) -> Option<String> {
    let cookies = req.header("cookie")?;
    cookies.split(';').find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == SESSION_COOKIE).then(|| v.to_owned())
    })
}

/// Whether the request carries valid admin credentials in any accepted form.
pub(crate) fn authorized(req: &Request, ui: &UiConfig, sessions: &Sessions) -> bool {
    if let Some(t) = session_token(req) {
        if sessions.valid(&t) {
            return true;
        }
    }
    let Some(auth) = req.header("authorization") else {
        return false;
    };
    let (scheme, rest) = auth.split_once(' ').unwrap_or((auth, ""));
    if scheme.eq_ignore_ascii_case("bearer") {
        return ui
            .admin_token
            .as_ref()
            .is_some_and(|t| eq(t.expose(), rest.trim()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(rest.trim()) else {
            return false;
        };
        let Ok(text) = String::from_utf8(raw) else {
            return false;
        };
        let (k, s) = text.split_once(':').unwrap_or((&text, ""));
        return credentials_match(ui, k, s);
    }
    false
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn ui() -> UiConfig {
        UiConfig {
            enabled: true,
            admin_key: Some("admin".into()),
            admin_secret: Some(Secret::new("pw")),
            admin_token: Some(Secret::new("tok")),
        }
    }

    fn req(headers: &[(&str, &str)]) -> Request {
        Request {
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn accepted_forms() {
        let s = Sessions::default();
        let u = ui();
        assert!(!authorized(&req(&[]), &u, &s));
        // admin:pw
        assert!(authorized(
            &req(&[("authorization", "Basic YWRtaW46cHc=")]),
            &u,
            &s
        ));
        // admin:px
        assert!(!authorized(
            &req(&[("authorization", "Basic YWRtaW46cHg=")]),
            &u,
            &s
        ));
        assert!(authorized(&req(&[("authorization", "Bearer tok")]), &u, &s));
        assert!(!authorized(
            &req(&[("authorization", "Bearer tok2")]),
            &u,
            &s
        ));
        let t = s.create();
        let cookie = format!("a=b; {SESSION_COOKIE}={t}");
        assert!(authorized(&req(&[("cookie", &cookie)]), &u, &s));
        s.remove(&t);
        assert!(!authorized(&req(&[("cookie", &cookie)]), &u, &s));
        assert!(credentials_match(&u, "admin", "pw"));
        assert!(!credentials_match(&u, "admin", ""));
        assert!(!credentials_match(&UiConfig::default(), "", ""));
    }

    #[test]
    fn sessions_are_bounded() {
        let s = Sessions::default();
        let first = s.create();
        for _ in 0..MAX_SESSIONS {
            s.create();
        }
        assert!(!s.valid(&first));
        assert_eq!(s.map.lock().unwrap().len(), MAX_SESSIONS);
    }
}
