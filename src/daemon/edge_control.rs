//! An edge's super-mode control plane in the daemon: the sans-IO
//! [`EdgeSync`] on the reactor thread, and a worker thread that makes the
//! (blocking) Edge API calls, so HTTP never stalls the data path. Answers
//! come back over a channel, and a [`Waker`] wakes the reactor to apply
//! them.
//!
//! Drive it from the loop: watch [`EdgeControl::wake_fd`]; pass every node
//! event to [`EdgeControl::on_event`]; call [`EdgeControl::on_timeout`] when
//! [`EdgeControl::poll_timeout`] is due and [`EdgeControl::on_wake`] when the
//! fd fires; stop when [`EdgeControl::shutdown`] says so.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::RawFd;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Instant;

use super::http::CallError;
use super::wake::{self, WakeHandle, Waker};
use crate::config::{EdgeConfig, Endpoint};
use crate::control::api::{NhTableInfo, NodeInfo, PeerInfo, SuperParams};
use crate::control::edge_sync::{EdgeRequest, EdgeSync, EdgeSyncConfig, Fetch};
use crate::control::endpoints::FamilyPolicy;
use crate::logging::target;
use crate::node::{Node, NodeEvent};

/// The Edge API as the worker thread calls it (blocking, with timeouts).
/// Errors say whether the supernode was unreachable, refused the call
/// (its status) or answered something unreadable.
pub trait EdgeApiCalls: Send + 'static {
    fn peer_info(&mut self) -> Result<PeerInfo, CallError>;
    fn nh_table(&mut self) -> Result<NhTableInfo, CallError>;
    fn super_params(&mut self) -> Result<SuperParams, CallError>;
    fn post_node_info(&mut self, info: &NodeInfo) -> Result<(), CallError>;
}

/// Calls waiting for the worker; more fail at once (they are retried).
const JOB_QUEUE: usize = 16;

enum Job {
    Fetch(Fetch),
    Post(NodeInfo),
}

enum Answer {
    PeerInfo(PeerInfo),
    NhTable(NhTableInfo),
    Params(SuperParams),
    Failed(Fetch, CallError),
    PostFailed(CallError),
}

pub struct EdgeControl {
    sync: EdgeSync,
    jobs: SyncSender<Job>,
    answers: Receiver<Answer>,
    waker: Waker,
    config_path: Option<PathBuf>,
    shutdown: Option<String>,
    info_timeout: std::time::Duration,
}

impl std::fmt::Debug for EdgeControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeControl").finish_non_exhaustive()
    }
}

impl EdgeControl {
    /// Starts the worker thread with `api`. `listen_port` is the edge's UDP
    /// port (local endpoints are reported with it).
    pub fn start(
        cfg: &EdgeConfig,
        listen_port: u16,
        api: Box<dyn EdgeApiCalls>,
        now: Instant,
        config_path: Option<PathBuf>,
    ) -> std::io::Result<Self> {
        let (waker, wake_handle) = wake::pair()?;
        let (jobs, job_rx) = sync_channel(JOB_QUEUE);
        let (answer_tx, answers) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("egd-edge-api".into())
            .spawn(move || worker(api, job_rx, answer_tx, wake_handle))?;
        let dr = &cfg.dynamic_route;
        // Host names are pinned once the resolver thread has an address
        // (`Ddns` calls `set_pinned`); DNS never runs on this thread.
        let pinned: BTreeMap<_, _> = cfg
            .peers
            .iter()
            .filter(|p| p.is_static)
            .filter_map(|p| match &p.endpoint {
                Some(Endpoint::Addr(a)) => Some((p.node_id, *a)),
                Some(Endpoint::Host { .. }) | None => None,
            })
            .collect();
        let sync = EdgeSync::new(
            EdgeSyncConfig {
                node_id: cfg.node_id,
                send_ping_interval: dr.send_ping_interval,
                // Until the supernode's value arrives (it is fetched at once).
                http_post_interval: dr.send_ping_interval * 3,
                peer_alive_timeout: dr.peer_alive_timeout,
                conn_next_try: dr.conn_next_try,
                reset_endpoint_interval: cfg.reset_endpoint_interval,
                local_endpoints: local_endpoints(cfg, listen_port),
                pinned,
                save_new_peers: dr.save_new_peers,
                families: FamilyPolicy::new(&cfg.address_families, cfg.af_prefer),
            },
            now,
        );
        Ok(Self {
            sync,
            jobs,
            answers,
            waker,
            config_path,
            shutdown: None,
            info_timeout: cfg.dynamic_route.super_node.info_timeout,
        })
    }

    /// The edge's side of the supernode protocol.
    pub fn sync(&self) -> &EdgeSync {
        &self.sync
    }

    /// `SuperNodeInfoTimeout`.
    pub fn info_timeout(&self) -> std::time::Duration {
        self.info_timeout
    }

    pub fn wake_fd(&self) -> RawFd {
        self.waker.fd()
    }

    /// Why the supernode ordered this edge to stop, once it has.
    pub fn shutdown(&self) -> Option<&str> {
        self.shutdown.as_deref()
    }

    pub fn on_event(&mut self, now: Instant, node: &mut Node, event: &NodeEvent) {
        self.sync.handle_event(now, node, event);
        self.drain(node);
    }

    pub fn on_timeout(&mut self, now: Instant, node: &mut Node) {
        self.sync.handle_timeout(now, node);
        self.drain(node);
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.sync.poll_timeout()
    }

    /// A configured `Static` peer's host name resolved to `addr`: the
    /// supernode's candidates must not replace it.
    pub fn set_pinned(&mut self, node: &mut Node, id: crate::NodeId, addr: SocketAddr) {
        self.sync.set_pinned(node, id, addr);
    }

    /// The worker answered: apply what it fetched.
    pub fn on_wake(&mut self, now: Instant, node: &mut Node) {
        self.waker.drain();
        while let Ok(a) = self.answers.try_recv() {
            match a {
                Answer::PeerInfo(info) => {
                    tracing::info!(target: target::CONTROL, "peer list {:016x}: {} peer(s)", info.state_hash, info.peers.len());
                    self.sync.handle_peer_info(now, node, &info);
                }
                Answer::NhTable(t) => {
                    tracing::info!(target: target::CONTROL, "next-hop table {:016x}", t.state_hash);
                    self.sync.handle_nh_table(now, node, &t);
                }
                Answer::Params(p) => {
                    tracing::info!(target: target::CONTROL, "supernode parameters {:016x}: ping every {} s", p.state_hash, p.send_ping_interval_s);
                    self.sync.handle_super_params(now, node, &p);
                }
                Answer::Failed(what, e) => {
                    tracing::warn!(target: target::CONTROL, "Edge API {what:?}: {e}");
                    self.sync.handle_fetch_failed(what);
                }
                Answer::PostFailed(e) => {
                    tracing::warn!(target: target::CONTROL, "Edge API post: {e}");
                }
            }
        }
        self.drain(node);
    }

    fn drain(&mut self, _node: &mut Node) {
        while let Some(req) = self.sync.poll_request() {
            match req {
                EdgeRequest::Fetch(what) => {
                    if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
                        self.jobs.try_send(Job::Fetch(what))
                    {
                        self.sync.handle_fetch_failed(what);
                    }
                }
                EdgeRequest::PostNodeInfo(info) => {
                    let _ = self.jobs.try_send(Job::Post(info));
                }
                EdgeRequest::Shutdown { code, reason } => {
                    tracing::error!(target: target::CONTROL, "the supernode ordered this edge to shut down (code {code}): {reason}");
                    self.shutdown = Some(reason);
                }
                EdgeRequest::SavePeers(peers) => {
                    if let Some(path) = &self.config_path {
                        save_peers(path, &peers);
                    }
                }
            }
        }
    }
}

fn save_peers(path: &std::path::Path, peers: &[crate::config::EdgePeer]) {
    match crate::config::save_edge_peers(path, peers) {
        Ok(()) => {
            tracing::info!(target: target::CONTROL, "SaveNewPeers: {} peer(s) written to {}", peers.len(), path.display())
        }
        Err(e) => tracing::warn!(target: target::CONTROL, "SaveNewPeers: {e}"),
    }
}

fn worker(
    mut api: Box<dyn EdgeApiCalls>,
    jobs: Receiver<Job>,
    answers: std::sync::mpsc::Sender<Answer>,
    wake: WakeHandle,
) {
    while let Ok(job) = jobs.recv() {
        let answer = match job {
            Job::Fetch(Fetch::PeerInfo) => api
                .peer_info()
                .map_or_else(|e| Answer::Failed(Fetch::PeerInfo, e), Answer::PeerInfo),
            Job::Fetch(Fetch::NhTable) => api
                .nh_table()
                .map_or_else(|e| Answer::Failed(Fetch::NhTable, e), Answer::NhTable),
            Job::Fetch(Fetch::SuperParams) => api
                .super_params()
                .map_or_else(|e| Answer::Failed(Fetch::SuperParams, e), Answer::Params),
            Job::Post(info) => match api.post_node_info(&info) {
                Ok(()) => continue,
                Err(e) => Answer::PostFailed(e),
            },
        };
        if answers.send(answer).is_err() {
            return;
        }
        wake.wake();
    }
}

/// This host's addresses other peers on the same LAN may reach the edge at
/// (unless `SkipLocalIP`), plus `AdditionalLocalIP`, with the UDP port.
fn local_endpoints(cfg: &EdgeConfig, port: u16) -> Vec<SocketAddr> {
    let link = &cfg.dynamic_route.super_node;
    let mut ips: Vec<IpAddr> = Vec::new();
    if !link.skip_local_ip {
        match if_addrs::get_if_addrs() {
            Ok(addrs) => {
                for a in addrs {
                    let ip = a.ip();
                    // Not the tunnel's own interface, loopback or link-local.
                    let link_local = match ip {
                        IpAddr::V4(v4) => v4.is_link_local(),
                        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
                    };
                    if a.name != cfg.interface.name && !ip.is_loopback() && !link_local {
                        ips.push(ip);
                    }
                }
            }
            Err(e) => tracing::warn!(target: target::CONTROL, "local addresses: {e}"),
        }
    }
    ips.extend(link.additional_local_ip.iter().copied());
    let af = &cfg.address_families;
    ips.retain(|ip| if ip.is_ipv4() { af.ipv4 } else { af.ipv6 });
    ips.sort();
    ips.dedup();
    ips.into_iter()
        .map(|ip| SocketAddr::new(ip, port))
        .collect()
}

impl EdgeApiCalls for super::http::client::EdgeApiClient {
    fn peer_info(&mut self) -> Result<PeerInfo, CallError> {
        super::http::client::EdgeApiClient::peer_info(self)
    }

    fn nh_table(&mut self) -> Result<NhTableInfo, CallError> {
        super::http::client::EdgeApiClient::nh_table(self)
    }

    fn super_params(&mut self) -> Result<SuperParams, CallError> {
        super::http::client::EdgeApiClient::super_params(self)
    }

    fn post_node_info(&mut self, info: &NodeInfo) -> Result<(), CallError> {
        super::http::client::EdgeApiClient::post_node_info(self, info)
    }
}
