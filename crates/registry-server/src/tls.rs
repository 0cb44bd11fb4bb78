//! HTTPS: rustls (ring only) in front of the same router.

use std::path::Path;
use std::sync::Arc;

use crate::{addr_of, routes, shutdown, Config, Error, Result};

/// Serve HTTPS with the PEM certificate chain `cert` and key `key` until interrupted.
pub async fn serve_tls(
    cfg: Config,
    listener: tokio::net::TcpListener,
    cert: &Path,
    key: &Path,
) -> Result<()> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad_cert = |e: rustls::pki_types::pem::Error| Error::Certificate {
        path: cert.to_path_buf(),
        reason: e.to_string(),
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(bad_cert)?
        .collect::<Result<_, _>>()
        .map_err(bad_cert)?;
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| Error::Key {
        path: key.to_path_buf(),
        reason: e.to_string(),
    })?;
    let tls_err = |source| Error::Tls {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        source,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_err)?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(tls_err)?;
    let app = routes::app(cfg)?;
    let addr = addr_of(&listener);
    let listener = tlslisten::Listener::new(listener, tls).map_err(|source| Error::Serve {
        addr: addr.clone(),
        source,
    })?;
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
        .map_err(|source| Error::Serve { addr, source })
}
