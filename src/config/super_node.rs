//! The validated supernode configuration (`--mode super`), from the
//! original's supernode file.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::check::{Check, KeyPath, damping_radius, port};
use super::common::{
    self, AddressFamilies, GraphSettings, LogSettings, MetricsConfig, StaticNextHops,
};
use super::error::ConfigError;
use super::raw;
use super::types::{Endpoint, Secret};
use crate::NodeId;
use crate::wg::{PresharedKey, PrivateKey, PublicKey};

#[derive(Debug, Clone, PartialEq)]
pub struct SuperConfig {
    pub node_name: String,
    pub post_script: Option<String>,
    /// Separate keys for the IPv4 and IPv6 sessions, so the supernode learns
    /// both external addresses of every edge (docs/system.md#super-mode).
    pub private_key_v4: PrivateKey,
    pub private_key_v6: PrivateKey,
    pub listen_port: u16,
    pub edge_api_port: u16,
    pub manage_api_port: u16,
    pub fwmark: u32,
    pub address_families: AddressFamilies,
    pub api_prefix: String,
    pub repush_config_interval: Duration,
    pub http_post_interval: Duration,
    pub peer_alive_timeout: Duration,
    pub send_ping_interval: Duration,
    pub damping_filter_radius: u32,
    pub log: LogSettings,
    pub passwords: Passwords,
    pub graph: GraphSettings,
    pub next_hop_table: StaticNextHops,
    /// `EdgeTemplate`, resolved against the config file's folder.
    pub edge_template: Option<PathBuf>,
    pub use_psk_for_inter_edge: bool,
    pub reset_endpoint_interval: Duration,
    pub peers: Vec<SuperPeer>,
    pub metrics: Option<MetricsConfig>,
    /// `TLS` (egd): serve the Edge and Manage APIs over https.
    pub tls: Option<ApiTls>,
}

/// PEM files for the HTTP APIs, resolved against the config file's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTls {
    pub cert_chain: PathBuf,
    pub private_key: PathBuf,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SuperPeer {
    pub node_id: NodeId,
    pub name: String,
    pub public_key: PublicKey,
    pub preshared_key: Option<PresharedKey>,
    /// `AdditionalCost` (ms) added when a path transits this edge.
    pub additional_cost: Duration,
    pub skip_local_ip: bool,
    pub endpoint: Option<Endpoint>,
    pub external_ip: Option<IpAddr>,
}

/// One secret per management action; `None` disables that action.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Passwords {
    pub show_state: Option<Secret>,
    pub add_peer: Option<Secret>,
    pub del_peer: Option<Secret>,
    pub update_peer: Option<Secret>,
    pub update_super: Option<Secret>,
}

/// `TLS`: both files or neither.
fn api_tls(
    c: Check<'_>,
    r: Option<&raw::Tls>,
    at: &KeyPath,
    config_dir: &std::path::Path,
) -> Result<Option<ApiTls>, ConfigError> {
    let Some(r) = r else { return Ok(None) };
    let path = |f: &super::check::Field<String>| {
        Some(Check::text(f))
            .filter(|t| !t.trim().is_empty())
            .map(|t| config_dir.join(t.trim()))
    };
    match (path(&r.CertFile), path(&r.KeyFile)) {
        (None, None) => Ok(None),
        (Some(cert_chain), Some(private_key)) => Ok(Some(ApiTls {
            cert_chain,
            private_key,
        })),
        (Some(_), None) => Err(c.missing(
            &at.key("KeyFile"),
            "TLS needs the certificate's private key",
        )),
        (None, Some(_)) => Err(c.missing(&at.key("CertFile"), "TLS needs a certificate chain")),
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn super_node(
    c: Check<'_>,
    r: &raw::Super,
    config_dir: &std::path::Path,
) -> Result<SuperConfig, ConfigError> {
    let root = KeyPath::root();
    let key = |f: &super::check::Field<String>, name: &str| {
        c.parse_req(
            f,
            &root.key(name),
            "a supernode has one key per address family",
            PrivateKey::parse,
        )
    };
    let api_port = |f: &super::check::Field<String>, name: &str, default: u16| {
        c.parse_opt(f, &root.key(name), |s| {
            s.parse::<u16>()
                .map_err(|_| format!("{s:?} is not a port number"))
        })
        .map(|p| p.unwrap_or(default))
    };
    let listen_port = c.value_or(&r.ListenPort, &root.key("ListenPort"), 3456, port)?;
    let passwords = match &r.Passwords {
        None => Passwords::default(),
        Some(p) => {
            let s = |f: &super::check::Field<String>| {
                Some(Check::text(f))
                    .filter(|t| !t.is_empty())
                    .map(Secret::new)
            };
            Passwords {
                show_state: s(&p.ShowState),
                add_peer: s(&p.AddPeer),
                del_peer: s(&p.DelPeer),
                update_peer: s(&p.UpdatePeer),
                update_super: s(&p.UpdateSuper),
            }
        }
    };
    let mut api_prefix = Check::text(&r.API_Prefix);
    if !api_prefix.starts_with('/') {
        api_prefix.insert(0, '/');
    }
    let edge_template = Some(Check::text(&r.EdgeTemplate))
        .filter(|t| !t.trim().is_empty())
        .map(|t| config_dir.join(t.trim()));
    Ok(SuperConfig {
        node_name: Check::text(&r.NodeName),
        post_script: Some(Check::text(&r.PostScript)).filter(|s| !s.trim().is_empty()),
        private_key_v4: key(&r.PrivKeyV4, "PrivKeyV4")?,
        private_key_v6: key(&r.PrivKeyV6, "PrivKeyV6")?,
        listen_port,
        edge_api_port: api_port(&r.ListenPort_EdgeAPI, "ListenPort_EdgeAPI", listen_port)?,
        manage_api_port: api_port(&r.ListenPort_ManageAPI, "ListenPort_ManageAPI", listen_port)?,
        fwmark: c.u32_or(&r.FwMark, &root.key("FwMark"), 0)?,
        address_families: common::address_families(
            c,
            r.DisabledAf.as_ref(),
            &root.key("DisabledAf"),
        )?,
        api_prefix,
        repush_config_interval: c.seconds(
            &r.RePushConfigInterval,
            &root.key("RePushConfigInterval"),
            secs(30),
        )?,
        http_post_interval: c.seconds(
            &r.HttpPostInterval,
            &root.key("HttpPostInterval"),
            secs(50),
        )?,
        peer_alive_timeout: c.seconds(
            &r.PeerAliveTimeout,
            &root.key("PeerAliveTimeout"),
            secs(70),
        )?,
        send_ping_interval: c.seconds(
            &r.SendPingInterval,
            &root.key("SendPingInterval"),
            secs(15),
        )?,
        damping_filter_radius: damping_radius(
            c,
            &r.DampingFilterRadius,
            &root.key("DampingFilterRadius"),
        )?,
        log: common::log_settings(c, r.LogLevel.as_ref(), &root.key("LogLevel"))?,
        passwords,
        graph: common::graph_settings(
            c,
            r.GraphRecalculateSetting.as_ref(),
            &root.key("GraphRecalculateSetting"),
            common::GraphSettings::for_super(),
        )?,
        next_hop_table: common::next_hop_table(
            c,
            r.NextHopTable.as_ref(),
            &root.key("NextHopTable"),
        )?,
        edge_template,
        use_psk_for_inter_edge: Check::flag(&r.UsePSKForInterEdge, false),
        reset_endpoint_interval: c.seconds(
            &r.ResetEndPointInterval,
            &root.key("ResetEndPointInterval"),
            secs(600),
        )?,
        peers: peers(c, r.Peers.as_deref().unwrap_or_default())?,
        metrics: common::metrics(c, r.Metrics.as_ref(), &root.key("Metrics"))?,
        tls: api_tls(c, r.TLS.as_ref(), &root.key("TLS"), config_dir)?,
    })
}

fn peers(c: Check<'_>, raw: &[raw::SuperPeer]) -> Result<Vec<SuperPeer>, ConfigError> {
    let list = KeyPath::root().key("Peers");
    let mut out: Vec<SuperPeer> = Vec::with_capacity(raw.len());
    for (i, p) in raw.iter().enumerate() {
        let at = list.index(i);
        let (node_id, public_key) = common::peer_identity(
            c,
            &at,
            &p.NodeID,
            &p.PubKey,
            None,
            out.iter().map(|q| (q.node_id, &q.public_key)),
        )?;
        out.push(SuperPeer {
            node_id,
            name: Check::text(&p.Name),
            public_key,
            preshared_key: c.parse_opt(&p.PSKey, &at.key("PSKey"), PresharedKey::parse)?,
            additional_cost: c.millis(
                &p.AdditionalCost,
                &at.key("AdditionalCost"),
                Duration::from_millis(10),
            )?,
            skip_local_ip: Check::flag(&p.SkipLocalIP, false),
            endpoint: c.parse_opt(&p.EndPoint, &at.key("EndPoint"), Endpoint::parse)?,
            external_ip: c.parse_opt(&p.ExternalIP, &at.key("ExternalIP"), |s| {
                s.parse().map_err(|_| format!("{s:?} is not an IP address"))
            })?,
        });
    }
    Ok(out)
}
