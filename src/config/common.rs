//! Validated pieces that edge and supernode files share: logging, address
//! families, routing parameters and next-hop tables.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::check::Field;
use super::check::{Check, KeyPath};
use super::error::ConfigError;
use super::raw;
use super::types::{ValueError, parse_node_id};
use crate::NodeId;
use crate::wg::PublicKey;

/// The original's `LogLevel.LogLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Silent,
    Error,
    Info,
    Verbose,
}

/// The original's `LogLevel` block. Each category flag turns on that
/// category's informational lines (tracing target `egd::<category>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSettings {
    pub level: LogLevel,
    pub transit: bool,
    pub normal: bool,
    pub dump_normal: bool,
    pub control: bool,
    pub internal: bool,
    pub ntp: bool,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            level: LogLevel::Error,
            transit: false,
            normal: true,
            dump_normal: false,
            control: true,
            internal: true,
            ntp: false,
        }
    }
}

pub fn log_settings(
    c: Check<'_>,
    raw: Option<&raw::LogLevel>,
    at: &KeyPath,
) -> Result<LogSettings, ConfigError> {
    let d = LogSettings::default();
    let Some(r) = raw else { return Ok(d) };
    let level = match &r.LogLevel {
        None => d.level,
        Some(s) => match s.value.as_str() {
            "silent" => LogLevel::Silent,
            "error" => LogLevel::Error,
            "info" | "normal" => LogLevel::Info,
            "verbose" | "debug" => LogLevel::Verbose,
            other => {
                return Err(c.error(
                    s.referenced.into(),
                    &at.key("LogLevel"),
                    format!("unknown log level {other:?} (silent, error, info, verbose, debug)"),
                ));
            }
        },
    };
    Ok(LogSettings {
        level,
        transit: Check::flag(&r.LogTransit, d.transit),
        normal: Check::flag(&r.LogNormal, d.normal),
        dump_normal: Check::flag(&r.DumpNormal, d.dump_normal),
        control: Check::flag(&r.LogControl, d.control),
        internal: Check::flag(&r.LogInternal, d.internal),
        ntp: Check::flag(&r.LogNTP, d.ntp),
    })
}

/// Which address families to use (the original names the block
/// `DisabledAf`: `true` disables) and optional listen addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressFamilies {
    pub ipv4: bool,
    pub ipv6: bool,
    pub listen_v4: Option<Ipv4Addr>,
    pub listen_v6: Option<Ipv6Addr>,
}

/// `AfPrefer`: which family a peer's candidate endpoints (and a host
/// name's addresses) are tried in first; `0` (absent) keeps the order they
/// come in, as the original does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AfPrefer {
    #[default]
    Any,
    V4,
    V6,
}

pub fn address_families(
    c: Check<'_>,
    raw: Option<&raw::DisabledAf>,
    at: &KeyPath,
) -> Result<AddressFamilies, ConfigError> {
    let Some(r) = raw else {
        return Ok(AddressFamilies {
            ipv4: true,
            ipv6: true,
            listen_v4: None,
            listen_v6: None,
        });
    };
    let af = AddressFamilies {
        ipv4: !Check::flag(&r.IPv4, false),
        ipv6: !Check::flag(&r.IPv6, false),
        listen_v4: c.parse_opt(&r.ListenIPv4, &at.key("ListenIPv4"), parse_ip)?,
        listen_v6: c.parse_opt(&r.ListenIPv6, &at.key("ListenIPv6"), parse_ip)?,
    };
    if !af.ipv4 && !af.ipv6 {
        return Err(c.error_at_key(at, "both IPv4 and IPv6 are disabled"));
    }
    Ok(af)
}

fn parse_ip<T: std::str::FromStr>(s: &str) -> Result<T, ValueError> {
    s.parse().map_err(|_| ValueError::IpOfFamily(s.to_owned()))
}

/// A `ManualLatency` key: one node, or 65535 for any node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeSelector {
    Any,
    Node(NodeId),
}

/// One `ManualLatency[src][dst]` override. The value is in milliseconds as in
/// the original; it may be negative, since one-way latencies measured with
/// unsynchronised clocks can be (docs/system.md#one-way-latency).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ManualLatency {
    pub src: NodeSelector,
    pub dst: NodeSelector,
    pub milliseconds: f64,
}

/// `GraphRecalculateSetting`: how the routing graph is filtered and solved
/// (docs/system.md#stability).
#[derive(Debug, Clone, PartialEq)]
pub struct GraphSettings {
    /// `StaticMode`: route by the file's `NextHopTable` and solve nothing
    /// (latencies are still measured and reported); see `static_table`.
    pub static_mode: bool,
    pub manual_latency: Vec<ManualLatency>,
    pub jitter_tolerance: Duration,
    pub jitter_tolerance_multiplier: f64,
    pub timeout_check_interval: Duration,
    pub recalculate_cool_down: Duration,
    /// `PathHysteresis` (ms; egd extension): path hysteresis, absolute part
    /// (`StabilitySettings::hysteresis_absolute`). Default 2 ms on a
    /// supernode (one router computes every table, so its history is
    /// consistent) and 0 (off) in P2P, because each P2P edge's kept hops
    /// would depend on its own history, so edges' tables (and broadcast
    /// trees) could disagree for good; P2P uses the reporter-side dead band
    /// below instead (docs/routing.md).
    pub hysteresis_absolute: Duration,
    /// `PathHysteresisRelative` (egd extension): the relative part; default
    /// 0.10 on a supernode, 0 (off) in P2P.
    pub hysteresis_relative: f64,
    /// `ReportDeadBand` (ms; egd extension, P2P only): an edge changes the
    /// cost it floods for a link only when the measured one moved by more
    /// than `max(ReportDeadBand, ReportDeadBandRelative · rtt / 2)`; every
    /// edge then solves the same numbers. Default 2 ms / 0.05.
    pub report_dead_band: Duration,
    /// `ReportDeadBandRelative` (egd extension, P2P only).
    pub report_dead_band_relative: f64,
}

impl GraphSettings {
    /// A supernode's defaults: path hysteresis on (2 ms / 10 %).
    pub fn for_super() -> Self {
        Self {
            hysteresis_absolute: Duration::from_millis(2),
            hysteresis_relative: 0.10,
            ..Self::default()
        }
    }
}

impl Default for GraphSettings {
    fn default() -> Self {
        Self {
            static_mode: false,
            manual_latency: Vec::new(),
            jitter_tolerance: Duration::from_millis(50),
            jitter_tolerance_multiplier: 1.1,
            timeout_check_interval: Duration::from_secs(5),
            recalculate_cool_down: Duration::from_secs(5),
            hysteresis_absolute: Duration::ZERO,
            hysteresis_relative: 0.0,
            report_dead_band: Duration::from_millis(2),
            report_dead_band_relative: 0.05,
        }
    }
}

/// A `GraphRecalculateSetting` block; absent keys take `d` (P2P:
/// `GraphSettings::default()`, supernode: `GraphSettings::for_super()`).
pub fn graph_settings(
    c: Check<'_>,
    raw: Option<&raw::GraphRecalculateSetting>,
    at: &KeyPath,
    d: GraphSettings,
) -> Result<GraphSettings, ConfigError> {
    let Some(r) = raw else { return Ok(d) };
    let mut manual_latency = Vec::new();
    let ml = at.key("ManualLatency");
    for (src, row) in r.ManualLatency.iter().flat_map(|m| &m.0) {
        let src_path = ml.key(&src.to_string());
        let src_sel = node_selector(*src).map_err(|e| c.error_at_key(&src_path, e))?;
        for (dst, ms) in &row.0 {
            let path = src_path.key(&dst.to_string());
            let dst_sel = node_selector(*dst).map_err(|e| c.error_at_key(&path, e))?;
            if !ms.value.is_finite() {
                return Err(c.error(ms.referenced.into(), &path, "latency must be finite"));
            }
            manual_latency.push(ManualLatency {
                src: src_sel,
                dst: dst_sel,
                milliseconds: ms.value,
            });
        }
    }
    let multiplier = c.value_or(
        &r.JitterToleranceMultiplier,
        &at.key("JitterToleranceMultiplier"),
        d.jitter_tolerance_multiplier,
        |m| {
            if m.is_finite() && m >= 1.0 {
                Ok(m)
            } else {
                Err(format!("multiplier must be a number ≥ 1, got {m}"))
            }
        },
    )?;
    Ok(GraphSettings {
        static_mode: Check::flag(&r.StaticMode, d.static_mode),
        manual_latency,
        jitter_tolerance: c.millis(
            &r.JitterTolerance,
            &at.key("JitterTolerance"),
            d.jitter_tolerance,
        )?,
        jitter_tolerance_multiplier: multiplier,
        timeout_check_interval: c.seconds(
            &r.TimeoutCheckInterval,
            &at.key("TimeoutCheckInterval"),
            d.timeout_check_interval,
        )?,
        recalculate_cool_down: c.seconds(
            &r.RecalculateCoolDown,
            &at.key("RecalculateCoolDown"),
            d.recalculate_cool_down,
        )?,
        hysteresis_absolute: c.millis(
            &r.PathHysteresis,
            &at.key("PathHysteresis"),
            d.hysteresis_absolute,
        )?,
        hysteresis_relative: c.value_or(
            &r.PathHysteresisRelative,
            &at.key("PathHysteresisRelative"),
            d.hysteresis_relative,
            fraction,
        )?,
        report_dead_band: c.millis(
            &r.ReportDeadBand,
            &at.key("ReportDeadBand"),
            d.report_dead_band,
        )?,
        report_dead_band_relative: c.value_or(
            &r.ReportDeadBandRelative,
            &at.key("ReportDeadBandRelative"),
            d.report_dead_band_relative,
            fraction,
        )?,
    })
}

/// A relative setting: a number in 0..=1.
fn fraction(f: f64) -> Result<f64, ValueError> {
    if f.is_finite() && (0.0..=1.0).contains(&f) {
        Ok(f)
    } else {
        Err(ValueError::Fraction(f))
    }
}

fn node_selector(raw: u64) -> Result<NodeSelector, ValueError> {
    if raw == u64::from(NodeId::BROADCAST) {
        Ok(NodeSelector::Any)
    } else {
        parse_node_id(raw).map(NodeSelector::Node)
    }
}

/// A configured `NextHopTable[src][dst] = next hop` (static mode).
pub type StaticNextHops = BTreeMap<NodeId, BTreeMap<NodeId, NodeId>>;

pub fn next_hop_table(
    c: Check<'_>,
    raw: Option<&raw::RawNextHopTable>,
    at: &KeyPath,
) -> Result<StaticNextHops, ConfigError> {
    let mut table = StaticNextHops::new();
    for (src, row) in raw.iter().flat_map(|t| &t.0) {
        let src_path = at.key(&src.to_string());
        let s = parse_node_id(*src).map_err(|e| c.error_at_key(&src_path, e))?;
        let out = table.entry(s).or_default();
        for (dst, hop) in &row.0 {
            let path = src_path.key(&dst.to_string());
            let d = parse_node_id(*dst).map_err(|e| c.error_at_key(&path, e))?;
            let h =
                parse_node_id(hop.value).map_err(|e| c.error(hop.referenced.into(), &path, e))?;
            if out.insert(d, h).is_some() {
                return Err(c.error_at_key(&path, "duplicate destination"));
            }
        }
    }
    Ok(table)
}

/// A list of IP addresses given as strings.
pub fn ip_list(
    c: Check<'_>,
    raw: Option<&Vec<serde_saphyr::Spanned<String>>>,
    at: &KeyPath,
) -> Result<Vec<IpAddr>, ConfigError> {
    raw.iter()
        .flat_map(|v| v.iter().enumerate())
        .map(|(i, s)| {
            s.value.trim().parse().map_err(|_| {
                c.error(
                    s.referenced.into(),
                    &at.index(i),
                    format!("{:?} is not an IP address", s.value),
                )
            })
        })
        .collect()
}

/// Where egd serves Prometheus metrics (egd's addition; absent = off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsConfig {
    pub listen: std::net::SocketAddr,
}

pub fn metrics(
    c: Check<'_>,
    raw: Option<&raw::Metrics>,
    at: &KeyPath,
) -> Result<Option<MetricsConfig>, ConfigError> {
    let Some(r) = raw else { return Ok(None) };
    let listen = c.parse_opt(&r.Listen, &at.key("Listen"), |s| {
        s.parse()
            .map_err(|_| format!("{s:?} is not an ip:port listen address"))
    })?;
    Ok(listen.map(|listen| MetricsConfig { listen }))
}

/// The identity every `Peers[i]` entry needs: a NodeID that is real, not
/// `own`, and not used by an earlier entry, and a public key no earlier entry
/// has. `earlier` lists the entries before this one.
pub fn peer_identity<'p>(
    c: Check<'_>,
    at: &KeyPath,
    node_id: &Field<u64>,
    public_key: &Field<String>,
    own: Option<NodeId>,
    earlier: impl Iterator<Item = (NodeId, &'p PublicKey)> + Clone,
) -> Result<(NodeId, PublicKey), ConfigError> {
    let id_path = at.key("NodeID");
    let (raw_id, id_at) = c.required(node_id, &id_path, "every peer has a NodeID")?;
    let id = parse_node_id(*raw_id).map_err(|e| c.error(id_at, &id_path, e))?;
    if Some(id) == own {
        return Err(c.error(id_at, &id_path, format!("{id} is this node's own NodeID")));
    }
    if let Some(j) = earlier.clone().position(|(n, _)| n == id) {
        return Err(c.error(
            id_at,
            &id_path,
            format!("NodeID {id} is duplicated (also Peers[{j}])"),
        ));
    }
    let key_path = at.key("PubKey");
    let key = c.parse_req(
        public_key,
        &key_path,
        "every peer has a public key",
        PublicKey::parse,
    )?;
    if let Some(j) = earlier.clone().position(|(_, k)| *k == key) {
        return Err(c.error_at_key(
            &key_path,
            format!("public key is duplicated (also Peers[{j}])"),
        ));
    }
    Ok((id, key))
}
