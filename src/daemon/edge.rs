//! Running an edge: the interface, the UDP sockets and the sans-IO node,
//! driven by one reactor on one thread (ARCHITECTURE.md "The daemon loop"):
//! wait for completions → read the clock once → feed completions to the node
//! → handle due timeouts → turn transmits into batched sends and frames into
//! interface writes → re-arm one timeout.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use egd_ifaces::offload::OffloadPath;
use egd_ifaces::{
    IfaceKind, IfaceSpec, L2HeaderMode as IfaceL2Mode, L2Interface, MemifRole, MemifSpec, SockSpec,
};
use egd_uring::{Backend, Completion, Reactor, ReactorConfig, SocketId, WatchId};

use super::edge_control::EdgeControl;
use super::signals::Signals;
use super::{clock, entropy, metrics, sockets};
use crate::config::{EdgeConfig, EdgeMode, IType, L2HeaderMode, SocketSpec, VppRole};
use crate::control::api;
use crate::control::p2p::{P2pConfig, P2pSync};
use crate::logging::target;
use crate::node::{Node, NodeConfig, NodeEvent};
use crate::wire::ethernet;

/// How the daemon was asked to run (command-line choices).
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub backend: Backend,
    pub metrics_listen: Option<SocketAddr>,
    /// The config file (for `SaveNewPeers`).
    pub config_path: Option<std::path::PathBuf>,
    /// Serve the WireGuard UAPI socket (`--no-uapi` turns it off).
    pub uapi: bool,
}

/// Why an edge stopped abnormally. `Display` names what failed.
#[derive(Debug)]
pub struct RunError(pub String);

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How often the node's counters are copied to the metrics registry.
const METRICS_PERIOD: Duration = Duration::from_secs(1);
/// Most frames read from the interface per wake-up before the sockets get a
/// turn (fairness between directions).
const IFACE_READ_BUDGET: usize = 256;
/// Longest the loop sleeps, so signals are noticed promptly.
const MAX_SLEEP: Duration = Duration::from_millis(200);

/// Runs an edge until SIGTERM/SIGINT.
pub fn run(cfg: &EdgeConfig, opts: &RunOptions) -> Result<(), RunError> {
    let signals = Signals::install().map_err(|e| RunError(format!("signal handlers: {e}")))?;
    let spec = iface_spec(cfg)?;
    let mut iface = egd_ifaces::open(&spec).map_err(|e| RunError(e.to_string()))?;
    tracing::info!(target: target::NORMAL, "interface {} ({}) is up", iface.name(), cfg.interface.itype.name());
    if spec.kind == IfaceKind::Vpp {
        log_vpp_cli(&spec, cfg.interface.vpp_bridge_id);
    }
    if cfg.post_script.is_some() {
        let mac_prefix = cfg
            .interface
            .mac_prefix
            .map(|p| p.to_string())
            .unwrap_or_default();
        let extra = [
            ("EG_NODE_NAME", cfg.node_name.as_str()),
            ("EG_INTERFACE_MAC_PREFIX", mac_prefix.as_str()),
        ];
        match egd_ifaces::run_post_script_with_env(&spec, &extra) {
            Ok(status) if status.success() => {}
            Ok(status) => tracing::warn!(target: target::NORMAL, "PostScript exited with {status}"),
            Err(e) => tracing::warn!(target: target::NORMAL, "PostScript failed: {e}"),
        }
    }
    let bound = sockets::bind(&cfg.address_families, cfg.listen_port)
        .map_err(|e| RunError(format!("UDP socket: {e}")))?;
    tracing::info!(target: target::NORMAL, "listening on UDP port {}", bound.port);

    let (mut reactor, warning) = egd_uring::new_reactor(opts.backend, ReactorConfig::default())
        .map_err(|e| RunError(format!("reactor: {e}")))?;
    if let Some(w) = warning {
        tracing::warn!(target: target::INTERNAL, "{w}");
    }
    let v4 = bound
        .v4
        .map(|s| reactor.add_udp(s))
        .transpose()
        .map_err(|e| RunError(format!("UDP: {e}")))?;
    let v6 = bound
        .v6
        .map(|s| reactor.add_udp(s))
        .transpose()
        .map_err(|e| RunError(format!("UDP: {e}")))?;
    // After add_udp: the line reports the sockets' effective buffer sizes.
    tracing::info!(target: target::INTERNAL, "I/O: {}", reactor.features());

    if let Some(listen) = opts.metrics_listen.or(cfg.metrics.map(|m| m.listen)) {
        metrics::install(listen).map_err(RunError)?;
        tracing::info!(target: target::NORMAL, "metrics on http://{listen}/metrics");
    }
    let web = super::edge_web::EdgeWeb::start(cfg).map_err(RunError)?;

    let seed = entropy::random_32().map_err(|e| RunError(format!("randomness: {e}")))?;
    let node_cfg = NodeConfig::from_edge(cfg, resolve);
    let mut node = Node::new(node_cfg, seed, clock::now(), clock::unix_now());
    node.set_cost_weights(crate::node::CostWeights {
        jitter_weight: cfg.dynamic_route.cost_jitter_weight,
        loss_penalty: cfg.dynamic_route.cost_loss_penalty,
    });

    let mut control = match cfg.mode() {
        EdgeMode::Super => Some(start_control(cfg, bound.port, opts)?),
        _ => None,
    };
    let mut p2p = (cfg.mode() != EdgeMode::Static && cfg.dynamic_route.p2p.enabled)
        .then(|| P2pSync::new(p2p_config(cfg), clock::now(), &mut node));
    let wake_watch = control
        .as_ref()
        .map(|c| reactor.watch_readable(c.wake_fd()))
        .transpose()
        .map_err(|e| RunError(format!("watch: {e}")))?;

    let mut watch = watch_iface(reactor.as_mut(), iface.as_ref(), None)?;
    let uapi = if opts.uapi {
        match super::uapi::Uapi::start(iface.name()) {
            Ok(u) => Some(u),
            Err(e) => {
                tracing::warn!(target: target::NORMAL, "UAPI socket for `wg show {}`: {e}", iface.name());
                None
            }
        }
    } else {
        None
    };
    // Pings carry the wall clock: NTP corrects it (dynamic modes only).
    let ntp = if cfg.mode() == EdgeMode::Static {
        None
    } else {
        super::ntp::start(&cfg.dynamic_route.ntp)
    };
    super::privdrop::after_setup(super::privdrop::Role::Edge).map_err(RunError)?;
    let mut applied_offset = i64::MIN;
    let mut running_cfg = cfg.clone();
    let mut next_status = clock::now();
    super::systemd::ready(&status_line(&node, cfg));
    let mut frame = vec![0u8; usize::from(cfg.interface.mtu.get()) + ethernet::HEADER_LEN + 64];
    // With tap offloads: 64 KB reads cut into MTU-sized frames, and frames
    // for the tap merged into 64 KB writes (egd_ifaces::offload).
    let mut offload = iface.offloads().map(|f| {
        tracing::info!(target: target::INTERNAL, "tap offloads: {f}");
        OffloadPath::new(usize::from(cfg.interface.mtu.get()) + ethernet::HEADER_LEN)
    });
    let mut next_publish = clock::now();
    let mut next_maintain = iface.maintain_interval().map(|d| clock::now() + d);

    while !signals.stop_requested() {
        if signals.take_reload()
            && let Some(path) = &opts.config_path
        {
            super::systemd::reloading();
            if let Some(new) = super::reload::edge(path, &running_cfg, &mut node, clock::now()) {
                running_cfg = new;
            }
            super::systemd::reloaded(&status_line(&node, &running_cfg));
        }
        let now = clock::now();
        let mut deadline = node
            .poll_timeout()
            .map_or(now + MAX_SLEEP, |(t, _)| t.min(now + MAX_SLEEP));
        if let Some(m) = next_maintain {
            deadline = deadline.min(m);
        }
        if let Some(t) = control.as_ref().and_then(EdgeControl::poll_timeout) {
            deadline = deadline.min(t);
        }
        if let Some(t) = p2p.as_ref().and_then(P2pSync::poll_timeout) {
            deadline = deadline.min(t);
        }
        let mut readable = false;
        let mut woken = false;
        {
            let node = &mut node;
            reactor
                .wait(Some(deadline), &mut |c| match c {
                    Completion::Datagram { from, payload, .. } => {
                        node.handle_datagram(clock::now(), from, payload);
                    }
                    Completion::Readable(id) if watch.map(|(w, _)| w) == Some(id) => {
                        readable = true
                    }
                    Completion::Readable(id) if wake_watch == Some(id) => woken = true,
                    Completion::Readable(id) => {
                        tracing::debug!(target: target::INTERNAL, "readable: unknown watch {id:?}")
                    }
                    Completion::Timeout => {}
                })
                .map_err(|e| RunError(format!("reactor wait: {e}")))?;
        }
        let now = clock::now();
        if let (true, Some(path)) = (readable, offload.as_mut()) {
            for _ in 0..IFACE_READ_BUDGET {
                match path.read(iface.as_mut(), |f| node.handle_frame(now, f)) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => {
                        tracing::warn!(target: target::INTERNAL, "interface read: {e}");
                        break;
                    }
                }
            }
        } else if readable {
            for _ in 0..IFACE_READ_BUDGET {
                match iface.read_frame(&mut frame) {
                    Ok(Some(len)) => {
                        tracing::trace!(target: target::TRANSIT, "frame of {len} bytes from the interface");
                        node.handle_frame(now, &frame[..len]);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(target: target::INTERNAL, "interface read: {e}");
                        break;
                    }
                }
            }
        }
        if node.poll_timeout().is_some_and(|(t, _)| t <= now) {
            node.handle_timeout(now);
        }
        if let Some(c) = control.as_mut() {
            if woken {
                c.on_wake(now, &mut node);
            }
            if c.poll_timeout().is_some_and(|t| t <= now) {
                c.on_timeout(now, &mut node);
            }
        }
        if let Some(p) = p2p.as_mut() {
            if p.poll_timeout().is_some_and(|t| t <= now) {
                timed_solve(p, |p| p.handle_timeout(now, &mut node));
            }
            // Super mode with P2P: the edge's own table while the supernode
            // is silent (`SuperNodeInfoTimeout`), the supernode's otherwise.
            let (sync, timeout) = control.as_ref().map_or((None, Duration::ZERO), |c| {
                (Some(c.sync()), c.info_timeout())
            });
            if let Some(own) = crate::control::choose_table(now, sync, timeout, p, &mut node) {
                let what = if own {
                    "no word from the supernode: routing on this edge's own P2P table"
                } else {
                    "the supernode answers: routing on its table"
                };
                tracing::warn!(target: target::CONTROL, "{what}");
            }
        }
        drain_events(now, &mut node, control.as_mut(), p2p.as_mut());
        if let Some(reason) = control.as_ref().and_then(EdgeControl::shutdown) {
            flush_outputs(
                &mut node,
                reactor.as_mut(),
                iface.as_mut(),
                offload.as_mut(),
                v4,
                v6,
            );
            return Err(RunError(format!("shut down by the supernode: {reason}")));
        }
        if readable || next_maintain.is_some_and(|m| m <= now) {
            if let Err(e) = iface.maintain() {
                tracing::warn!(target: target::INTERNAL, "interface: {e}");
            }
            watch = watch_iface(reactor.as_mut(), iface.as_ref(), watch)?;
            next_maintain = iface.maintain_interval().map(|d| now + d);
        }
        flush_outputs(
            &mut node,
            reactor.as_mut(),
            iface.as_mut(),
            offload.as_mut(),
            v4,
            v6,
        );
        if let Some(offset) = ntp.as_ref().map(super::ntp::NtpOffset::ns)
            && offset != applied_offset
        {
            node.set_clock_offset_ns(offset);
            applied_offset = offset;
            metrics::publish_ntp_offset(offset);
        }
        if now >= next_publish {
            metrics::publish(&node);
            metrics::publish_iface(&iface.stats());
            metrics::publish_reactor(&reactor.stats());
            if let Some(path) = &offload {
                metrics::publish_offload(&path.stats());
            }
            if let Some(p) = &p2p {
                for (s, d, l) in p.latencies() {
                    metrics::publish_latency(s.get(), d.get(), l.as_secs_f64());
                }
            }
            if let Some(w) = &web {
                w.publish(&node, p2p.as_ref(), &running_cfg);
            }
            if let Some(u) = &uapi {
                let key = running_cfg.private_key.as_bytes();
                u.update(&node, key, bound.port, cfg.fwmark, now, clock::unix_now());
            }
            next_publish = now + METRICS_PERIOD;
        }
        if now >= next_status {
            super::systemd::status(&status_line(&node, &running_cfg));
            next_status = now + STATUS_PERIOD;
        }
    }
    if let Some(path) = &offload {
        tracing::info!(target: target::INTERNAL, "tap offload counters: {:?}", path.stats());
    }
    super::systemd::stopping();
    tracing::info!(target: target::NORMAL, "stopping");
    Ok(())
}

/// How often `systemctl status` learns how the edge is doing.
const STATUS_PERIOD: Duration = Duration::from_secs(10);

/// One line for systemd: who, how many sessions, which table.
fn status_line(node: &Node, cfg: &EdgeConfig) -> String {
    let peers: Vec<_> = node.peer_ids().filter(|p| !p.is_supernode()).collect();
    let up = peers.iter().filter(|p| node.has_session(**p)).count();
    format!(
        "edge {} ({:?} mode) on {}: {up}/{} peer sessions up, table {:016x}",
        cfg.node_id,
        cfg.mode(),
        cfg.interface.name,
        peers.len(),
        node.next_hops().state_hash().0
    )
}

/// Sends every queued datagram and writes every delivered frame.
fn flush_outputs(
    node: &mut Node,
    reactor: &mut dyn Reactor,
    iface: &mut dyn L2Interface,
    mut offload: Option<&mut OffloadPath>,
    v4: Option<SocketId>,
    v6: Option<SocketId>,
) {
    while let Some(t) = node.poll_transmit() {
        let socket = if t.dst.is_ipv4() { v4 } else { v6 };
        let Some(socket) = socket else { continue };
        if let Err(e) = reactor.queue_send(socket, t.dst, t.payload) {
            tracing::debug!(target: target::TRANSIT, "send to {}: {e}", t.dst);
        }
    }
    if let Err(e) = reactor.flush() {
        tracing::debug!(target: target::TRANSIT, "flush: {e}");
    }
    while let Some(f) = node.poll_frame() {
        let written = match offload.as_deref_mut() {
            Some(path) => path.write(iface, f),
            None => iface.write_frame(f),
        };
        if let Err(e) = written {
            tracing::warn!(target: target::INTERNAL, "interface write: {e}");
        }
    }
    if let Some(Err(e)) = offload.map(|path| path.flush(iface)) {
        tracing::warn!(target: target::INTERNAL, "interface write: {e}");
    }
}

/// Hands the node's events to the control plane (which may cause more).
fn drain_events(
    now: Instant,
    node: &mut Node,
    mut control: Option<&mut EdgeControl>,
    mut p2p: Option<&mut P2pSync>,
) {
    while let Some(e) = node.poll_event() {
        match &e {
            NodeEvent::LatencyMeasured { .. } | NodeEvent::Control { .. } => {
                tracing::debug!(target: target::CONTROL, "{e:?}")
            }
            _ => tracing::info!(target: target::CONTROL, "{e:?}"),
        }
        if let Some(c) = control.as_deref_mut() {
            c.on_event(now, node, &e);
        }
        if let NodeEvent::LatencyMeasured {
            from, one_way_ns, ..
        } = &e
        {
            metrics::publish_latency(from.get(), node.id().get(), *one_way_ns as f64 / 1e9);
        }
        if let Some(p) = p2p.as_deref_mut() {
            timed_solve(p, |p| p.handle_event(now, node, &e));
        }
    }
}

/// Runs `f`, recording its duration as solver time when it solved.
fn timed_solve(p: &mut P2pSync, f: impl FnOnce(&mut P2pSync)) {
    let before = p.solves();
    let started = clock::now();
    f(p);
    metrics::publish_reports_rejected(p.reports_rejected());
    if p.solves() > before {
        metrics::record_solve(started.elapsed().as_secs_f64());
    }
}

/// P2P settings from the edge config.
fn p2p_config(cfg: &EdgeConfig) -> P2pConfig {
    let dr = &cfg.dynamic_route;
    P2pConfig {
        node_id: cfg.node_id,
        additional_cost: dr.additional_cost,
        report_interval: dr.send_ping_interval,
        send_peer_interval: dr.p2p.send_peer_interval,
        peer_alive_timeout: dr.peer_alive_timeout,
        graph: dr.p2p.graph.clone(),
        damping_filter_radius: dr.damping_filter_radius,
    }
}

/// The super-mode control plane: the Edge API client (authenticated with a
/// token derived from this edge's key and the supernode's) on its worker.
fn start_control(cfg: &EdgeConfig, port: u16, opts: &RunOptions) -> Result<EdgeControl, RunError> {
    let link = &cfg.dynamic_route.super_node;
    let url = link.edge_api_url.clone().ok_or_else(|| {
        RunError("DynamicRoute.SuperNode.EndpointEdgeAPIUrl is required in super mode".into())
    })?;
    let super_key = link
        .public_key_v4
        .as_ref()
        .or(link.public_key_v6.as_ref())
        .ok_or_else(|| {
            RunError(
                "DynamicRoute.SuperNode.PubKeyV4 (or PubKeyV6) is required in super mode".into(),
            )
        })?;
    let roots = match &link.edge_api_ca_file {
        None => super::http::client::TlsRoots::WebPki,
        Some(path) => super::http::client::TlsRoots::Only(std::fs::read(path).map_err(|e| {
            RunError(format!(
                "DynamicRoute.SuperNode.EdgeAPICAFile {}: {e}",
                path.display()
            ))
        })?),
    };
    let token = api::edge_token(
        &api::shared_secret(&cfg.private_key, super_key),
        cfg.node_id,
    );
    let client = super::http::client::EdgeApiClient::new(&url, cfg.node_id, token, roots)
        .map_err(|e| RunError(format!("Edge API {url}: {e}")))?;
    EdgeControl::start(
        cfg,
        port,
        Box::new(client),
        clock::now(),
        opts.config_path.clone(),
    )
    .map_err(|e| RunError(format!("control plane: {e}")))
}

/// (Re)registers the interface's fd when it changed (stream sockets
/// reconnect with a new fd).
fn watch_iface(
    reactor: &mut dyn Reactor,
    iface: &dyn L2Interface,
    current: Option<(WatchId, i32)>,
) -> Result<Option<(WatchId, i32)>, RunError> {
    let fd = iface.read_fd();
    match (current, fd) {
        (Some((id, old)), Some(new)) if old == new => Ok(Some((id, old))),
        (current, fd) => {
            if let Some((id, _)) = current {
                reactor.unwatch(id);
            }
            fd.map(|fd| reactor.watch_readable(fd).map(|id| (id, fd)))
                .transpose()
                .map_err(|e| RunError(format!("watch interface: {e}")))
        }
    }
}

/// Resolves a host-name endpoint once at start (DNS is the daemon's job).
pub(super) fn resolve(host: &str, port: u16) -> Option<SocketAddr> {
    use std::net::ToSocketAddrs;
    (host, port).to_socket_addrs().ok()?.next()
}

/// The interface settings the `ifaces` crate needs.
fn iface_spec(cfg: &EdgeConfig) -> Result<IfaceSpec, RunError> {
    let i = &cfg.interface;
    let kind = match i.itype {
        IType::Tap => IfaceKind::Tap,
        IType::Dummy => IfaceKind::Dummy,
        IType::Stdio => IfaceKind::Stdio,
        IType::UdpSock => IfaceKind::UdpSock,
        IType::TcpSock => IfaceKind::TcpSock,
        IType::UnixSock => IfaceKind::UnixSock,
        IType::UnixGramSock => IfaceKind::UnixGramSock,
        IType::UnixPacketSock => IfaceKind::UnixPacketSock,
        IType::Fd => IfaceKind::Fd,
        IType::Vpp => IfaceKind::Vpp,
    };
    let mac = i
        .mac_prefix
        .and_then(|p| p.mac_for(cfg.node_id))
        .unwrap_or_else(|| default_mac(cfg.node_id.get()));
    let sock = |s: &Option<SocketSpec>| {
        s.as_ref().map(|s| match s {
            SocketSpec::Inet(a) => SockSpec::Inet(*a),
            SocketSpec::Unix(p) => SockSpec::Unix(p.clone()),
        })
    };
    Ok(IfaceSpec {
        kind,
        name: i.name.clone(),
        node_id: cfg.node_id.get(),
        mac,
        mtu: i.mtu.get(),
        ipv4: i.ipv4.map(|n| (n.addr(), n.prefix_len())),
        ipv6: i.ipv6.map(|n| (n.addr(), n.prefix_len())),
        ipv6_link_local: i.ipv6_link_local.map(|n| (n.addr(), n.prefix_len())),
        recv_addr: sock(&i.recv_addr),
        send_addr: sock(&i.send_addr),
        l2_header_mode: match i.l2_header_mode {
            L2HeaderMode::NoChange => IfaceL2Mode::NoChange,
            L2HeaderMode::KeyboardDebug => IfaceL2Mode::KeyboardDebug,
            L2HeaderMode::NoL2 => IfaceL2Mode::NoL2,
        },
        post_script: cfg.post_script.clone(),
        queues: 1,
        offload: kind == IfaceKind::Tap && tap_offload_wanted(),
        memif: MemifSpec {
            socket: i.vpp_socket.clone(),
            id: i.vpp_iface_id,
            role: match i.vpp_role {
                VppRole::Client => MemifRole::Client,
                VppRole::Server => MemifRole::Server,
            },
        },
    })
}

/// Tap offloads are on unless `EGD_TAP_OFFLOAD=0` (for comparing with the
/// one-frame-per-syscall path, and a way out should a kernel misbehave).
fn tap_offload_wanted() -> bool {
    std::env::var_os("EGD_TAP_OFFLOAD").is_none_or(|v| v != "0")
}

/// `VPPBridgeID` and VPP's end of the memif are VPP-side configuration: egd
/// does not use VPP's API, so it prints the `vpp` CLI an operator runs.
fn log_vpp_cli(spec: &IfaceSpec, bridge_id: u32) {
    let m = &spec.memif;
    let lines = egd_ifaces::memif::vpp::cli_lines(&m.socket, m.id, m.role, bridge_id, spec.mtu);
    tracing::info!(
        target: target::NORMAL,
        "memif id {} on {} as {:?}; VPP side (vppctl):",
        m.id,
        m.socket.display(),
        m.role
    );
    for line in lines {
        tracing::info!(target: target::NORMAL, "  vpp# {line}");
    }
}

/// A locally administered unicast MAC for a node without a configured prefix.
fn default_mac(node: u16) -> [u8; 6] {
    let b = node.to_be_bytes();
    [0x02, 0x00, 0x00, 0x00, b[0], b[1]]
}
