//! Who may use the dashboard and the admin API: the `ui.admin_key` / `ui.admin_secret` pair (a
//! login form giving a session cookie, or HTTP basic auth), or `ui.admin_token` as a bearer
//! token. Every comparison is constant-time; secrets are never logged.

use super::http::Request;
use crate::config::{Secret, UiConfig};
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

/// What a session is tied to: a digest of the credentials it was issued for. A reload that changes
/// `ui.admin_key` or `ui.admin_secret` changes it, and every older session stops working.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of the configured key/secret pair; `None` when the dashboard is off or has
    /// no login (then no session is valid).
    pub(crate) fn of(ui: &UiConfig) -> Option<Fingerprint> {
        use sha2::Digest;
        let (Some(key), Some(secret)) = (&ui.admin_key, &ui.admin_secret) else {
            return None;
        };
        if !ui.enabled {
            return None;
        }
        let mut h = sha2::Sha256::new();
        h.update(b"s3o-admin-session\0");
        h.update((key.len() as u64).to_be_bytes());
        h.update(key.as_bytes());
        h.update(secret.expose().as_bytes());
        Some(Fingerprint(h.finalize().into()))
    }

    fn matches(&self, other: &Fingerprint) -> bool {
        bool::from(self.0.ct_eq(&other.0))
    }
}

/// Dashboard sessions: random tokens in memory (a restart logs everyone out), each with its
/// expiry and the [`Fingerprint`] of the credentials that opened it.
#[derive(Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<String, (Instant, Fingerprint)>>,
}

impl Sessions {
    /// A new session's token, tied to `issued_for`.
    pub(crate) fn create(&self, issued_for: Fingerprint) -> String {
        let token = hex::encode(rand::random::<[u8; 32]>());
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        map.retain(|_, (exp, _)| *exp > now);
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map.iter().min_by_key(|(_, e)| e.0).map(|(k, _)| k.clone()) {
                map.remove(&oldest);
            }
        }
        map.insert(token.clone(), (now + SESSION_TTL, issued_for));
        token
    }

    /// Whether `token` is a live session opened with the credentials configured `now`.
    pub(crate) fn valid(&self, token: &str, now: Option<Fingerprint>) -> bool {
        let Some(now) = now else {
            return false;
        };
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        // Tokens are 64 hex chars; a lookup by hash leaks nothing useful about other tokens.
        map.get(token)
            .is_some_and(|(exp, fp)| *exp > Instant::now() && fp.matches(&now))
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

/// Whether the request carries valid admin credentials in any accepted form. `generated` is the
/// token of [`super::token`], passed only while the config names no credentials.
pub(crate) fn authorized(
    req: &Request,
    ui: &UiConfig,
    sessions: &Sessions,
    generated: Option<&Secret>,
) -> bool {
    if let Some(t) = session_token(req) {
        if sessions.valid(&t, Fingerprint::of(ui)) {
            return true;
        }
    }
    let Some(auth) = req.header("authorization") else {
        return false;
    };
    let (scheme, rest) = auth.split_once(' ').unwrap_or((auth, ""));
    if scheme.eq_ignore_ascii_case("bearer") {
        let given = rest.trim();
        // Both compared whatever the first gives.
        let configured = ui
            .admin_token
            .as_ref()
            .is_some_and(|t| eq(t.expose(), given));
        let generated = generated.is_some_and(|t| eq(t.expose(), given));
        return configured | generated;
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
        assert!(!authorized(&req(&[]), &u, &s, None));
        // admin:pw
        assert!(authorized(
            &req(&[("authorization", "Basic YWRtaW46cHc=")]),
            &u,
            &s,
            None
        ));
        // admin:px
        assert!(!authorized(
            &req(&[("authorization", "Basic YWRtaW46cHg=")]),
            &u,
            &s,
            None
        ));
        assert!(authorized(
            &req(&[("authorization", "Bearer tok")]),
            &u,
            &s,
            None
        ));
        assert!(!authorized(
            &req(&[("authorization", "Bearer tok2")]),
            &u,
            &s,
            None
        ));
        let gen = Secret::new("generated");
        let bearer_gen = req(&[("authorization", "Bearer generated")]);
        assert!(!authorized(&bearer_gen, &u, &s, None));
        assert!(authorized(&bearer_gen, &u, &s, Some(&gen)));
        let t = s.create(Fingerprint::of(&u).unwrap());
        let cookie = format!("a=b; {SESSION_COOKIE}={t}");
        assert!(authorized(&req(&[("cookie", &cookie)]), &u, &s, None));
        s.remove(&t);
        assert!(!authorized(&req(&[("cookie", &cookie)]), &u, &s, None));
        assert!(credentials_match(&u, "admin", "pw"));
        assert!(!credentials_match(&u, "admin", ""));
        assert!(!credentials_match(&UiConfig::default(), "", ""));
    }

    #[test]
    fn sessions_are_bounded() {
        let s = Sessions::default();
        let fp = Fingerprint::of(&ui());
        let first = s.create(fp.unwrap());
        for _ in 0..MAX_SESSIONS {
            s.create(fp.unwrap());
        }
        assert!(!s.valid(&first, fp));
        assert_eq!(s.map.lock().unwrap().len(), MAX_SESSIONS);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod session_tests {
    use super::*;

    fn ui(key: &str, secret: &str, enabled: bool) -> UiConfig {
        UiConfig {
            enabled,
            admin_key: Some(key.into()),
            admin_secret: Some(Secret::new(secret)),
            admin_token: None,
        }
    }

    /// A session opened with one key/secret stops working once either changes or the dashboard
    /// is turned off, and works again if they come back (the session itself was never revoked).
    #[test]
    fn sessions_follow_the_credentials() {
        let s = Sessions::default();
        let before = ui("admin", "pw", true);
        let t = s.create(Fingerprint::of(&before).unwrap());
        let cookie = format!("{SESSION_COOKIE}={t}");
        let r = Request {
            headers: vec![("cookie".into(), cookie)],
            ..Default::default()
        };
        assert!(authorized(&r, &before, &s, None));
        assert!(!authorized(&r, &ui("admin", "pw2", true), &s, None));
        assert!(!authorized(&r, &ui("admin2", "pw", true), &s, None));
        assert!(!authorized(&r, &ui("admin", "pw", false), &s, None));
        // Length-prefixed: moving a character between key and secret is another fingerprint.
        assert!(Fingerprint::of(&ui("ad", "minpw", true)) != Fingerprint::of(&before));
        assert!(authorized(&r, &before, &s, None));
    }
}
