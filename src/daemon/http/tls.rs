//! Native TLS for the API listeners: a rustls server config (ring provider)
//! from PEM files, and the handshake of one accepted connection.

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring;

use super::config::TlsFiles;
use super::error::ServeError;

/// Reads the certificate chain and key; errors name the file but never show
/// key material.
pub(super) fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, ServeError> {
    let cert_path = &files.cert_chain_pem;
    let key_path = &files.private_key_pem;
    let certs = CertificateDer::pem_file_iter(cert_path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|source| ServeError::ReadCert {
            path: cert_path.clone(),
            source,
        })?;
    if certs.is_empty() {
        return Err(ServeError::NoCert(cert_path.clone()));
    }
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|source| ServeError::ReadKey {
        path: key_path.clone(),
        source,
    })?;
    let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(ServeError::Tls)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|source| ServeError::CertKey {
            cert: cert_path.clone(),
            source,
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
