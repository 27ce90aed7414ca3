//! An edge's Edge API calls in the daemon: a worker thread makes the
//! (blocking) calls the sans-IO [`Edge`](crate::control::edge::Edge) asks
//! for, so HTTP never stalls the data path. Answers come back over a
//! channel, and a [`Waker`] wakes the reactor to hand them to the edge.
//!
//! Drive it from the loop: watch [`ApiWorker::wake_fd`]; give it every
//! request the edge polls ([`ApiWorker::submit`], which answers at once
//! when a fetch cannot be queued); when the fd fires, call
//! [`ApiWorker::drain_wake`] and hand each [`ApiWorker::poll_answer`] to
//! the edge; stop when [`ApiWorker::shutdown`] says so.

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
use crate::control::edge::Answer;
use crate::control::edge_sync::{EdgeRequest, EdgeSync, EdgeSyncConfig, Fetch};
use crate::control::endpoints::FamilyPolicy;
use crate::logging::target;

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

enum WorkerAnswer {
    PeerInfo(PeerInfo),
    NhTable(NhTableInfo),
    Params(SuperParams),
    Failed(Fetch, CallError),
    PostFailed(CallError),
}

/// Carries an edge's Edge API calls to the worker thread and its answers
/// back, and does the process-level requests (shutdown, `SaveNewPeers`).
pub struct ApiWorker {
    jobs: SyncSender<Job>,
    answers: Receiver<WorkerAnswer>,
    waker: Waker,
    config_path: Option<PathBuf>,
    shutdown: Option<String>,
}

impl std::fmt::Debug for ApiWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiWorker").finish_non_exhaustive()
    }
}

/// The edge's side of the supernode protocol, from its config.
/// `listen_port` is the edge's UDP port (local endpoints are reported
/// with it).
pub fn edge_sync(cfg: &EdgeConfig, listen_port: u16, now: Instant) -> EdgeSync {
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
    EdgeSync::new(
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
    )
}

impl ApiWorker {
    /// Starts the worker thread with `api`; `config_path` is where
    /// `SaveNewPeers` writes.
    pub fn start(
        api: Box<dyn EdgeApiCalls>,
        config_path: Option<PathBuf>,
    ) -> std::io::Result<Self> {
        let (waker, wake_handle) = wake::pair()?;
        let (jobs, job_rx) = sync_channel(JOB_QUEUE);
        let (answer_tx, answers) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("egd-edge-api".into())
            .spawn(move || worker(api, job_rx, answer_tx, wake_handle))?;
        Ok(Self {
            jobs,
            answers,
            waker,
            config_path,
            shutdown: None,
        })
    }

    pub fn wake_fd(&self) -> RawFd {
        self.waker.fd()
    }

    /// Why the supernode ordered this edge to stop, once it has.
    pub fn shutdown(&self) -> Option<&str> {
        self.shutdown.as_deref()
    }

    /// The fd fired: clears it (then take the answers).
    pub fn drain_wake(&self) {
        self.waker.drain();
    }

    /// The next answer for the edge, logged (a failed post is only logged).
    #[must_use]
    pub fn poll_answer(&mut self) -> Option<Answer> {
        loop {
            let a = match self.answers.try_recv().ok()? {
                WorkerAnswer::PeerInfo(info) => {
                    tracing::info!(target: target::CONTROL, "peer list {:016x}: {} peer(s)", info.state_hash, info.peers.len());
                    Answer::PeerInfo(info)
                }
                WorkerAnswer::NhTable(t) => {
                    tracing::info!(target: target::CONTROL, "next-hop table {:016x}", t.state_hash);
                    Answer::NhTable(t)
                }
                WorkerAnswer::Params(p) => {
                    tracing::info!(target: target::CONTROL, "supernode parameters {:016x}: ping every {} s", p.state_hash, p.send_ping_interval_s);
                    Answer::SuperParams(p)
                }
                WorkerAnswer::Failed(what, e) => {
                    tracing::warn!(target: target::CONTROL, "Edge API {what:?}: {e}");
                    Answer::Failed(what)
                }
                WorkerAnswer::PostFailed(e) => {
                    tracing::warn!(target: target::CONTROL, "Edge API post: {e}");
                    continue;
                }
            };
            return Some(a);
        }
    }

    /// Carries out one of the edge's requests; a fetch the worker cannot
    /// take now fails at once, and that answer is for the edge.
    #[must_use]
    pub fn submit(&mut self, req: EdgeRequest) -> Option<Answer> {
        match req {
            EdgeRequest::Fetch(what) => {
                if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
                    self.jobs.try_send(Job::Fetch(what))
                {
                    return Some(Answer::Failed(what));
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
        None
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
    answers: std::sync::mpsc::Sender<WorkerAnswer>,
    wake: WakeHandle,
) {
    while let Ok(job) = jobs.recv() {
        let answer = match job {
            Job::Fetch(Fetch::PeerInfo) => api.peer_info().map_or_else(
                |e| WorkerAnswer::Failed(Fetch::PeerInfo, e),
                WorkerAnswer::PeerInfo,
            ),
            Job::Fetch(Fetch::NhTable) => api.nh_table().map_or_else(
                |e| WorkerAnswer::Failed(Fetch::NhTable, e),
                WorkerAnswer::NhTable,
            ),
            Job::Fetch(Fetch::SuperParams) => api.super_params().map_or_else(
                |e| WorkerAnswer::Failed(Fetch::SuperParams, e),
                WorkerAnswer::Params,
            ),
            Job::Post(info) => match api.post_node_info(&info) {
                Ok(()) => continue,
                Err(e) => WorkerAnswer::PostFailed(e),
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
