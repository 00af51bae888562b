//! `ui` and `logging`.

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
