//! What the HTTP server is told: where to listen, under which path prefix,
//! and whether to speak TLS.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use super::error::ServeError;

/// The HTTP server's settings. When `edge_listen` and `manage_listen` hold
/// the same addresses, one set of listeners serves both APIs (as upstream
/// does when `ListenPort_EdgeAPI == ListenPort_ManageAPI`); port 0 asks
/// for a fresh port per listener and is never shared. An empty list leaves
/// that API unserved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Listeners for the Edge API (`ListenPort_EdgeAPI`).
    pub edge_listen: Vec<SocketAddr>,
    /// Listeners for the Manage API (`ListenPort_ManageAPI`).
    pub manage_listen: Vec<SocketAddr>,
    /// `API_Prefix`; a missing leading `/` is added, a trailing one dropped.
    pub api_prefix: String,
    /// Serve HTTPS on every listener with this certificate and key.
    pub tls: Option<TlsFiles>,
}

/// PEM files for native TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert_chain_pem: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key_pem: PathBuf,
}

impl HttpConfig {
    /// Both APIs on every IPv4 and IPv6 address, on the configured ports,
    /// without TLS.
    pub fn on_ports(edge_port: u16, manage_port: u16, api_prefix: &str) -> Self {
        Self {
            edge_listen: any_address(edge_port),
            manage_listen: any_address(manage_port),
            api_prefix: api_prefix.to_owned(),
            tls: None,
        }
    }
}

/// The IPv6 and IPv4 wildcard addresses on `port`.
pub fn any_address(port: u16) -> Vec<SocketAddr> {
    vec![
        SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)),
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)),
    ]
}

/// `API_Prefix` as a path: `""` or `/a/b` (no trailing slash). Characters
/// outside a URL path segment's own set are refused, so a prefix can only
/// ever match literally.
pub(super) fn normalise_prefix(raw: &str) -> Result<String, ServeError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let bad = trimmed
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/-._~!$&'()+,;=@%".contains(*c)));
    if let Some(c) = bad {
        return Err(ServeError::Prefix(c));
    }
    if trimmed.is_empty() || trimmed.starts_with('/') {
        Ok(trimmed.to_owned())
    } else {
        Ok(format!("/{trimmed}"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn prefixes_are_normalised() {
        for (raw, want) in [
            ("", ""),
            ("/", ""),
            ("eg_api", "/eg_api"),
            ("/eg_api", "/eg_api"),
            ("eg_net/eg_api/", "/eg_net/eg_api"),
        ] {
            assert_eq!(normalise_prefix(raw).unwrap(), want, "{raw:?}");
        }
        assert!(normalise_prefix("/a/{id}").is_err());
        assert!(normalise_prefix("/a b").is_err());
    }
}
