//! Running an edge: the interface, the UDP sockets and the sans-IO node
//! (the daemon loop of docs/architecture.md): wait for completions → read the
//! clock → feed completions to the node → handle due timeouts → turn
//! transmits into batched sends and frames into interface writes → re-arm
//! one timeout.
//!
//! Threads: with a tap, `--threads N` data paths ([`DataPath`]), each with
//! its own reactor, its own UDP sockets on the shared port (`SO_REUSEPORT`)
//! and its own tap queue (`IFF_MULTI_QUEUE`). This (main) thread is data
//! path 0 and also runs the timers, the control plane, metrics and reloads;
//! the others are [`Workers`]. The node is shared behind a mutex taken once
//! per batch of packets (see `datapath` and docs/multiqueue.md).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use egd_ifaces::{
    IfaceKind, IfaceSpec, L2HeaderMode as IfaceL2Mode, L2Interface, MemifRole, MemifSpec, SockSpec,
};
use egd_uring::{Backend, WatchId};

use super::batch_lock::lock;
use super::datapath::{DataPath, PathIo};
use super::edge_control::ApiWorker;
use super::error::RunError;
use super::shell::{self, Shell};
use super::workers::{WorkerIo, Workers};
use super::{clock, ddns, entropy, metrics, sockets};
use crate::config::{EdgeConfig, EdgeMode, IType, L2HeaderMode, SocketSpec, VppRole};
use crate::control::api;
use crate::control::edge::{Edge, EdgeEvent};
use crate::control::endpoints::FamilyPolicy;
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
    /// Data-path threads (`--threads`, `EGD_THREADS`); None: the default.
    pub threads: Option<usize>,
}

/// Longest the start waits for the first DNS lookups (then they go on in
/// the background).
const FIRST_LOOKUPS: Duration = Duration::from_secs(3);
/// Longest the loop sleeps, so signals are noticed promptly.
const MAX_SLEEP: Duration = Duration::from_millis(200);

/// Runs an edge until SIGTERM/SIGINT.
pub fn run(cfg: &EdgeConfig, opts: &RunOptions) -> Result<(), RunError> {
    let mut p = EdgeProcess::setup(cfg, opts)?;
    while p.shell.running() {
        p.step()?;
    }
    p.shutdown();
    Ok(())
}

/// A running edge: everything its loop drives. Fields drop in order, the
/// data path threads first.
struct EdgeProcess<'a> {
    workers: Workers,
    ntp: Option<super::ntp::NtpOffset>,
    uapi: Option<super::uapi::Uapi>,
    path: DataPath,
    node: Arc<Mutex<Node>>,
    ddns: ddns::Ddns,
    waker: super::wake::Waker,
    wake_watch: Option<WatchId>,
    worker_watch: WatchId,
    edge: Edge,
    api: Option<ApiWorker>,
    web: Option<super::edge_web::EdgeWeb>,
    shell: Shell,
    cfg: &'a EdgeConfig,
    opts: &'a RunOptions,
    running_cfg: EdgeConfig,
    port: u16,
    applied_offset: i64,
    measured: metrics::MeasuredLatencies,
    next_maintain: Option<Instant>,
}

/// The interface and the UDP sockets: data path 0's, and the other
/// threads' (one `WorkerIo` each).
struct Opened {
    io: PathIo,
    others: Vec<WorkerIo>,
    port: u16,
}

/// The node and the control plane around it, before the data path exists.
struct Control {
    node: Node,
    edge: Edge,
    api: Option<ApiWorker>,
    ddns: ddns::Ddns,
    waker: super::wake::Waker,
    wake_handle: super::wake::WakeHandle,
}

impl<'a> EdgeProcess<'a> {
    /// Everything up to `READY=1`: interface, sockets, reactor, metrics,
    /// the node, the control plane, the data path and its threads.
    fn setup(cfg: &'a EdgeConfig, opts: &'a RunOptions) -> Result<Self, RunError> {
        let mut shell = Shell::start(STATUS_PERIOD, clock::now())?;
        let threads = thread_count(cfg, opts);
        let Opened { io, others, port } = open_io(cfg, opts, threads)?;
        let mut reactor = io.reactor;
        shell::serve_metrics(opts.metrics_listen, cfg.metrics)?;
        let web = super::edge_web::EdgeWeb::start(cfg).map_err(RunError::Web)?;
        let mut c = start_control(cfg, opts, port)?;
        let wake_watch = c
            .api
            .as_ref()
            .map(|a| reactor.watch_readable(a.wake_fd()))
            .transpose()
            .map_err(RunError::Watch)?;

        let max_frame = usize::from(cfg.interface.mtu.get()) + ethernet::HEADER_LEN;
        let slot_len = c.node.max_transmit_len();
        // With several data paths each seals and opens outside the node's lock
        // (`DataPath`); one alone has nothing to overlap, and skips the split.
        let deferred = threads > 1;
        c.node.set_deferred_crypto(deferred);
        let node = Arc::new(Mutex::new(c.node));
        if let Some(f) = io.iface.offloads() {
            tracing::info!(target: target::INTERNAL, "tap offloads: {f}");
        }
        let io = PathIo { reactor, ..io };
        let mut path =
            DataPath::new(io, max_frame, slot_len, None).map_err(RunError::WatchInterface)?;
        path.set_deferred_crypto(deferred);
        let worker_watch = path.watch_readable(c.waker.fd()).map_err(RunError::Watch)?;

        let uapi = opts.uapi.then(|| start_uapi(path.iface().name())).flatten();
        // Pings carry the wall clock: NTP corrects it (dynamic modes only).
        let ntp = if cfg.mode() == EdgeMode::Static {
            None
        } else {
            super::ntp::start(&cfg.dynamic_route.ntp)
        };
        shell::drop_privileges(super::privdrop::Role::Edge)?;
        // After the privilege drop: capabilities, the bounding set and
        // no_new_privs are per thread, and the data path threads need none.
        let workers = Workers::start(
            others,
            opts.backend,
            &node,
            &c.wake_handle,
            max_frame,
            slot_len,
        )?;
        tracing::info!(target: target::NORMAL, "{threads} data path thread(s)");
        shell.ready(clock::now(), &status_line(&lock(&node), cfg));
        let next_maintain = path.maintain_interval().map(|d| clock::now() + d);
        Ok(Self {
            workers,
            ntp,
            uapi,
            path,
            node,
            ddns: c.ddns,
            waker: c.waker,
            wake_watch,
            worker_watch,
            edge: c.edge,
            api: c.api,
            web,
            shell,
            cfg,
            opts,
            running_cfg: cfg.clone(),
            port,
            applied_offset: i64::MIN,
            measured: metrics::MeasuredLatencies::default(),
            next_maintain,
        })
    }

    /// One round of the loop: reload, wait, then the control plane's turn
    /// under one lock, then the interface's upkeep and the sends.
    fn step(&mut self) -> Result<(), RunError> {
        self.workers.check()?;
        let (node, ddns, running_cfg) = (&self.node, &mut self.ddns, &mut self.running_cfg);
        self.shell
            .take_reload(self.opts.config_path.as_deref(), |path| {
                let mut node = lock(node);
                if let Some(new) = super::reload::edge(path, running_cfg, &mut node, clock::now()) {
                    ddns.set_targets(reload_targets(running_cfg, &new));
                    *running_cfg = new;
                }
                status_line(&node, running_cfg)
            });
        let woken = self.wait()?;
        let readable = self.path.read_iface(&self.node);
        let now = clock::now();
        self.control(now, woken)?;
        if readable || self.next_maintain.is_some_and(|m| m <= now) {
            self.path.maintain().map_err(RunError::WatchInterface)?;
            self.next_maintain = self.path.maintain_interval().map(|d| now + d);
        }
        self.path.flush();
        Ok(())
    }

    /// Waits for the data path, a timer or a wake-up; true when the Edge
    /// API worker woke the loop.
    fn wait(&mut self) -> Result<bool, RunError> {
        let now = clock::now();
        let mut deadline = lock(&self.node)
            .poll_timeout()
            .map_or(now + MAX_SLEEP, |(t, _)| t.min(now + MAX_SLEEP));
        if let Some(m) = self.next_maintain {
            deadline = deadline.min(m);
        }
        if let Some(t) = self.edge.poll_timeout() {
            deadline = deadline.min(t);
        }
        let mut woken = false;
        let (wake_watch, worker_watch, waker) = (self.wake_watch, self.worker_watch, &self.waker);
        self.path
            .wait(&self.node, Some(deadline), &mut |id| {
                if wake_watch == Some(id) {
                    woken = true;
                } else if id == worker_watch {
                    waker.drain();
                } else {
                    tracing::debug!(target: target::INTERNAL, "readable: unknown watch {id:?}");
                }
            })
            .map_err(RunError::Wait)?;
        Ok(woken)
    }

    /// The control plane's turn: one lock for timers, control and events.
    fn control(&mut self, now: Instant, woken: bool) -> Result<(), RunError> {
        let shared = Arc::clone(&self.node);
        let mut guard = lock(&shared);
        let node: &mut Node = &mut guard;
        let edge = &mut self.edge;
        if node.poll_timeout().is_some_and(|(t, _)| t <= now) {
            node.handle_timeout(now);
        }
        if let Some(w) = self.api.as_mut()
            && woken
        {
            w.drain_wake();
            while let Some(a) = w.poll_answer() {
                edge.handle_answer(now, node, a);
            }
        }
        if edge.poll_timeout().is_some_and(|t| t <= now) {
            timed_solve(edge, |e| e.handle_timeout(now, node));
        }
        self.ddns.apply(node, Some(edge));
        drain_events(now, node, edge, &mut self.measured);
        submit_requests(now, node, edge, self.api.as_mut());
        log_edge_events(edge);
        if let Some(offset) = self.ntp.as_ref().map(super::ntp::NtpOffset::ns)
            && offset != self.applied_offset
        {
            node.set_clock_offset_ns(offset);
            self.applied_offset = offset;
        }
        self.path.collect(node);
        if let Some(reason) = self.api.as_ref().and_then(ApiWorker::shutdown) {
            drop(guard);
            self.path.flush();
            return Err(RunError::ShutDown(reason.to_owned()));
        }
        let ticks = self.shell.tick(now);
        if ticks.publish {
            self.publish(now, node);
        }
        if ticks.status {
            shell::status(&status_line(node, &self.running_cfg));
        }
        Ok(())
    }

    /// Every series again each round: one not set for a while is dropped
    /// (`metrics::IDLE_TIMEOUT`).
    fn publish(&mut self, now: Instant, node: &Node) {
        let tap = self.cfg.interface.itype == IType::Tap;
        publish(node, &self.path, &self.workers, tap);
        self.measured.publish(node);
        if self.applied_offset != i64::MIN {
            metrics::publish_ntp_offset(self.applied_offset);
        }
        if let Some(p) = self.edge.p2p() {
            for (s, d, l) in p.latencies() {
                metrics::publish_latency(s.get(), d.get(), l.as_secs_f64());
            }
            metrics::publish_reports_rejected(p.reports_rejected());
        }
        if let Some(w) = &self.web {
            w.publish(node, self.edge.p2p(), &self.running_cfg);
        }
        if let Some(u) = &self.uapi {
            let key = self.running_cfg.private_key.as_bytes();
            u.update(
                node,
                key,
                self.port,
                self.cfg.fwmark,
                now,
                clock::unix_now(),
            );
        }
    }

    /// Stops the data path threads, logs their totals, and tells systemd.
    fn shutdown(self) {
        let mut total = self.path.stats();
        for s in &self.workers.stats() {
            total.accumulate(s);
        }
        drop(self.workers);
        if let Some(s) = total.offload {
            tracing::info!(target: target::INTERNAL, "tap offload counters: {s:?}");
        }
        tracing::info!(target: target::INTERNAL, "node lock: {:?}", total.lock);
        self.shell.stopping();
    }
}

/// Opens the interface (running its post script) and binds the UDP
/// sockets; data path 0's are added to a new reactor.
fn open_io(cfg: &EdgeConfig, opts: &RunOptions, threads: usize) -> Result<Opened, RunError> {
    let mut spec = iface_spec(cfg)?;
    spec.queues = threads;
    let mut queues = open_iface(&spec)?.into_iter();
    let (iface, writer) = queues.next().ok_or(RunError::NoQueue)?;
    tracing::info!(target: target::NORMAL, "interface {} ({}) is up", iface.name(), cfg.interface.itype.name());
    if spec.kind == IfaceKind::Vpp {
        log_vpp_cli(&spec, cfg.interface.vpp_bridge_id);
    }
    super::post_script::run_edge(cfg, &spec);
    let mut groups =
        sockets::bind_reuseport(&cfg.address_families, cfg.listen_port, threads, cfg.fwmark)
            .map_err(RunError::Socket)?
            .into_iter();
    let bound = groups.next().ok_or(RunError::NoSocket)?;
    let port = bound.port;
    tracing::info!(target: target::NORMAL, "listening on UDP port {port}");

    let mut reactor = shell::reactor(opts.backend)?;
    let v4 = bound
        .v4
        .map(|s| reactor.add_udp(s))
        .transpose()
        .map_err(RunError::AddSocket)?;
    let v6 = bound
        .v6
        .map(|s| reactor.add_udp(s))
        .transpose()
        .map_err(RunError::AddSocket)?;
    // After add_udp: the line reports the sockets' effective buffer sizes.
    tracing::info!(target: target::INTERNAL, "I/O: {}", reactor.features());
    let others = groups
        .zip(queues)
        .map(|(g, (iface, writer))| WorkerIo {
            iface,
            writer,
            v4: g.v4,
            v6: g.v6,
        })
        .collect();
    let io = PathIo {
        reactor,
        v4,
        v6,
        iface,
        writer,
    };
    Ok(Opened { io, others, port })
}

/// The node, the control plane (super mode's Edge API worker, P2P) and
/// the resolver, which has had its first lookups.
fn start_control(cfg: &EdgeConfig, opts: &RunOptions, port: u16) -> Result<Control, RunError> {
    let seed = entropy::random_32().map_err(RunError::Randomness)?;
    // Host names are the resolver thread's (`ddns`); literal addresses are
    // set here.
    let node_cfg = NodeConfig::from_edge(cfg, |_, _| None);
    let mut node = Node::new(node_cfg, seed, clock::now(), clock::unix_now());
    node.set_cost_weights(crate::node::CostWeights {
        jitter_weight: cfg.dynamic_route.cost_jitter_weight,
        loss_penalty: cfg.dynamic_route.cost_loss_penalty,
    });

    let api = match cfg.mode() {
        EdgeMode::Super => Some(start_api(cfg, opts)?),
        _ => None,
    };
    let sync = api
        .is_some()
        .then(|| super::edge_control::edge_sync(cfg, port, clock::now()));
    let p2p = (cfg.mode() != EdgeMode::Static && cfg.dynamic_route.p2p.enabled)
        .then(|| P2pSync::new(p2p_config(cfg), clock::now(), &mut node));
    let mut edge = Edge::new(sync, p2p, cfg.dynamic_route.super_node.info_timeout);
    // Worker threads and the resolver wake this one when they have news.
    let (waker, wake_handle) = super::wake::pair().map_err(|source| RunError::Wake {
        what: "wake",
        source,
    })?;
    let dns_targets = ddns::targets(cfg);
    let mut ddns = ddns::Ddns::start(
        dns_targets.clone(),
        cfg.reset_endpoint_interval,
        ddns::system_resolver(),
        wake_handle.clone(),
    )
    .map_err(RunError::Resolver)?;
    // Names that resolve at once are in place before the first handshake;
    // a slow or failing resolver delays the start by this much at most.
    ddns.wait_first(dns_targets.len(), FIRST_LOOKUPS, &mut node, Some(&mut edge));
    Ok(Control {
        node,
        edge,
        api,
        ddns,
        waker,
        wake_handle,
    })
}

/// The UAPI socket for `wg show`; without it the edge runs on.
fn start_uapi(iface: &str) -> Option<super::uapi::Uapi> {
    match super::uapi::Uapi::start(iface) {
        Ok(u) => Some(u),
        Err(e) => {
            tracing::warn!(target: target::NORMAL, "UAPI socket for `wg show {iface}`: {e}");
            None
        }
    }
}

/// Copies the node's and every data path's counters into the registry;
/// with `tap`, also the tap's kernel drop counters.
fn publish(node: &Node, path: &DataPath, workers: &Workers, tap: bool) {
    let mut total = path.stats();
    let others = workers.stats();
    for s in &others {
        total.accumulate(s);
    }
    metrics::publish(node);
    metrics::publish_datapath(1 + others.len(), &total.lock, total.seal_failed);
    let kernel = tap
        .then(|| egd_ifaces::device_drops(path.iface().name()).ok())
        .flatten();
    metrics::publish_iface(&total.iface, kernel);
    metrics::publish_reactor(&total.reactor);
    if let Some(o) = &total.offload {
        metrics::publish_offload(o);
    }
}

/// Data-path threads: `--threads`/`EGD_THREADS`, else one per CPU; more
/// than one only for a tap (the other kinds have a single queue).
fn thread_count(cfg: &EdgeConfig, opts: &RunOptions) -> usize {
    let wanted = opts.threads.unwrap_or_else(default_threads);
    if cfg.interface.itype != IType::Tap {
        if wanted > 1 && opts.threads.is_some() {
            tracing::warn!(
                target: target::NORMAL,
                "{wanted} threads asked for, but IType {} has one queue: running one",
                cfg.interface.itype.name()
            );
        }
        return 1;
    }
    wanted.clamp(1, MAX_THREADS)
}

/// The default thread count (see docs/multiqueue.md for the measurements).
fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The kernel caps a tap at 256 queues; more threads than that make no sense.
pub const MAX_THREADS: usize = 256;

/// What one data-path thread reads from and writes to.
type ThreadIface = (Box<dyn L2Interface>, Option<Box<dyn L2Interface>>);

/// Opens the interface: one `(reader, writer)` per thread. A multi-queue
/// tap gives each thread its own queue to read and a `QueueSet` over all
/// queues to write (see `datapath`); otherwise the one endpoint does both.
fn open_iface(spec: &IfaceSpec) -> Result<Vec<ThreadIface>, RunError> {
    let err = RunError::Interface;
    if spec.kind != IfaceKind::Tap || spec.queues <= 1 {
        return Ok(vec![(egd_ifaces::open(spec).map_err(err)?, None)]);
    }
    let tap = egd_ifaces::Tap::open(spec).map_err(err)?;
    let mut others = Vec::with_capacity(spec.queues - 1);
    for _ in 1..spec.queues {
        others.push(tap.open_queue().map_err(err)?);
    }
    // Every thread writes through its own fds of all queues.
    let mut sets = Vec::with_capacity(spec.queues);
    for _ in 0..spec.queues {
        let mut all = vec![tap.clone_queue().map_err(err)?];
        for q in &others {
            all.push(q.try_clone().map_err(RunError::TapQueue)?);
        }
        sets.push(egd_ifaces::QueueSet::new(all).map_err(RunError::TapQueues)?);
    }
    let mut readers: Vec<Box<dyn L2Interface>> = vec![Box::new(tap)];
    readers.extend(
        others
            .into_iter()
            .map(|q| Box::new(q) as Box<dyn L2Interface>),
    );
    let threads = readers
        .into_iter()
        .zip(sets)
        .map(|(r, w)| (r, Some(Box::new(w) as Box<dyn L2Interface>)))
        .collect();
    Ok(threads)
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

/// Hands the node's events to the control plane (which may cause more).
fn drain_events(
    now: Instant,
    node: &mut Node,
    edge: &mut Edge,
    measured: &mut metrics::MeasuredLatencies,
) {
    while let Some(e) = node.poll_event() {
        match &e {
            NodeEvent::LatencyMeasured { .. } | NodeEvent::Control { .. } => {
                tracing::debug!(target: target::CONTROL, "{e:?}")
            }
            _ => tracing::info!(target: target::CONTROL, "{e:?}"),
        }
        timed_solve(edge, |edge| edge.handle_event(now, node, &e));
        if let NodeEvent::LatencyMeasured {
            from, one_way_ns, ..
        } = &e
        {
            measured.record(*from, *one_way_ns as f64 / 1e9);
        }
    }
}

/// Carries the edge's requests to the Edge API worker; a fetch it cannot
/// take fails back into the edge at once.
fn submit_requests(
    now: Instant,
    node: &mut Node,
    edge: &mut Edge,
    mut api: Option<&mut ApiWorker>,
) {
    while let Some(r) = edge.poll_request() {
        if let Some(a) = api.as_deref_mut().and_then(|w| w.submit(r)) {
            edge.handle_answer(now, node, a);
        }
    }
}

/// Logs the edge's decisions (super mode with P2P: which table is in force).
fn log_edge_events(edge: &mut Edge) {
    while let Some(e) = edge.poll_event() {
        let what = match e {
            EdgeEvent::OwnTable => {
                "no word from the supernode: routing on this edge's own P2P table"
            }
            EdgeEvent::SupernodeTable => "the supernode answers: routing on its table",
        };
        tracing::warn!(target: target::CONTROL, "{what}");
    }
}

/// Runs `f`, recording its duration as solver time when P2P solved.
fn timed_solve(edge: &mut Edge, f: impl FnOnce(&mut Edge)) {
    let before = edge.p2p().map(P2pSync::solves);
    let started = clock::now();
    f(edge);
    if let Some(p) = edge.p2p() {
        metrics::publish_reports_rejected(p.reports_rejected());
        if before.is_some_and(|b| p.solves() > b) {
            metrics::record_solve(started.elapsed().as_secs_f64());
        }
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
        next_hop_table: cfg.next_hop_table.clone(),
        damping_filter_radius: dr.damping_filter_radius,
        families: FamilyPolicy::new(&cfg.address_families, cfg.af_prefer),
    }
}

/// The super-mode control plane: the Edge API client (authenticated with a
/// token derived from this edge's key and the supernode's) on its worker.
fn start_api(cfg: &EdgeConfig, opts: &RunOptions) -> Result<ApiWorker, RunError> {
    let link = &cfg.dynamic_route.super_node;
    let url = link.edge_api_url.clone().ok_or(RunError::Missing(
        "DynamicRoute.SuperNode.EndpointEdgeAPIUrl",
    ))?;
    let token = api::edge_token_of_edge(
        &cfg.private_key,
        link.public_key_v4.as_ref(),
        link.public_key_v6.as_ref(),
        cfg.node_id,
    )
    .ok_or(RunError::Missing(
        "DynamicRoute.SuperNode.PubKeyV4 (or PubKeyV6)",
    ))?;
    let roots = match &link.edge_api_ca_file {
        None => super::http::client::TlsRoots::WebPki,
        Some(path) => {
            super::http::client::TlsRoots::Only(std::fs::read(path).map_err(|source| {
                RunError::CaFile {
                    path: path.clone(),
                    source,
                }
            })?)
        }
    };
    let client = super::http::client::EdgeApiClient::new(&url, cfg.node_id, token, roots).map_err(
        |source| RunError::EdgeApi {
            url: url.clone(),
            source,
        },
    )?;
    ApiWorker::start(Box::new(client), opts.config_path.clone()).map_err(RunError::Control)
}

/// The host names to follow after a reload: the new config's peers, and
/// the running supernode endpoints (a change of `DynamicRoute.SuperNode`
/// takes effect at the next restart, as `reload` says).
fn reload_targets(old: &EdgeConfig, new: &EdgeConfig) -> Vec<ddns::Target> {
    let is_super = |t: &ddns::Target| t.peer.is_supernode();
    let mut list: Vec<_> = ddns::targets(new)
        .into_iter()
        .filter(|t| !is_super(t))
        .collect();
    list.extend(ddns::targets(old).into_iter().filter(is_super));
    list
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
/// does not use VPP's API, so it prints the `vpp` CLI an operator runs. At
/// WARN: until someone runs it, no frame crosses the memif (and a log at
/// INFO is easily filtered out), so it is an action the operator must take.
fn log_vpp_cli(spec: &IfaceSpec, bridge_id: u32) {
    let m = &spec.memif;
    let lines = egd_ifaces::memif::vpp::cli_lines(&m.socket, m.id, m.role, bridge_id, spec.mtu);
    let bridge = if bridge_id == 0 {
        "VPPBridgeID 0: no bridge domain".to_owned()
    } else {
        format!("put it in bridge domain {bridge_id} (VPPBridgeID)")
    };
    tracing::warn!(
        target: target::NORMAL,
        "egd does not configure VPP: run these in vppctl to create VPP's end of memif id {} on {} (egd is {:?}) and {bridge}:",
        m.id,
        m.socket.display(),
        m.role
    );
    for line in lines {
        tracing::warn!(target: target::NORMAL, "  vpp# {line}");
    }
}

/// A locally administered unicast MAC for a node without a configured prefix.
fn default_mac(node: u16) -> [u8; 6] {
    let b = node.to_be_bytes();
    [0x02, 0x00, 0x00, 0x00, b[0], b[1]]
}
