//! `ui`, `logging`, and the client listener's slow-client limits in `server`.

use super::*;

#[test]
fn ui_and_logging_sections() {
    let c = parse(MINIMAL).unwrap();
    assert!(!c.ui.enabled);
    assert!(!c.ui.has_credentials());
    assert_eq!(
        c.logging.access_log_level,
        crate::config::AccessLogLevel::Debug
    );
    let c = parse(&with(
            "ui:\n  enabled: true\n  admin_key: admin\n  admin_secret: \"s3cret-pass\"\n  admin_token: tok\nlogging:\n  access_log_level: info\n",
        ))
        .unwrap();
    assert!(c.ui.enabled);
    assert_eq!(c.ui.admin_key.as_deref(), Some("admin"));
    assert_eq!(c.ui.admin_secret.as_ref().unwrap().expose(), "s3cret-pass");
    assert_eq!(c.ui.admin_token.as_ref().unwrap().expose(), "tok");
    assert_eq!(
        c.logging.access_log_level,
        crate::config::AccessLogLevel::Info
    );
    // The secret never appears in Debug output.
    assert!(!format!("{c:?}").contains("s3cret-pass"));
}

#[test]
fn ui_and_logging_errors() {
    assert_err(
        &with("ui:\n  enabled: true\n"),
        10,
        "ui.enabled",
        "needs ui.admin_key and ui.admin_secret",
    );
    assert_err(
        &with("ui:\n  admin_key: admin\n"),
        9,
        "ui.admin_secret",
        "go together",
    );
    assert_err(
        &with("ui:\n  admin_secret: pw\n"),
        9,
        "ui.admin_key",
        "go together",
    );
    assert_err(
        &with("ui:\n  admin_key: admin\n  admin_secret: 1234\n"),
        11,
        "ui.admin_secret",
        "put the secret in quotes",
    );
    assert_err(
        &with("logging:\n  access_log_level: loud\n"),
        10,
        "logging.access_log_level",
        "expected one of off, error, warn, info, debug, trace",
    );
    assert_err(
        &with("ui:\n  colour: red\n"),
        10,
        "ui",
        "unknown field `colour`",
    );
}

#[test]
fn max_in_flight_bytes_per_key() {
    let c = parse(MINIMAL).unwrap();
    assert_eq!(
        c.server.max_in_flight_bytes_per_key,
        Some(crate::config::model::DEFAULT_MAX_IN_FLIGHT_BYTES_PER_KEY)
    );
    let c = parse(&with("server:\n  max_in_flight_bytes_per_key: 4096\n")).unwrap();
    assert_eq!(c.server.max_in_flight_bytes_per_key, Some(4096));
    let c = parse(&with("server:\n  max_in_flight_bytes_per_key: 0\n")).unwrap();
    assert_eq!(c.server.max_in_flight_bytes_per_key, None, "0 = no cap");
    assert_err(
        &with("server:\n  max_in_flight_bytes_per_key: -1\n"),
        10,
        "server.max_in_flight_bytes_per_key",
        "negative",
    );
}

#[test]
fn slow_client_limits() {
    use std::time::Duration;
    let c = parse(MINIMAL).unwrap();
    assert_eq!(c.server.write_stall_timeout, Duration::from_secs(30));
    assert_eq!(c.server.request_timeout, Duration::from_secs(300));
    assert_eq!(c.server.min_upload_bytes_per_second, 1024);
    assert_eq!(c.server.upload_rate_window, Duration::from_secs(30));
    let c = parse(&with(
        "server:\n  write_stall_timeout: 2s\n  request_timeout: 1m\n  min_upload_bytes_per_second: 0\n  upload_rate_window: 5s\n",
    ))
    .unwrap();
    assert_eq!(c.server.write_stall_timeout, Duration::from_secs(2));
    assert_eq!(c.server.request_timeout, Duration::from_secs(60));
    assert_eq!(c.server.min_upload_bytes_per_second, 0);
    assert_eq!(c.server.upload_rate_window, Duration::from_secs(5));
}

#[test]
fn slow_client_limits_are_range_checked() {
    assert_err(
        &with("server:\n  write_stall_timeout: 100ms\n"),
        10,
        "server.write_stall_timeout",
        "between",
    );
    assert_err(
        &with("server:\n  request_timeout: 2h\n"),
        10,
        "server.request_timeout",
        "between",
    );
    assert_err(
        &with("server:\n  min_upload_bytes_per_second: 1000000000\n"),
        10,
        "server.min_upload_bytes_per_second",
        "at most",
    );
    assert_err(
        &with("server:\n  upload_rate_window: 0s\n"),
        10,
        "server.upload_rate_window",
        "between",
    );
}

/// An admin listener other hosts can reach needs configured credentials: the generated token alone
/// is for a loopback listener.
#[test]
fn exposed_admin_listener_needs_credentials() {
    for addr in ["0.0.0.0:9001", "10.1.2.3:9001", "[::]:9001"] {
        assert_err(
            &with(&format!("server:\n  admin_addr: \"{addr}\"\n")),
            10,
            "server.admin_addr",
            "no admin credentials are configured",
        );
        let creds = format!(
            "server:\n  admin_addr: \"{addr}\"\nui:\n  admin_key: admin\n  admin_secret: \"pw-pw-pw\"\n"
        );
        assert!(parse(&with(&creds)).is_ok(), "{addr} with key and secret");
        let token = format!("server:\n  admin_addr: \"{addr}\"\nui:\n  admin_token: \"t0k3n\"\n");
        assert!(parse(&with(&token)).is_ok(), "{addr} with a token");
    }
    for addr in ["127.0.0.1:9001", "127.0.0.2:9001", "[::1]:9001"] {
        let text = with(&format!("server:\n  admin_addr: \"{addr}\"\n"));
        assert!(parse(&text).is_ok(), "{addr}");
    }
}
