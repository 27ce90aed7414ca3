//! Running a supernode (`--mode super`): one UDP socket and one node per
//! address family (separate keys, so every edge registers through both and
//! the supernode learns both its external addresses), the sans-IO
//! [`SuperCore`] shared with the HTTP thread, and the loop that joins them.
//! The supernode never relays user frames.
//!
//! Loop: wait for datagrams, a wake-up from the HTTP thread, or the next
//! timer → feed the nodes → hand their control messages to the core → carry
//! out the core's outputs on the nodes (notices, peers added/removed) and
//! write the peer list back when it changed → send.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use egd_uring::{Completion, Reactor, SocketId, WatchId};

pub use self::core::{SharedCore, lock};
use super::edge::RunOptions;
use super::error::RunError;
use super::shell::{self, Shell};
use super::{clock, entropy, metrics, sockets, wake};
use crate::NodeId;
use crate::config::{SuperConfig, SuperPeer};
use crate::control::super_core::{Family, Params, SuperCore, SuperCoreConfig, apply_output};
use crate::logging::target;
use crate::node::{Node, NodeConfig, NodeEvent};
use api::SuperApiImpl;

mod api;
mod core;

/// Longest the loop sleeps, so signals are noticed promptly.
const MAX_SLEEP: Duration = Duration::from_millis(200);
/// How often `systemctl status` learns how the supernode is doing (with
/// every publishing round).
const STATUS_PERIOD: Duration = Duration::from_secs(1);
/// A control message never needs more than this (the supernode's nodes
/// carry no frames).
const MAX_FRAME_LEN: usize = 1514;

/// Runs a supernode until SIGTERM/SIGINT.
pub fn run(cfg: &SuperConfig, opts: &RunOptions) -> Result<(), RunError> {
    let mut p = SuperProcess::setup(cfg, opts)?;
    while p.shell.running() {
        p.step()?;
    }
    p.shell.stopping();
    Ok(())
}

/// A running supernode: everything its loop drives. Fields drop in
/// order, the HTTP thread first.
struct SuperProcess {
    _http: super::http::HttpHandle,
    running_cfg: SuperConfig,
    saver: Option<PathBuf>,
    wake_watch: WatchId,
    waker: wake::Waker,
    core: SharedCore,
    nodes: Vec<(SocketId, Family, Node)>,
    reactor: Box<dyn Reactor>,
    shell: Shell,
}

impl SuperProcess {
    /// Everything up to `READY=1`: sockets, reactor, the nodes, metrics,
    /// the core and its HTTP APIs.
    fn setup(cfg: &SuperConfig, opts: &RunOptions) -> Result<Self, RunError> {
        let mut shell = Shell::start(STATUS_PERIOD, clock::now())?;
        let bound = sockets::bind(&cfg.address_families, cfg.listen_port, cfg.fwmark)
            .map_err(RunError::Socket)?;
        tracing::info!(target: target::NORMAL, "supernode {} listening on UDP port {}", cfg.node_name, bound.port);
        let mut reactor = shell::reactor(opts.backend)?;
        let now = clock::now();
        let nodes = add_nodes(cfg, reactor.as_mut(), bound, now)?;
        tracing::info!(target: target::INTERNAL, "I/O: {}", reactor.features());
        shell::serve_metrics(opts.metrics_listen, cfg.metrics)?;

        let core = SuperCore::new(core_config(cfg), cfg.peers.clone(), now);
        let core: SharedCore = Arc::new(Mutex::new(core));
        let (waker, wake_handle) = wake::pair().map_err(|source| RunError::Wake {
            what: "wake-up pair",
            source,
        })?;
        let wake_watch = reactor
            .watch_readable(waker.fd())
            .map_err(RunError::Watch)?;
        let api = SuperApiImpl::new(cfg, Arc::clone(&core), wake_handle);
        let http =
            super::http::spawn(api::http_config(cfg), Arc::new(api)).map_err(RunError::HttpApi)?;
        tracing::info!(target: target::NORMAL, "Edge API on port {}, Manage API on port {}, prefix {}", cfg.edge_api_port, cfg.manage_api_port, cfg.api_prefix);
        // Once, with the UDP sockets and HTTP listeners up (as upstream), and
        // before privileges are dropped (as the edge's).
        super::post_script::run_super(cfg);

        shell::drop_privileges(super::privdrop::Role::Super)?;
        shell.ready(now, &status_line(&lock(&core)));
        Ok(Self {
            shell,
            reactor,
            nodes,
            core,
            waker,
            wake_watch,
            _http: http,
            saver: opts.config_path.clone(),
            running_cfg: cfg.clone(),
        })
    }

    /// One round of the loop: reload, wait, feed the nodes and the core,
    /// send, publish.
    fn step(&mut self) -> Result<(), RunError> {
        let (core, running_cfg) = (&self.core, &mut self.running_cfg);
        self.shell.take_reload(self.saver.as_deref(), |path| {
            let new = super::reload::supernode(path, running_cfg, &mut lock(core), clock::now());
            if let Some(new) = new {
                *running_cfg = new;
            }
            status_line(&lock(core))
        });
        let now = self.wait()?;
        let unix_now = clock::unix_now();
        for (_, _, n) in &mut self.nodes {
            if n.poll_timeout().is_some_and(|(t, _)| t <= now) {
                n.handle_timeout(now);
            }
        }
        let to_save = step_core(&self.core, &mut self.nodes, now, unix_now);
        if let (Some(peers), Some(path)) = (to_save, &self.saver) {
            save(path, &peers);
        }
        self.send();
        let ticks = self.shell.tick(now);
        if ticks.publish {
            for (_, _, n) in &self.nodes {
                metrics::publish(n);
            }
            metrics::publish_super(&lock(&self.core));
        }
        if ticks.status {
            shell::status(&status_line(&lock(&self.core)));
        }
        Ok(())
    }

    /// Waits for datagrams, a wake-up from the HTTP thread or the next
    /// timer, and feeds the datagrams to their nodes (the clock is read
    /// once, at the first of them); returns the time after the wait.
    fn wait(&mut self) -> Result<Instant, RunError> {
        let now = clock::now();
        let mut deadline = now + MAX_SLEEP;
        for (_, _, n) in &self.nodes {
            if let Some((t, _)) = n.poll_timeout() {
                deadline = deadline.min(t);
            }
        }
        if let Some(t) = lock(&self.core).poll_timeout() {
            deadline = deadline.min(t);
        }
        let mut woken = false;
        let mut woke_at = None;
        let (nodes, wake_watch) = (&mut self.nodes, self.wake_watch);
        self.reactor
            .wait(Some(deadline), &mut |c| match c {
                Completion::Datagram {
                    socket,
                    from,
                    payload,
                } => {
                    if let Some((_, _, n)) = nodes.iter_mut().find(|(s, _, _)| *s == socket) {
                        n.handle_datagram(*woke_at.get_or_insert_with(clock::now), from, payload);
                    }
                }
                Completion::Readable(id) if id == wake_watch => woken = true,
                Completion::Readable(_) | Completion::Timeout => {}
            })
            .map_err(RunError::Wait)?;
        if woken {
            self.waker.drain();
        }
        Ok(clock::now())
    }

    /// Sends what the nodes have to send.
    fn send(&mut self) {
        for (socket, _, n) in &mut self.nodes {
            while let Some(t) = n.poll_transmit() {
                // The supernode's nodes never defer their crypto: every
                // datagram is sealed already.
                if t.seal.is_some() {
                    continue;
                }
                if let Err(e) = self.reactor.queue_send(*socket, t.dst, t.payload) {
                    tracing::debug!(target: target::TRANSIT, "send to {}: {e}", t.dst);
                }
            }
            // The supernode has no interface: a frame sent to it is dropped.
            while n.poll_frame().is_some() {}
        }
        if let Err(e) = self.reactor.flush() {
            tracing::debug!(target: target::TRANSIT, "flush: {e}");
        }
    }
}

/// One node per address family with a socket, each with its own key.
fn add_nodes(
    cfg: &SuperConfig,
    reactor: &mut dyn Reactor,
    bound: sockets::Bound,
    now: Instant,
) -> Result<Vec<(SocketId, Family, Node)>, RunError> {
    let unix_now = clock::unix_now();
    let mut nodes = Vec::new();
    let sessions = [
        (bound.v4, Family::V4, &cfg.private_key_v4),
        (bound.v6, Family::V6, &cfg.private_key_v6),
    ];
    for (socket, family, key) in sessions {
        let Some(socket) = socket else { continue };
        let id = reactor.add_udp(socket).map_err(RunError::AddSocket)?;
        let seed = entropy::random_32().map_err(RunError::Randomness)?;
        let node_cfg = NodeConfig {
            id: NodeId::SUPERNODE,
            private_key: key.clone(),
            peers: Vec::new(),
            default_ttl: 1,
            l2_fib_timeout: std::time::Duration::from_secs(1),
            max_frame_len: MAX_FRAME_LEN,
            next_hops: egd_routing::NextHopTable::new(),
            dup_check_timeout: std::time::Duration::from_secs(1),
            ping_interval: None,
        };
        nodes.push((id, family, Node::new(node_cfg, seed, now, unix_now)));
    }
    Ok(nodes)
}

/// One line for systemd: how many edges are online.
fn status_line(core: &SuperCore) -> String {
    let peers = core.peers();
    let online = peers.iter().filter(|p| core.is_online(p.node_id)).count();
    format!(
        "supernode: {online}/{} edges online, table {:016x}",
        peers.len(),
        core.next_hop_table().state_hash().0
    )
}

/// Feeds the nodes' events to the core, runs its timers, and carries out
/// its outputs; returns the peer list when it must be saved.
fn step_core(
    core: &SharedCore,
    nodes: &mut [(SocketId, Family, Node)],
    now: Instant,
    unix_now: std::time::Duration,
) -> Option<Vec<SuperPeer>> {
    let mut core = lock(core);
    let solves = core.solves();
    let started = clock::now();
    for (_, family, n) in nodes.iter_mut() {
        while let Some(e) = n.poll_event() {
            match e {
                NodeEvent::Control {
                    from_peer,
                    src,
                    kind,
                    body,
                    ..
                } => {
                    let endpoint = n.endpoint(from_peer);
                    core.handle_control(
                        now, unix_now, *family, from_peer, src, endpoint, kind, &body,
                    );
                }
                other => tracing::debug!(target: target::CONTROL, "{family:?}: {other:?}"),
            }
        }
    }
    if core.poll_timeout().is_some_and(|t| t <= now) {
        core.handle_timeout(now);
    }
    if core.solves() > solves {
        metrics::record_solve(started.elapsed().as_secs_f64());
    }
    let mut save = None;
    while let Some(out) = core.poll_output() {
        let mut refs: Vec<&mut Node> = nodes.iter_mut().map(|(_, _, n)| n).collect();
        if let Some(peers) = apply_output(now, &mut refs, out) {
            save = Some(peers);
        }
    }
    save
}

fn save(path: &std::path::Path, peers: &[SuperPeer]) {
    match crate::config::save_super_peers(path, peers) {
        Ok(()) => {
            tracing::info!(target: target::CONTROL, "{} peer(s) written to {}", peers.len(), path.display())
        }
        Err(e) => tracing::error!(target: target::CONTROL, "saving peers: {e}"),
    }
}

/// The core's settings from the supernode config.
pub fn core_config(cfg: &SuperConfig) -> SuperCoreConfig {
    SuperCoreConfig {
        private_key_v4: cfg.private_key_v4.clone(),
        private_key_v6: cfg.private_key_v6.clone(),
        use_psk_for_inter_edge: cfg.use_psk_for_inter_edge,
        repush_interval: cfg.repush_config_interval,
        params: Params {
            send_ping_interval: cfg.send_ping_interval,
            http_post_interval: cfg.http_post_interval,
            peer_alive_timeout: cfg.peer_alive_timeout,
            damping_filter_radius: cfg.damping_filter_radius,
        },
        graph: cfg.graph.clone(),
        next_hop_table: cfg.next_hop_table.clone(),
    }
}
