//! The YAML of a static-mode edge: an interface, a fixed `NextHopTable`
//! and static peers at known endpoints, no supernode.
//!
//! How to use: fill a [`StaticEdge`] (the interface's lines and the table's
//! rows as YAML, already indented by two spaces) and take
//! [`StaticEdge::yaml`]; [`StaticPeer::new`] makes a peer entry from the
//! peer's private key.

use egd::wg::PrivateKey;
use egd::wg::keys::public_key;

/// One edge's config.
#[derive(Debug, Clone)]
pub struct StaticEdge<'a> {
    pub id: u16,
    pub name: String,
    /// The lines under `Interface:`, each indented by two spaces.
    pub interface: &'a str,
    pub key: &'a PrivateKey,
    pub port: u16,
    /// `LogLevel.LogLevel`: `error`, `info`, …
    pub log_level: &'a str,
    /// The Prometheus listener, if any.
    pub metrics: Option<&'a str>,
    /// The rows under `NextHopTable:`, each indented by two spaces.
    pub next_hop_table: &'a str,
    pub peers: Vec<StaticPeer>,
}

/// A `Peers:` entry with `Static: true`.
#[derive(Debug, Clone)]
pub struct StaticPeer {
    pub id: u16,
    pub public_key: String,
    pub endpoint: String,
}

impl StaticPeer {
    /// Peer `id`, whose private key is `key`, at `endpoint`.
    pub fn new(id: u16, key: &PrivateKey, endpoint: String) -> StaticPeer {
        StaticPeer {
            id,
            public_key: public_key(key).to_base64(),
            endpoint,
        }
    }
}

impl StaticEdge<'_> {
    pub fn yaml(&self) -> String {
        let mut peers = String::new();
        for p in &self.peers {
            peers.push_str(&format!(
                "- NodeID: {}\n  PubKey: {}\n  EndPoint: {}\n  Static: true\n",
                p.id, p.public_key, p.endpoint
            ));
        }
        let metrics = self
            .metrics
            .map_or(String::new(), |m| format!("Metrics:\n  Listen: {m}\n"));
        format!(
            "Interface:
{interface}NodeID: {id}
NodeName: {name}
PrivKey: {key}
ListenPort: {port}
LogLevel:
  LogLevel: {log_level}
{metrics}NextHopTable:
{table}Peers:
{peers}",
            interface = self.interface,
            id = self.id,
            name = self.name,
            key = self.key.to_base64(),
            port = self.port,
            log_level = self.log_level,
            table = self.next_hop_table,
        )
    }
}
