//! `server` (listen and admin addresses, shards, domain, TLS, admission, backend timeout), and the
//! small sections `ui` (dashboard and admin credentials), `logging` and `catalog`.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::names::{parse_domain, parse_socket_addr};
use super::Checker;
use crate::config::model::{
    AccessLogLevel, CatalogConfig, LoggingConfig, ServerConfig, TlsConfig, UiConfig,
    BACKEND_TIMEOUT_RANGE, DEFAULT_ADMIN_ADDR, DEFAULT_BACKEND_TIMEOUT, DEFAULT_CATALOG_PATH,
    DEFAULT_LISTEN_ADDR, DEFAULT_MAX_CONCURRENT_REQUESTS, DEFAULT_MAX_IN_FLIGHT_BYTES_PER_KEY,
    DEFAULT_MIN_UPLOAD_BYTES_PER_SECOND, DEFAULT_REQUEST_TIMEOUT, DEFAULT_UPLOAD_RATE_WINDOW,
    DEFAULT_WRITE_STALL_TIMEOUT, MAX_CONCURRENT_REQUESTS, MAX_MIN_UPLOAD_BYTES_PER_SECOND,
    MAX_SHARDS, REQUEST_TIMEOUT_RANGE, UPLOAD_RATE_WINDOW_RANGE, WRITE_STALL_TIMEOUT_RANGE,
};
use crate::config::raw::{RawCatalog, RawLogging, RawServer, RawUi, Scalar};

impl Checker<'_> {
    pub(super) fn server(&mut self, raw: Option<&RawServer>) -> ServerConfig {
        let Some(raw) = raw else {
            return ServerConfig::default();
        };
        let listen_addr = self.socket_addr("server.listen_addr", raw.listen_addr.as_ref());
        let admin_addr = self.socket_addr("server.admin_addr", raw.admin_addr.as_ref());
        let listen = listen_addr.unwrap_or(DEFAULT_LISTEN_ADDR);
        let admin = admin_addr.unwrap_or(DEFAULT_ADMIN_ADDR);
        if listens_overlap(listen, admin) {
            self.problem(
                if raw.admin_addr.is_some() { "server.admin_addr" } else { "server.listen_addr" },
                format!("the S3 listener ({listen}) and the admin listener ({admin}) would share a port; give them different ports"),
            );
        }

        const SHARDS: &str = "server.shards";
        let shards = self.uint(SHARDS, raw.shards.as_ref()).map(|s| {
            let s = usize::try_from(s).unwrap_or(usize::MAX);
            if s > MAX_SHARDS {
                self.problem(
                    SHARDS,
                    format!("at most {MAX_SHARDS} (0 = one per core), found {s}"),
                );
            }
            s
        });

        const DOMAIN: &str = "server.domain";
        let domain = self.text(DOMAIN, raw.domain.as_ref()).and_then(|d| {
            parse_domain(&d)
                .map_err(|why| self.problem(DOMAIN, format!("invalid domain `{d}`: {why}")))
                .ok()
        });

        let tls = raw.tls.as_ref().and_then(|t| {
            let cert = self.required_text("server.tls.cert_file", t.cert_file.as_ref());
            let key = self.required_text("server.tls.key_file", t.key_file.as_ref());
            Some(TlsConfig {
                cert_file: PathBuf::from(cert?),
                key_file: PathBuf::from(key?),
            })
        });

        let max_concurrent_requests = self.count(
            "server.max_concurrent_requests",
            raw.max_concurrent_requests.as_ref(),
            MAX_CONCURRENT_REQUESTS as u64,
            DEFAULT_MAX_CONCURRENT_REQUESTS as u64,
        ) as usize;
        let backend_timeout = self.bounded_duration(
            "server.backend_timeout",
            raw.backend_timeout.as_ref(),
            BACKEND_TIMEOUT_RANGE,
            DEFAULT_BACKEND_TIMEOUT,
        );
        // 0 means no cap, as `quota_bytes: 0` means no quota.
        let max_in_flight_bytes_per_key = match self.uint(
            "server.max_in_flight_bytes_per_key",
            raw.max_in_flight_bytes_per_key.as_ref(),
        ) {
            None => Some(DEFAULT_MAX_IN_FLIGHT_BYTES_PER_KEY),
            Some(0) => None,
            Some(n) => Some(n),
        };

        let mut server = ServerConfig {
            listen_addr: listen,
            admin_addr: admin,
            shards: shards.unwrap_or(0),
            domain,
            tls,
            max_concurrent_requests,
            backend_timeout,
            max_in_flight_bytes_per_key,
            ..ServerConfig::default()
        };
        self.client_timeouts(raw, &mut server);
        server
    }

    /// The client listener's slow-client limits: write stall, request deadline, upload rate.
    fn client_timeouts(&mut self, raw: &RawServer, server: &mut ServerConfig) {
        server.write_stall_timeout = self.bounded_duration(
            "server.write_stall_timeout",
            raw.write_stall_timeout.as_ref(),
            WRITE_STALL_TIMEOUT_RANGE,
            DEFAULT_WRITE_STALL_TIMEOUT,
        );
        server.request_timeout = self.bounded_duration(
            "server.request_timeout",
            raw.request_timeout.as_ref(),
            REQUEST_TIMEOUT_RANGE,
            DEFAULT_REQUEST_TIMEOUT,
        );
        const RATE: &str = "server.min_upload_bytes_per_second";
        server.min_upload_bytes_per_second = match self
            .uint(RATE, raw.min_upload_bytes_per_second.as_ref())
        {
            None => DEFAULT_MIN_UPLOAD_BYTES_PER_SECOND,
            Some(n) if n > MAX_MIN_UPLOAD_BYTES_PER_SECOND => {
                self.problem(
                        RATE,
                        format!(
                            "must be at most {MAX_MIN_UPLOAD_BYTES_PER_SECOND} (0 = no floor), found {n}"
                        ),
                    );
                DEFAULT_MIN_UPLOAD_BYTES_PER_SECOND
            }
            Some(n) => n,
        };
        server.upload_rate_window = self.bounded_duration(
            "server.upload_rate_window",
            raw.upload_rate_window.as_ref(),
            UPLOAD_RATE_WINDOW_RANGE,
            DEFAULT_UPLOAD_RATE_WINDOW,
        );
    }

    fn socket_addr(&mut self, path: &str, value: Option<&Scalar>) -> Option<SocketAddr> {
        if value.is_some_and(|v| !matches!(v, Scalar::Str(_))) {
            self.problem(
                path,
                "expected an address `IP:port` such as `127.0.0.1:9000`",
            );
            return None;
        }
        let text = self.text(path, value)?;
        parse_socket_addr(&text)
            .map_err(|why| self.problem(path, format!("invalid address `{text}`: {why}")))
            .ok()
    }

    pub(super) fn ui(&mut self, raw: Option<&RawUi>) -> UiConfig {
        let Some(raw) = raw else {
            return UiConfig::default();
        };
        let enabled = self
            .boolean("ui.enabled", raw.enabled.as_ref())
            .unwrap_or(false);
        let admin_key = raw
            .admin_key
            .as_ref()
            .and_then(|v| self.access_key_id("ui.admin_key", Some(v)));
        let admin_secret = raw
            .admin_secret
            .as_ref()
            .and_then(|v| self.secret("ui.admin_secret", Some(v)));
        let admin_token = raw
            .admin_token
            .as_ref()
            .and_then(|v| self.secret("ui.admin_token", Some(v)));
        match (raw.admin_key.is_some(), raw.admin_secret.is_some()) {
            (true, false) => self.problem(
                "ui.admin_secret",
                "missing: admin_key and admin_secret go together",
            ),
            (false, true) => self.problem(
                "ui.admin_key",
                "missing: admin_key and admin_secret go together",
            ),
            (false, false) if enabled => self.problem(
                "ui.enabled",
                "the dashboard needs ui.admin_key and ui.admin_secret to log in",
            ),
            _ => {}
        }
        UiConfig {
            enabled,
            admin_key,
            admin_secret,
            admin_token,
        }
    }

    /// An admin listener reachable from other hosts must not rely on the generated token alone:
    /// whoever deploys it that way has to choose the credentials.
    pub(super) fn admin_exposure(&mut self, server: &ServerConfig, ui: &UiConfig) {
        if !server.admin_addr.ip().is_loopback() && !ui.has_any_credentials() {
            self.problem(
                "server.admin_addr",
                format!(
                    "{} is reachable from other hosts, but no admin credentials are configured; \
                     set ui.admin_key and ui.admin_secret (or ui.admin_token), or bind it to 127.0.0.1",
                    server.admin_addr
                ),
            );
        }
    }

    pub(super) fn logging(&mut self, raw: Option<&RawLogging>) -> LoggingConfig {
        const LEVEL: &str = "logging.access_log_level";
        let access_log_level = raw
            .and_then(|r| r.access_log_level.as_ref())
            .and_then(|v| self.text(LEVEL, Some(v)))
            .and_then(|t| {
                AccessLogLevel::parse(&t)
                    .ok_or_else(|| {
                        self.problem(
                            LEVEL,
                            format!(
                                "expected one of {}, found `{t}`",
                                AccessLogLevel::WORDS.join(", ")
                            ),
                        )
                    })
                    .ok()
            })
            .unwrap_or_default();
        LoggingConfig { access_log_level }
    }

    pub(super) fn catalog(&mut self, raw: Option<&RawCatalog>) -> CatalogConfig {
        let path = raw
            .and_then(|r| r.path.as_ref())
            .and_then(|p| self.required_text("catalog.path", Some(p)))
            .unwrap_or_else(|| DEFAULT_CATALOG_PATH.to_owned());
        CatalogConfig {
            path: PathBuf::from(path),
        }
    }
}

/// Whether binding both addresses would collide. glommio binds with SO_REUSEPORT, so a collision
/// would not even fail: the two listeners would silently share connections.
fn listens_overlap(a: SocketAddr, b: SocketAddr) -> bool {
    // Port 0 asks the OS for a fresh port each time (tests).
    a.port() != 0
        && a.port() == b.port()
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn overlap() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(listens_overlap(a("0.0.0.0:9000"), a("127.0.0.1:9000")));
        assert!(listens_overlap(a("127.0.0.1:9000"), a("127.0.0.1:9000")));
        assert!(!listens_overlap(a("127.0.0.1:9000"), a("127.0.0.2:9000")));
        assert!(!listens_overlap(a("127.0.0.1:9000"), a("127.0.0.1:9001")));
        assert!(!listens_overlap(a("127.0.0.1:0"), a("127.0.0.1:0")));
    }
}
