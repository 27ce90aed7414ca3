//! The edge's side of the Edge API: blocking calls, one at a time, from a
//! control-plane thread (never the data path). Build one
//! [`EdgeApiClient`] per supernode with the API base URL (e.g.
//! `https://super.example:3456/eg_api`), the edge's NodeID and its token
//! (`crate::control::api::edge_token`); every call gives up after
//! [`CALL_TIMEOUT`]. Errors name the URL, never the token.

use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;
use ureq::Agent;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

use super::error::ClientError;
use crate::NodeId;
use crate::control::api::{NhTableInfo, NodeInfo, PeerInfo, SuperParams};

/// How long one call may take, connect to last byte.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest answer read (a peer list of thousands of edges fits).
const MAX_ANSWER: u64 = 8 << 20;
/// How much of an error answer's text is kept in [`CallError::Status`].
const MAX_ERROR_TEXT: usize = 200;

/// Which certificates an `https://` supernode may present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsRoots {
    /// Mozilla's root store (shipped with the binary, `webpki-roots`).
    WebPki,
    /// Only these CA (or self-signed) certificates, PEM.
    Only(Vec<u8>),
}

/// Why an Edge API call failed. `Display` names the URL (which carries only
/// the NodeID, never the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// No answer: connect, TLS, timeout or I/O.
    Transport { url: String, reason: String },
    /// The supernode refused; `text` is the start of its explanation.
    Status {
        url: String,
        status: u16,
        text: String,
    },
    /// The answer was not the expected JSON.
    Decode { url: String, reason: String },
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport { url, reason } => write!(f, "{url}: {reason}"),
            Self::Status { url, status, text } => write!(f, "{url}: HTTP {status}: {text}"),
            Self::Decode { url, reason } => write!(f, "{url}: bad answer: {reason}"),
        }
    }
}

impl std::error::Error for CallError {}

/// A blocking Edge API client for one edge.
pub struct EdgeApiClient {
    agent: Agent,
    base: String,
    node: NodeId,
    token: String,
}

impl fmt::Debug for EdgeApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EdgeApiClient")
            .field("base", &self.base)
            .field("node", &self.node)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl EdgeApiClient {
    /// `base_url` is the supernode's API root including `API_Prefix`
    /// (`http://` or `https://`; a trailing `/` is ignored).
    pub fn new(
        base_url: &str,
        node: NodeId,
        token: String,
        roots: TlsRoots,
    ) -> Result<Self, ClientError> {
        let base = base_url.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::Scheme(base));
        }
        let root_certs = match roots {
            TlsRoots::WebPki => RootCerts::WebPki,
            TlsRoots::Only(pem) => {
                let certs = ureq::tls::parse_pem(&pem)
                    .filter_map(|item| match item {
                        Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
                        Ok(_) => None,
                        Err(e) => Some(Err(e)),
                    })
                    .collect::<Result<Vec<Certificate<'static>>, _>>()
                    .map_err(ClientError::CaCerts)?;
                if certs.is_empty() {
                    return Err(ClientError::NoCaCert);
                }
                RootCerts::from(certs)
            }
        };
        let agent = Agent::config_builder()
            .timeout_global(Some(CALL_TIMEOUT))
            .http_status_as_error(false)
            // The token goes to the configured supernode and nowhere else:
            // no redirects, no proxy picked up from the environment.
            .max_redirects(0)
            .proxy(None)
            .tls_config(TlsConfig::builder().root_certs(root_certs).build())
            .build()
            .new_agent();
        Ok(Self {
            agent,
            base,
            node,
            token,
        })
    }

    /// `GET edge/peerinfo`.
    pub fn peer_info(&self) -> Result<PeerInfo, CallError> {
        self.get("edge/peerinfo")
    }

    /// `GET edge/nhtable`.
    pub fn nh_table(&self) -> Result<NhTableInfo, CallError> {
        self.get("edge/nhtable")
    }

    /// `GET edge/superparams`.
    pub fn super_params(&self) -> Result<SuperParams, CallError> {
        self.get("edge/superparams")
    }

    /// `POST edge/post/nodeinfo`.
    pub fn post_node_info(&self, info: &NodeInfo) -> Result<(), CallError> {
        let url = self.url("edge/post/nodeinfo");
        let body = serde_json::to_vec(info).map_err(|e| CallError::Decode {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        let resp = self
            .agent
            .post(&url)
            .header("Authorization", &self.bearer())
            .header("Content-Type", "application/json")
            .send(&body[..]);
        self.answer(&url, resp).map(|_| ())
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}?NodeID={}", self.base, self.node.get())
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CallError> {
        let url = self.url(path);
        let resp = self
            .agent
            .get(&url)
            .header("Authorization", &self.bearer())
            .call();
        let bytes = self.answer(&url, resp)?;
        serde_json::from_slice(&bytes).map_err(|e| CallError::Decode {
            url,
            reason: e.to_string(),
        })
    }

    /// The body of a 2xx answer, or the error.
    fn answer(
        &self,
        url: &str,
        resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Vec<u8>, CallError> {
        let transport = |e: ureq::Error| CallError::Transport {
            url: url.to_owned(),
            reason: e.to_string(),
        };
        let mut resp = resp.map_err(transport)?;
        let status = resp.status();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_vec()
            .map_err(transport)?;
        if !status.is_success() {
            let mut text = String::from_utf8_lossy(&bytes).into_owned();
            if let Some((cut, _)) = text.char_indices().nth(MAX_ERROR_TEXT) {
                text.truncate(cut);
            }
            return Err(CallError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
                text,
            });
        }
        Ok(bytes)
    }
}
