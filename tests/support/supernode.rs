//! The YAML of a super-mode network on loopback: a supernode (IPv4 only,
//! one-second timers, its Edge and Manage APIs on one port) and edges with
//! a dummy interface that find it at 127.0.0.1.
//!
//! How to use: [`Supernode::new`] with ports from
//! [`super::loopback::free_port`], the API prefix, the supernode's two
//! private keys and the `PeerAliveTimeout` both sides use;
//! [`Supernode::config`] is the supernode's file, [`Supernode::edge`] an
//! edge's, [`Supernode::url`] an API address. What a test adds of its own
//! (`ManualLatency`, `EdgeTemplate`, TLS) goes in as text, so each test's
//! files stay exactly what it needs.

use egd::wg::PrivateKey;
use egd::wg::keys::public_key;

/// The supernode's listeners and keys, and the liveness timeout.
#[derive(Debug, Clone)]
pub struct Supernode {
    pub udp: u16,
    /// The Edge API and the Manage API.
    pub api: u16,
    pub prefix: &'static str,
    pub peer_alive_timeout: u32,
    private_v4: String,
    private_v6: String,
    public_v4: String,
    public_v6: String,
}

/// One entry of the supernode's `Peers:`.
#[derive(Debug, Clone)]
pub struct SuperPeer {
    pub id: u8,
    pub name: String,
    pub public_key: String,
    /// As YAML: `""` for none.
    pub psk: String,
}

/// The secrets of the Manage API's actions.
#[derive(Debug, Clone, Copy)]
pub struct Passwords<'a> {
    pub show_state: &'a str,
    pub add_peer: &'a str,
    pub del_peer: &'a str,
    pub update_peer: &'a str,
    pub update_super: &'a str,
}

impl Supernode {
    pub fn new(
        udp: u16,
        api: u16,
        prefix: &'static str,
        keys: [&PrivateKey; 2],
        peer_alive_timeout: u32,
    ) -> Supernode {
        let [v4, v6] = keys;
        Supernode {
            udp,
            api,
            prefix,
            peer_alive_timeout,
            private_v4: v4.to_base64(),
            private_v6: v6.to_base64(),
            public_v4: public_key(v4).to_base64(),
            public_v6: public_key(v6).to_base64(),
        }
    }

    /// `http://127.0.0.1:API/PREFIX/PATH`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}/{path}", self.api, self.prefix)
    }

    /// The supernode's config; `after_graph` follows the
    /// `GraphRecalculateSetting` block (its own indented keys, or top-level
    /// ones such as `EdgeTemplate`).
    pub fn config(
        &self,
        passwords: &Passwords<'_>,
        peers: &[SuperPeer],
        after_graph: &str,
    ) -> String {
        let mut peer_yaml = String::new();
        for p in peers {
            peer_yaml.push_str(&format!(
                "- NodeID: {}\n  Name: {}\n  PubKey: {}\n  PSKey: {}\n  AdditionalCost: 1\n  SkipLocalIP: true\n  EndPoint: \"\"\n",
                p.id, p.name, p.public_key, p.psk,
            ));
        }
        let Passwords {
            show_state,
            add_peer,
            del_peer,
            update_peer,
            update_super,
        } = passwords;
        format!(
            "NodeName: super
PrivKeyV4: {}
PrivKeyV6: {}
ListenPort: {udp}
ListenPort_EdgeAPI: \"{api}\"
ListenPort_ManageAPI: \"{api}\"
API_Prefix: {prefix}
RePushConfigInterval: 1
HttpPostInterval: 1
PeerAliveTimeout: {timeout}
SendPingInterval: 1
DampingFilterRadius: 0
DisabledAf:
  IPv6: true
LogLevel:
  LogLevel: info
Passwords:
  ShowState: {show_state}
  AddPeer: {add_peer}
  DelPeer: {del_peer}
  UpdatePeer: {update_peer}
  UpdateSuper: {update_super}
GraphRecalculateSetting:
  JitterTolerance: 5
  JitterToleranceMultiplier: 1
  TimeoutCheckInterval: 1
  RecalculateCoolDown: 1
{after_graph}UsePSKForInterEdge: true
Peers:
{peer_yaml}",
            self.private_v4,
            self.private_v6,
            udp = self.udp,
            api = self.api,
            prefix = self.prefix,
            timeout = self.peer_alive_timeout,
        )
    }

    /// Edge `id`'s config: a dummy interface `interface`, the node name
    /// `name`, its private key in base64 (or a template's placeholder) and,
    /// with `psk`, the pre-shared key it holds with the supernode.
    pub fn edge(
        &self,
        id: u8,
        interface: &str,
        name: &str,
        private_key: &str,
        psk: Option<&str>,
    ) -> String {
        let psk = psk.map_or(String::new(), |k| format!("    PSKey: {k}\n"));
        format!(
            "Interface:
  IType: dummy
  Name: {interface}
  MTU: 1400
NodeID: {id}
NodeName: {name}
PrivKey: {private_key}
ListenPort: 0
DisabledAf:
  IPv6: true
LogLevel:
  LogLevel: info
DynamicRoute:
  SendPingInterval: 1
  PeerAliveTimeout: {timeout}
  ConnNextTry: 1
  SaveNewPeers: false
  SuperNode:
    UseSuperNode: true
{psk}    EndpointV4: 127.0.0.1:{udp}
    PubKeyV4: {}
    EndpointV6: \"\"
    PubKeyV6: {}
    EndpointEdgeAPIUrl: http://127.0.0.1:{api}{prefix}
    SkipLocalIP: true
Peers: []
",
            self.public_v4,
            self.public_v6,
            timeout = self.peer_alive_timeout,
            udp = self.udp,
            api = self.api,
            prefix = self.prefix,
        )
    }
}
