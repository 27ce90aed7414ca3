//! The validated edge configuration (`--mode edge`), from the original's edge
//! file. Absent keys take the defaults of the original's examples.

use std::net::IpAddr;
use std::time::Duration;

use super::check::{Check, KeyPath, damping_radius, port};
use super::common::{
    self, AddressFamilies, AfPrefer, GraphSettings, LogSettings, MetricsConfig, StaticNextHops,
};
use super::error::ConfigError;
use super::interface::{self, Interface};
use super::raw;
use super::types::{Endpoint, ValueError, parse_node_id};
use crate::NodeId;
use crate::wg::{PresharedKey, PrivateKey, PublicKey};

/// How an edge learns its routes (docs/system.md#modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeMode {
    /// The configured `NextHopTable`; no control messages.
    Static,
    /// Routes from a supernode (with P2P as fallback when `UseP2P` is also set).
    Super,
    /// Routes computed by every edge from flooded measurements.
    P2p,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EdgeConfig {
    pub interface: Interface,
    pub node_id: NodeId,
    pub node_name: String,
    pub post_script: Option<String>,
    pub default_ttl: u8,
    pub l2_fib_timeout: Duration,
    pub private_key: PrivateKey,
    pub listen_port: u16,
    pub fwmark: u32,
    pub address_families: AddressFamilies,
    /// `AfPrefer`: which family to try first when a peer has both.
    pub af_prefer: AfPrefer,
    pub log: LogSettings,
    pub dynamic_route: DynamicRoute,
    pub next_hop_table: StaticNextHops,
    pub reset_endpoint_interval: Duration,
    pub peers: Vec<EdgePeer>,
    pub metrics: Option<MetricsConfig>,
    /// egd: the topology page of this edge's own graph.
    pub web: Option<super::web::WebConfig>,
}

impl EdgeConfig {
    pub fn mode(&self) -> EdgeMode {
        if self.dynamic_route.super_node.enabled {
            EdgeMode::Super
        } else if self.dynamic_route.p2p.enabled {
            EdgeMode::P2p
        } else {
            EdgeMode::Static
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EdgePeer {
    pub node_id: NodeId,
    pub public_key: PublicKey,
    pub preshared_key: Option<PresharedKey>,
    pub endpoint: Option<Endpoint>,
    /// `PersistentKeepalive`; `None` when 0 (off).
    pub persistent_keepalive: Option<Duration>,
    /// `Static`: keep the configured endpoint instead of roaming.
    pub is_static: bool,
}

/// `DynamicRoute`: timing of pings, liveness and routing.
#[derive(Debug, Clone, PartialEq)]
pub struct DynamicRoute {
    pub send_ping_interval: Duration,
    pub peer_alive_timeout: Duration,
    pub timeout_check_interval: Duration,
    pub conn_next_try: Duration,
    pub dup_check_timeout: Duration,
    /// `AdditionalCost` (ms): what a path must save to be worth relaying via
    /// this node.
    pub additional_cost: Duration,
    pub damping_filter_radius: u32,
    pub save_new_peers: bool,
    /// `CostJitterWeight` (egd extension): how much the smoothed mean
    /// deviation of a link's one-way delay adds to its cost (default 1).
    pub cost_jitter_weight: f64,
    /// `CostLossPenalty` (ms, egd extension): a link losing a share `p` of
    /// pings (less three standard errors) costs `CostLossPenalty · p /
    /// (1 − p)` more (default 100 ms; `node::CostWeights`).
    pub cost_loss_penalty: Duration,
    pub super_node: SuperNodeLink,
    pub p2p: P2pSettings,
    pub ntp: NtpSettings,
}

/// `DynamicRoute.SuperNode`.
#[derive(Debug, Clone, PartialEq)]
pub struct SuperNodeLink {
    pub enabled: bool,
    pub preshared_key: Option<PresharedKey>,
    pub endpoint_v4: Option<Endpoint>,
    pub public_key_v4: Option<PublicKey>,
    pub endpoint_v6: Option<Endpoint>,
    pub public_key_v6: Option<PublicKey>,
    pub edge_api_url: Option<String>,
    pub skip_local_ip: bool,
    pub additional_local_ip: Vec<IpAddr>,
    pub info_timeout: Duration,
    /// `EdgeAPICAFile` (egd): trust only this CA for an https Edge API
    /// (else the built-in web roots).
    pub edge_api_ca_file: Option<std::path::PathBuf>,
}

/// `DynamicRoute.P2P`.
#[derive(Debug, Clone, PartialEq)]
pub struct P2pSettings {
    pub enabled: bool,
    pub send_peer_interval: Duration,
    pub graph: GraphSettings,
}

/// `DynamicRoute.NTPConfig` (docs/system.md#ntp).
#[derive(Debug, Clone, PartialEq)]
pub struct NtpSettings {
    pub enabled: bool,
    pub max_server_use: u32,
    pub sync_time_interval: Duration,
    pub timeout: Duration,
    pub servers: Vec<String>,
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn edge(c: Check<'_>, r: &raw::Edge) -> Result<EdgeConfig, ConfigError> {
    let root = KeyPath::root();
    let node_id = {
        let path = root.key("NodeID");
        let (raw_id, at) = c.required(&r.NodeID, &path, "every edge has a NodeID")?;
        parse_node_id(*raw_id).map_err(|e| c.error(at, &path, e))?
    };
    let interface = interface::interface(c, r.Interface.as_ref(), &root.key("Interface"))?;
    if let (Some(prefix), Some(raw_prefix)) = (
        interface.mac_prefix,
        r.Interface.as_ref().and_then(|i| i.MacAddrPrefix.as_ref()),
    ) && prefix.mac_for(node_id).is_none()
    {
        return Err(c.error(
            raw_prefix.referenced.into(),
            &root.key("Interface").key("MacAddrPrefix"),
            format!("NodeID {node_id} does not fit in the bytes after this prefix"),
        ));
    }
    let node_name = Check::text(&r.NodeName);
    let post_script = Some(Check::text(&r.PostScript)).filter(|s| !s.trim().is_empty());
    let default_ttl = c.value_or(&r.DefaultTTL, &root.key("DefaultTTL"), 200, |v| {
        u8::try_from(v)
            .ok()
            .filter(|t| *t > 0)
            .ok_or_else(|| format!("TTL must be 1–255, got {v}"))
    })?;
    let private_key = c.parse_req(
        &r.PrivKey,
        &root.key("PrivKey"),
        "every edge has a private key",
        PrivateKey::parse,
    )?;
    let listen_port = c.value_or(&r.ListenPort, &root.key("ListenPort"), 0, port)?;
    let fwmark = c.u32_or(&r.FwMark, &root.key("FwMark"), 0)?;
    let af_prefer = c.value_or(
        &r.AfPrefer,
        &root.key("AfPrefer"),
        AfPrefer::Any,
        |v| match v {
            0 => Ok(AfPrefer::Any),
            4 => Ok(AfPrefer::V4),
            6 => Ok(AfPrefer::V6),
            _ => Err(format!("AfPrefer must be 0, 4 or 6, got {v}")),
        },
    )?;
    let peers = peers(c, r.Peers.as_deref().unwrap_or_default(), node_id)?;
    Ok(EdgeConfig {
        interface,
        node_id,
        node_name,
        post_script,
        default_ttl,
        l2_fib_timeout: c.seconds(&r.L2FIBTimeout, &root.key("L2FIBTimeout"), secs(3600))?,
        private_key,
        listen_port,
        fwmark,
        address_families: common::address_families(
            c,
            r.DisabledAf.as_ref(),
            &root.key("DisabledAf"),
        )?,
        af_prefer,
        log: common::log_settings(c, r.LogLevel.as_ref(), &root.key("LogLevel"))?,
        dynamic_route: dynamic_route(c, r.DynamicRoute.as_ref(), &root.key("DynamicRoute"))?,
        next_hop_table: common::next_hop_table(
            c,
            r.NextHopTable.as_ref(),
            &root.key("NextHopTable"),
        )?,
        reset_endpoint_interval: c.seconds(
            &r.ResetEndPointInterval,
            &root.key("ResetEndPointInterval"),
            secs(600),
        )?,
        peers,
        metrics: common::metrics(c, r.Metrics.as_ref(), &root.key("Metrics"))?,
        web: super::web::web(c, r.Web.as_ref(), &root.key("Web"))?,
    })
}

fn peers(c: Check<'_>, raw: &[raw::EdgePeer], own: NodeId) -> Result<Vec<EdgePeer>, ConfigError> {
    let list = KeyPath::root().key("Peers");
    let mut out: Vec<EdgePeer> = Vec::with_capacity(raw.len());
    for (i, p) in raw.iter().enumerate() {
        let at = list.index(i);
        let (node_id, public_key) = common::peer_identity(
            c,
            &at,
            &p.NodeID,
            &p.PubKey,
            Some(own),
            out.iter().map(|q| (q.node_id, &q.public_key)),
        )?;
        let keepalive = c.seconds(
            &p.PersistentKeepalive,
            &at.key("PersistentKeepalive"),
            Duration::ZERO,
        )?;
        out.push(EdgePeer {
            node_id,
            public_key,
            preshared_key: c.parse_opt(&p.PSKey, &at.key("PSKey"), PresharedKey::parse)?,
            endpoint: c.parse_opt(&p.EndPoint, &at.key("EndPoint"), Endpoint::parse)?,
            persistent_keepalive: Some(keepalive).filter(|d| !d.is_zero()),
            is_static: Check::flag(&p.Static, false),
        });
    }
    Ok(out)
}

fn dynamic_route(
    c: Check<'_>,
    raw: Option<&raw::DynamicRoute>,
    at: &KeyPath,
) -> Result<DynamicRoute, ConfigError> {
    let empty = raw::DynamicRoute::default();
    let r = raw.unwrap_or(&empty);
    Ok(DynamicRoute {
        send_ping_interval: c.seconds(
            &r.SendPingInterval,
            &at.key("SendPingInterval"),
            secs(16),
        )?,
        peer_alive_timeout: c.seconds(
            &r.PeerAliveTimeout,
            &at.key("PeerAliveTimeout"),
            secs(70),
        )?,
        timeout_check_interval: c.seconds(
            &r.TimeoutCheckInterval,
            &at.key("TimeoutCheckInterval"),
            secs(20),
        )?,
        conn_next_try: c.seconds(&r.ConnNextTry, &at.key("ConnNextTry"), secs(5))?,
        dup_check_timeout: c.seconds(&r.DupCheckTimeout, &at.key("DupCheckTimeout"), secs(40))?,
        additional_cost: c.millis(
            &r.AdditionalCost,
            &at.key("AdditionalCost"),
            Duration::from_millis(10),
        )?,
        damping_filter_radius: damping_radius(
            c,
            &r.DampingFilterRadius,
            &at.key("DampingFilterRadius"),
        )?,
        save_new_peers: Check::flag(&r.SaveNewPeers, false),
        cost_jitter_weight: c.value_or(
            &r.CostJitterWeight,
            &at.key("CostJitterWeight"),
            1.0,
            |w| {
                if w.is_finite() && (0.0..=100.0).contains(&w) {
                    Ok(w)
                } else {
                    Err(format!("weight must be in 0..=100, got {w}"))
                }
            },
        )?,
        cost_loss_penalty: c.millis(
            &r.CostLossPenalty,
            &at.key("CostLossPenalty"),
            Duration::from_millis(100),
        )?,
        super_node: super_node_link(c, r.SuperNode.as_ref(), &at.key("SuperNode"))?,
        p2p: p2p(c, r.P2P.as_ref(), &at.key("P2P"))?,
        ntp: ntp(c, r.NTPConfig.as_ref(), &at.key("NTPConfig"))?,
    })
}

/// `DampingFilterRadius`: the low-pass window's radius in samples.
fn super_node_link(
    c: Check<'_>,
    raw: Option<&raw::SuperNode>,
    at: &KeyPath,
) -> Result<SuperNodeLink, ConfigError> {
    let empty = raw::SuperNode::default();
    let r = raw.unwrap_or(&empty);
    let enabled = Check::flag(&r.UseSuperNode, false);
    let link = SuperNodeLink {
        enabled,
        preshared_key: c.parse_opt(&r.PSKey, &at.key("PSKey"), PresharedKey::parse)?,
        endpoint_v4: c.parse_opt(&r.EndpointV4, &at.key("EndpointV4"), Endpoint::parse)?,
        public_key_v4: c.parse_opt(&r.PubKeyV4, &at.key("PubKeyV4"), PublicKey::parse)?,
        endpoint_v6: c.parse_opt(&r.EndpointV6, &at.key("EndpointV6"), Endpoint::parse)?,
        public_key_v6: c.parse_opt(&r.PubKeyV6, &at.key("PubKeyV6"), PublicKey::parse)?,
        edge_api_url: c.parse_opt(
            &r.EndpointEdgeAPIUrl,
            &at.key("EndpointEdgeAPIUrl"),
            http_url,
        )?,
        skip_local_ip: Check::flag(&r.SkipLocalIP, false),
        edge_api_ca_file: Some(Check::text(&r.EdgeAPICAFile))
            .filter(|t| !t.trim().is_empty())
            .map(|t| std::path::PathBuf::from(t.trim())),
        additional_local_ip: common::ip_list(
            c,
            r.AdditionalLocalIP.as_ref(),
            &at.key("AdditionalLocalIP"),
        )?,
        info_timeout: c.seconds(
            &r.SuperNodeInfoTimeout,
            &at.key("SuperNodeInfoTimeout"),
            secs(50),
        )?,
    };
    if enabled {
        let why = "UseSuperNode is true";
        if link.endpoint_v4.is_none() && link.endpoint_v6.is_none() {
            return Err(c.missing(
                &at.key("EndpointV4"),
                "UseSuperNode needs EndpointV4 or EndpointV6",
            ));
        }
        if link.endpoint_v4.is_some() && link.public_key_v4.is_none() {
            return Err(c.missing(&at.key("PubKeyV4"), "EndpointV4 is set"));
        }
        if link.endpoint_v6.is_some() && link.public_key_v6.is_none() {
            return Err(c.missing(&at.key("PubKeyV6"), "EndpointV6 is set"));
        }
        if link.edge_api_url.is_none() {
            return Err(c.missing(&at.key("EndpointEdgeAPIUrl"), why));
        }
    }
    Ok(link)
}

/// An `http://` or `https://` URL with a host.
pub fn http_url(text: &str) -> Result<String, ValueError> {
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))
        .ok_or_else(|| ValueError::NotHttpUrl(text.to_owned()))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(ValueError::UrlNoHost(text.to_owned()));
    }
    Ok(text.to_owned())
}

fn p2p(c: Check<'_>, raw: Option<&raw::P2P>, at: &KeyPath) -> Result<P2pSettings, ConfigError> {
    let empty = raw::P2P::default();
    let r = raw.unwrap_or(&empty);
    Ok(P2pSettings {
        enabled: Check::flag(&r.UseP2P, false),
        send_peer_interval: c.seconds(
            &r.SendPeerInterval,
            &at.key("SendPeerInterval"),
            secs(20),
        )?,
        graph: common::graph_settings(
            c,
            r.GraphRecalculateSetting.as_ref(),
            &at.key("GraphRecalculateSetting"),
            common::GraphSettings::default(),
        )?,
    })
}

fn ntp(
    c: Check<'_>,
    raw: Option<&raw::NTPConfig>,
    at: &KeyPath,
) -> Result<NtpSettings, ConfigError> {
    let empty = raw::NTPConfig::default();
    let r = raw.unwrap_or(&empty);
    let servers = r
        .Servers
        .iter()
        .flatten()
        .map(|s| s.value.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    Ok(NtpSettings {
        enabled: Check::flag(&r.UseNTP, false),
        max_server_use: c.value_or(&r.MaxServerUse, &at.key("MaxServerUse"), 8, |v| {
            u32::try_from(v)
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("must be 1 or more, got {v}"))
        })?,
        sync_time_interval: c.seconds(
            &r.SyncTimeInterval,
            &at.key("SyncTimeInterval"),
            secs(3600),
        )?,
        timeout: c.seconds(&r.NTPTimeout, &at.key("NTPTimeout"), secs(3))?,
        servers,
    })
}
