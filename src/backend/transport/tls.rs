//! TLS towards backends: the rustls client configuration (ring as the one crypto provider, webpki
//! roots plus an optional extra CA for self-hosted backends and tests, ALPN `http/1.1`) and the
//! handshake over a glommio `TcpStream`.

use std::io;
use std::sync::Arc;

use futures_rustls::client::TlsStream;
use futures_rustls::TlsConnector;
use glommio::net::TcpStream;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};

/// ALPN protocol we offer: this client only speaks HTTP/1.1, so a backend that would pick h2 for
/// an ALPN-less client must be told.
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// A rustls client config that trusts the webpki (Mozilla) roots and, if given, every certificate
/// in `extra_ca_pem` (a PEM bundle: a private CA, or a test's self-signed certificate).
///
/// Built with an explicit ring provider: if another provider (aws-lc-rs) ever got linked in,
/// `ClientConfig::builder()` would panic at run time instead of choosing.
pub fn client_config(extra_ca_pem: Option<&[u8]>) -> Result<Arc<ClientConfig>, io::Error> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(pem) = extra_ca_pem {
        let mut added = 0usize;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidData, format!("extra CA PEM: {e}"))
            })?;
            roots.add(cert).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("extra CA certificate: {e}"),
                )
            })?;
            added += 1;
        }
        if added == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "extra CA PEM holds no certificate",
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| io::Error::other(format!("TLS protocol versions: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    Ok(Arc::new(config))
}

/// Validates a TLS server name (DNS name or IP literal) once, when a connection is made.
pub(crate) fn server_name(name: &str) -> Result<ServerName<'static>, io::Error> {
    ServerName::try_from(name.to_owned()).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid TLS server name {name:?}: {e}"),
        )
    })
}

/// Runs the client handshake on `tcp`. The caller bounds it in time.
pub(crate) async fn handshake(
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
    tcp: TcpStream,
) -> Result<TlsStream<TcpStream>, io::Error> {
    TlsConnector::from(config).connect(name, tcp).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn default_config_offers_http11_only() {
        let config = client_config(None).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn extra_ca_is_parsed_or_refused() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        assert!(client_config(Some(cert.pem().as_bytes())).is_ok());
        let err = client_config(Some(b"not a pem")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn server_names() {
        assert!(server_name("s3.example.com").is_ok());
        assert!(server_name("127.0.0.1").is_ok());
        assert!(server_name("bad name!").is_err());
    }
}
