//! Raw structs: the YAML files of the original EtherGuard exactly as written,
//! every scalar optional and carrying its position. Field names are the
//! file's key names (hence `non_snake_case`); nothing here is validated —
//! see `edge.rs`, `super_node.rs` and `gen/config.rs` for that.
#![allow(non_snake_case)]

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_saphyr::Spanned;

use super::check::Field;

/// A YAML mapping kept in file order. (Keys carry no span: the key-tracking
/// wrappers cannot pass one through; errors about a key find its position in
/// the key index instead.)
#[derive(Debug)]
pub struct RawMap<K, V>(pub Vec<(K, V)>);

impl<K, V> Default for RawMap<K, V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for RawMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for MapVisitor<K, V> {
            type Value = RawMap<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = map.next_key::<K>()? {
                    entries.push((k, map.next_value::<V>()?));
                }
                Ok(RawMap(entries))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(RawMap::default())
            }
        }
        d.deserialize_map(MapVisitor(PhantomData))
    }
}

/// `NextHopTable[src][dst] = next hop`.
pub type RawNextHopTable = RawMap<u64, RawMap<u64, Spanned<u64>>>;
/// `ManualLatency[src][dst] = ms`, 65535 meaning any node.
pub type RawDistTable = RawMap<u64, RawMap<u64, Spanned<f64>>>;

#[derive(Debug, Default, Deserialize)]
pub struct Interface {
    pub IType: Field<String>,
    pub Name: Field<String>,
    pub VPPIFaceID: Field<u64>,
    pub VPPBridgeID: Field<u64>,
    /// egd's own keys (not upstream's): the memif socket and our role.
    pub VPPIFaceSocket: Field<String>,
    pub VPPIFaceRole: Field<String>,
    pub MacAddrPrefix: Field<String>,
    pub IPv4CIDR: Field<String>,
    pub IPv6CIDR: Field<String>,
    pub IPv6LLPrefix: Field<String>,
    pub MTU: Field<i64>,
    pub RecvAddr: Field<String>,
    pub SendAddr: Field<String>,
    pub L2HeaderMode: Field<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct DisabledAf {
    pub IPv4: Field<bool>,
    pub IPv6: Field<bool>,
    pub ListenIPv4: Field<String>,
    pub ListenIPv6: Field<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LogLevel {
    pub LogLevel: Field<String>,
    pub LogTransit: Field<bool>,
    pub LogNormal: Field<bool>,
    pub DumpNormal: Field<bool>,
    pub LogControl: Field<bool>,
    pub LogInternal: Field<bool>,
    pub LogNTP: Field<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub struct GraphRecalculateSetting {
    pub StaticMode: Field<bool>,
    pub ManualLatency: Option<RawDistTable>,
    pub JitterTolerance: Field<f64>,
    pub JitterToleranceMultiplier: Field<f64>,
    pub TimeoutCheckInterval: Field<f64>,
    pub RecalculateCoolDown: Field<f64>,
    /// egd extension: path hysteresis, absolute part (ms).
    pub PathHysteresis: Field<f64>,
    /// egd extension: path hysteresis, relative part (fraction of half the
    /// pair's round trip).
    pub PathHysteresisRelative: Field<f64>,
    /// egd extension (P2P): reporter-side dead band, absolute part (ms).
    pub ReportDeadBand: Field<f64>,
    /// egd extension (P2P): dead band, relative part (fraction of half the
    /// link's round trip).
    pub ReportDeadBandRelative: Field<f64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SuperNode {
    pub UseSuperNode: Field<bool>,
    pub PSKey: Field<String>,
    pub EndpointV4: Field<String>,
    pub PubKeyV4: Field<String>,
    pub EndpointV6: Field<String>,
    pub PubKeyV6: Field<String>,
    pub EndpointEdgeAPIUrl: Field<String>,
    pub SkipLocalIP: Field<bool>,
    pub AdditionalLocalIP: Option<Vec<Spanned<String>>>,
    pub SuperNodeInfoTimeout: Field<f64>,
    /// egd: trust only this CA (PEM) for an https Edge API.
    pub EdgeAPICAFile: Field<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct P2P {
    pub UseP2P: Field<bool>,
    pub SendPeerInterval: Field<f64>,
    pub GraphRecalculateSetting: Option<GraphRecalculateSetting>,
}

#[derive(Debug, Default, Deserialize)]
pub struct NTPConfig {
    pub UseNTP: Field<bool>,
    pub MaxServerUse: Field<i64>,
    pub SyncTimeInterval: Field<f64>,
    pub NTPTimeout: Field<f64>,
    pub Servers: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct DynamicRoute {
    pub SendPingInterval: Field<f64>,
    pub PeerAliveTimeout: Field<f64>,
    pub TimeoutCheckInterval: Field<f64>,
    pub ConnNextTry: Field<f64>,
    pub DupCheckTimeout: Field<f64>,
    pub AdditionalCost: Field<f64>,
    pub DampingFilterRadius: Field<i64>,
    pub SaveNewPeers: Field<bool>,
    /// egd extension: weight of the jitter term in a link's cost.
    pub CostJitterWeight: Field<f64>,
    /// egd extension: delay one expected retransmission costs (ms).
    pub CostLossPenalty: Field<f64>,
    pub SuperNode: Option<SuperNode>,
    pub P2P: Option<P2P>,
    pub NTPConfig: Option<NTPConfig>,
}

#[derive(Debug, Default, Deserialize)]
pub struct EdgePeer {
    pub NodeID: Field<u64>,
    pub PubKey: Field<String>,
    pub PSKey: Field<String>,
    pub EndPoint: Field<String>,
    pub PersistentKeepalive: Field<f64>,
    pub Static: Field<bool>,
}

/// egd's own addition: where to serve Prometheus metrics.
#[derive(Debug, Default, Deserialize)]
pub struct Metrics {
    pub Listen: Field<String>,
}

/// egd's own addition on edges: serve the topology page (`config::web`).
#[derive(Debug, Default, Deserialize)]
pub struct Web {
    pub Listen: Field<String>,
    pub Password: Field<String>,
}

/// An edge node's file (`--mode edge`).
#[derive(Debug, Default, Deserialize)]
pub struct Edge {
    pub Interface: Option<Interface>,
    pub NodeID: Field<u64>,
    pub NodeName: Field<String>,
    pub PostScript: Field<String>,
    pub DefaultTTL: Field<i64>,
    pub L2FIBTimeout: Field<f64>,
    pub PrivKey: Field<String>,
    pub ListenPort: Field<i64>,
    pub FwMark: Field<u64>,
    pub DisabledAf: Option<DisabledAf>,
    pub AfPrefer: Field<i64>,
    pub LogLevel: Option<LogLevel>,
    pub DynamicRoute: Option<DynamicRoute>,
    pub NextHopTable: Option<RawNextHopTable>,
    pub ResetEndPointInterval: Field<f64>,
    pub Peers: Option<Vec<EdgePeer>>,
    pub Metrics: Option<Metrics>,
    pub Web: Option<Web>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Passwords {
    pub ShowState: Field<String>,
    pub AddPeer: Field<String>,
    pub DelPeer: Field<String>,
    pub UpdatePeer: Field<String>,
    pub UpdateSuper: Field<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SuperPeer {
    pub NodeID: Field<u64>,
    pub Name: Field<String>,
    pub PubKey: Field<String>,
    pub PSKey: Field<String>,
    pub AdditionalCost: Field<f64>,
    pub SkipLocalIP: Field<bool>,
    pub EndPoint: Field<String>,
    pub ExternalIP: Field<String>,
}

/// A supernode's file (`--mode super`).
#[derive(Debug, Default, Deserialize)]
pub struct Super {
    pub NodeName: Field<String>,
    pub PostScript: Field<String>,
    pub PrivKeyV4: Field<String>,
    pub PrivKeyV6: Field<String>,
    pub ListenPort: Field<i64>,
    pub ListenPort_EdgeAPI: Field<String>,
    pub ListenPort_ManageAPI: Field<String>,
    pub FwMark: Field<u64>,
    pub DisabledAf: Option<DisabledAf>,
    pub API_Prefix: Field<String>,
    pub RePushConfigInterval: Field<f64>,
    pub HttpPostInterval: Field<f64>,
    pub PeerAliveTimeout: Field<f64>,
    pub SendPingInterval: Field<f64>,
    pub DampingFilterRadius: Field<i64>,
    pub LogLevel: Option<LogLevel>,
    pub Passwords: Option<Passwords>,
    pub GraphRecalculateSetting: Option<GraphRecalculateSetting>,
    pub NextHopTable: Option<RawNextHopTable>,
    pub EdgeTemplate: Field<String>,
    pub UsePSKForInterEdge: Field<bool>,
    pub ResetEndPointInterval: Field<f64>,
    pub Peers: Option<Vec<SuperPeer>>,
    pub Metrics: Option<Metrics>,
    /// egd: serve both HTTP APIs over TLS.
    pub TLS: Option<Tls>,
}

/// egd: a certificate chain and its private key, PEM files.
#[derive(Debug, Default, Deserialize)]
pub struct Tls {
    pub CertFile: Field<String>,
    pub KeyFile: Field<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct GenEdgeNodeRange {
    #[serde(rename = "Node IDs")]
    pub node_ids: Field<String>,
    #[serde(rename = "MacAddress prefix")]
    pub mac_prefix: Field<String>,
    #[serde(rename = "IPv4 range")]
    pub ipv4_range: Field<String>,
    #[serde(rename = "IPv6 range")]
    pub ipv6_range: Field<String>,
    #[serde(rename = "IPv6 LL range")]
    pub ipv6_ll_range: Field<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct GenEdgeNode {
    #[serde(rename = "Endpoint(optional)")]
    pub endpoint: Field<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct GenSuperNode {
    #[serde(rename = "Listen port")]
    pub listen_port: Field<i64>,
    #[serde(rename = "EdgeAPI prefix")]
    pub edge_api_prefix: Field<String>,
    #[serde(rename = "Endpoint(IPv4)(optional)")]
    pub endpoint_v4: Field<String>,
    #[serde(rename = "Endpoint(IPv6)(optional)")]
    pub endpoint_v6: Field<String>,
    #[serde(rename = "Endpoint(EdgeAPI)")]
    pub endpoint_edge_api: Field<String>,
}

/// A `gencfg` generator file, for any `--cfgmode` (the static/P2P and the
/// super generator files share most keys).
#[derive(Debug, Default, Deserialize)]
pub struct Gen {
    #[serde(rename = "Config output dir")]
    pub output_dir: Field<String>,
    #[serde(rename = "Enable generated config overwrite")]
    pub overwrite: Field<bool>,
    #[serde(rename = "Add NodeID to the interface name")]
    pub ifname_with_id: Field<bool>,
    #[serde(rename = "ConfigTemplate for super node")]
    pub super_template: Field<String>,
    #[serde(rename = "ConfigTemplate for edge node")]
    pub edge_template: Field<String>,
    #[serde(rename = "Network name")]
    pub network_name: Field<String>,
    #[serde(rename = "Super Node")]
    pub super_node: Option<GenSuperNode>,
    #[serde(rename = "Edge Node")]
    pub edge_node: Option<GenEdgeNodeRange>,
    #[serde(rename = "Edge Nodes")]
    pub edge_nodes: Option<RawMap<u64, GenEdgeNode>>,
    #[serde(rename = "Distance matrix for all nodes")]
    pub distance_matrix: Field<String>,
}
