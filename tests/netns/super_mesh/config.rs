//! Keys and configuration files: a supernode and edges in the original's
//! key names, with timers short enough for a test, each file checked by
//! `egd --check` before anything runs it.
#![allow(dead_code)] // helpers of super_mode and faults, not every one used

use std::path::{Path, PathBuf};
use std::process::Command;

use egd::wg::PrivateKey;
use egd::wg::keys::{private_key_from_random, public_key};

use crate::EGD;

pub const SUPER_PORT: u16 = 3456;
pub const API_PREFIX: &str = "/eg_net/eg_api";
pub const SHOW_STATE: &str = "show-state-secret";
/// The secret of every other Manage API action (peer add/del/update, super
/// update).
pub const MANAGE: &str = "manage-secret";
/// The supernode's `EdgeTemplate`, beside its config.
pub const EDGE_TEMPLATE: &str = "edge_template.yaml";
pub const EDGE_METRICS: u16 = 9586;
pub const SUPER_METRICS: u16 = 9587;

/// Deterministic keys: `tag` keeps edge keys, supernode keys and PSKs apart.
pub fn key(tag: u8, id: u16) -> PrivateKey {
    let mut seed = [tag; 32];
    // Not byte 0: clamping clears its low bits.
    seed[1..3].copy_from_slice(&id.to_le_bytes());
    private_key_from_random(seed)
}

pub fn edge_key(id: u16) -> PrivateKey {
    key(1, id)
}

pub fn edge_pub(id: u16) -> String {
    public_key(&edge_key(id)).to_base64()
}

/// The pre-shared key between edge `id` and the supernode (any 32 bytes).
pub fn super_psk(id: u16) -> String {
    key(3, id).to_base64()
}

pub fn super_key(family: u16) -> PrivateKey {
    key(2, family)
}

/// A supernode for edges `peers` with short timers: pings every second,
/// recalculation at most once a second, 5 ms jitter tolerance and 1 ms
/// `AdditionalCost` per relay — far below the tens of milliseconds that
/// separate the paths the tests expect, so neither can flip a choice.
/// `JitterToleranceMultiplier: 1` keeps the tolerance absolute: with clock
/// offsets the measured latencies are seconds large, and a relative
/// tolerance would hide a 30 ms change.
pub fn supernode_config(peers: &[u16], psk_between_edges: bool) -> String {
    let mut peer_yaml = String::new();
    for &id in peers {
        peer_yaml.push_str(&format!(
            "- NodeID: {id}
  Name: edge{id}
  PubKey: {}
  PSKey: {}
  AdditionalCost: 1
  SkipLocalIP: false
  EndPoint: \"\"
",
            edge_pub(id),
            super_psk(id)
        ));
    }
    format!(
        "NodeName: super
PostScript: \"\"
PrivKeyV4: {}
PrivKeyV6: {}
ListenPort: {SUPER_PORT}
ListenPort_EdgeAPI: \"{SUPER_PORT}\"
ListenPort_ManageAPI: \"{SUPER_PORT}\"
API_Prefix: {API_PREFIX}
RePushConfigInterval: 1
HttpPostInterval: 1
PeerAliveTimeout: 10
SendPingInterval: 1
DampingFilterRadius: 1
LogLevel:
  LogLevel: error
  LogControl: true
Passwords:
  ShowState: {SHOW_STATE}
  AddPeer: {MANAGE}
  DelPeer: {MANAGE}
  UpdatePeer: {MANAGE}
  UpdateSuper: {MANAGE}
GraphRecalculateSetting:
  StaticMode: false
  ManualLatency: {{}}
  JitterTolerance: 5
  JitterToleranceMultiplier: 1
  TimeoutCheckInterval: 1
  RecalculateCoolDown: 1
NextHopTable: {{}}
EdgeTemplate: {EDGE_TEMPLATE}
UsePSKForInterEdge: {psk_between_edges}
ResetEndPointInterval: 600
Metrics:
  Listen: 127.0.0.1:{SUPER_METRICS}
Peers:
{peer_yaml}",
        super_key(4).to_base64(),
        super_key(6).to_base64(),
    )
}

/// How an edge learns its routes.
pub enum Routing<'a> {
    /// From the supernode at `host` (port [`SUPER_PORT`]).
    Super { host: &'a str, skip_local_ip: bool },
    /// A fixed `NextHopTable` (YAML flow mappings, one row per line).
    Static { next_hop_table: &'a str },
    /// P2P: every edge floods its reports and solves on its own.
    P2p,
}

/// Edge `id`: tap `egd0` with 10.66.0.<id>/24, UDP port 3000 + id, metrics
/// on 127.0.0.1:[`EDGE_METRICS`] of its namespace. `pins` are `(peer,
/// endpoint)` pairs listed under `Peers:` with `Static: true`: in super mode
/// they override the endpoint the supernode reports (how a link emulator
/// gets into the path).
pub fn edge_config(id: u16, routing: &Routing<'_>, pins: &[(u16, String)]) -> String {
    let mut peers = String::new();
    for (peer, endpoint) in pins {
        peers.push_str(&format!(
            "- NodeID: {peer}\n  PubKey: {}\n  EndPoint: {endpoint}\n  Static: true\n",
            edge_pub(*peer)
        ));
    }
    if peers.is_empty() {
        peers.push_str("[]\n");
    } else {
        peers.insert(0, '\n');
    }
    let (dynamic_route, next_hop_table) = match routing {
        Routing::Super {
            host,
            skip_local_ip,
        } => (
            format!(
                "DynamicRoute:
  SendPingInterval: 1
  PeerAliveTimeout: 10
  TimeoutCheckInterval: 1
  ConnNextTry: 1
  DupCheckTimeout: 40
  AdditionalCost: 1
  DampingFilterRadius: 1
  SaveNewPeers: false
  SuperNode:
    UseSuperNode: true
    PSKey: {}
    EndpointV4: {host}:{SUPER_PORT}
    PubKeyV4: {}
    EndpointV6: \"\"
    PubKeyV6: {}
    EndpointEdgeAPIUrl: http://{host}:{SUPER_PORT}{API_PREFIX}
    SkipLocalIP: {skip_local_ip}
    AdditionalLocalIP: []
    SuperNodeInfoTimeout: 50
  P2P:
    UseP2P: false
  NTPConfig:
    UseNTP: false
",
                super_psk(id),
                public_key(&super_key(4)).to_base64(),
                public_key(&super_key(6)).to_base64(),
            ),
            "{}".to_owned(),
        ),
        Routing::Static { next_hop_table } => (String::new(), format!("\n{next_hop_table}")),
        Routing::P2p => (
            "DynamicRoute:
  SendPingInterval: 1
  PeerAliveTimeout: 10
  TimeoutCheckInterval: 1
  ConnNextTry: 1
  DupCheckTimeout: 40
  AdditionalCost: 1
  DampingFilterRadius: 1
  SaveNewPeers: false
  SuperNode:
    UseSuperNode: false
  P2P:
    UseP2P: true
    SendPeerInterval: 5
    GraphRecalculateSetting:
      JitterTolerance: 5
      JitterToleranceMultiplier: 1
      TimeoutCheckInterval: 1
      RecalculateCoolDown: 1
  NTPConfig:
    UseNTP: false
"
            .to_owned(),
            "{}".to_owned(),
        ),
    };
    format!(
        "Interface:
  IType: tap
  Name: egd0
  MacAddrPrefix: 02:EE:00:00
  IPv4CIDR: 10.66.0.0/24
  MTU: 1400
NodeID: {id}
NodeName: edge{id}
PrivKey: {}
ListenPort: {}
LogLevel:
  LogLevel: error
  LogControl: true
{dynamic_route}NextHopTable: {next_hop_table}
Metrics:
  Listen: 127.0.0.1:{EDGE_METRICS}
Peers: {peers}",
        edge_key(id).to_base64(),
        3000 + id
    )
}

/// Writes the supernode's [`EDGE_TEMPLATE`] into `dir`: edge 1's config
/// with the private key left for the new edge's owner to fill in.
pub fn write_edge_template(dir: &Path, host: &str) {
    let routing = Routing::Super {
        host,
        skip_local_ip: true,
    };
    let text = edge_config(1, &routing, &[]).replace(&edge_key(1).to_base64(), "Your_Private_Key");
    std::fs::write(dir.join(EDGE_TEMPLATE), text).unwrap();
}

/// Writes a config and has `egd --check` accept it.
pub fn write_checked(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let out = Command::new(EGD)
        .args(["--check", "--config"])
        .arg(&path)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "egd --check rejects {name}: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}
