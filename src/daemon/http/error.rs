//! Why the HTTP server could not start, and why the Edge API client could
//! not be built. Errors name files and addresses, never key material or a
//! token.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use tokio_rustls::rustls;

/// [`super::spawn`] failed: nothing is served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("API_Prefix: character {0:?} is not allowed")]
    Prefix(char),
    #[error("TLS certificate {}: {source}", .path.display())]
    ReadCert {
        path: PathBuf,
        source: rustls_pki_types::pem::Error,
    },
    #[error("TLS certificate {}: no CERTIFICATE block", .0.display())]
    NoCert(PathBuf),
    #[error("TLS key {}: {source}", .path.display())]
    ReadKey {
        path: PathBuf,
        source: rustls_pki_types::pem::Error,
    },
    #[error("TLS: {0}")]
    Tls(#[source] rustls::Error),
    #[error("TLS certificate {} / key: {source}", .cert.display())]
    CertKey {
        cert: PathBuf,
        source: rustls::Error,
    },
    #[error("HTTP API listener on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("HTTP API: none of {0:?} could be bound")]
    NoneBound(Vec<SocketAddr>),
    #[error("HTTP API listener: {0}")]
    Listener(#[source] io::Error),
    #[error("HTTP API runtime: {0}")]
    Runtime(#[source] io::Error),
    #[error("HTTP API thread: {0}")]
    Thread(#[source] io::Error),
}

/// [`super::EdgeApiClient::new`] refused its arguments.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("Edge API URL {0:?} must start with http:// or https://")]
    Scheme(String),
    #[error("Edge API CA certificates: {0}")]
    CaCerts(#[source] ureq::Error),
    #[error("Edge API CA certificates: no CERTIFICATE block")]
    NoCaCert,
}
