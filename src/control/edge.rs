//! One edge's whole control plane, sans-IO: super mode's [`EdgeSync`],
//! P2P mode's [`P2pSync`], or both (super mode with P2P as the fallback),
//! and the choice of which table the node routes on. The daemon and the
//! simulated network drive this one type, so the wiring between the
//! machines exists once.
//!
//! The [`Node`] stays outside and is lent to every handler: the daemon's
//! data-path threads lock the node alone, without the control plane.
//!
//! Every handler ends with the table choice: super mode with P2P routes on
//! the edge's own P2P table while the supernode is silent for
//! `info_timeout` (`SuperNodeInfoTimeout`) or absent, and on the
//! supernode's table otherwise; the switch replaces the table in one step,
//! so no frame is lost to it.
//!
//! # How to drive it
//!
//! ```text
//! let mut edge = Edge::new(sync, p2p, info_timeout);
//! loop {
//!     // wait for the node, the Edge API worker or
//!     // min(node.poll_timeout(), edge.poll_timeout())
//!     let now = clock();
//!     if edge.poll_timeout().is_some_and(|t| t <= now) {
//!         edge.handle_timeout(now, &mut node);
//!     }
//!     for answer in answers_from_the_edge_api() {
//!         edge.handle_answer(now, &mut node, answer);
//!     }
//!     while let Some(e) = node.poll_event() {
//!         edge.handle_event(now, &mut node, &e);
//!     }
//!     while let Some(r) = edge.poll_request() {
//!         // Fetch / PostNodeInfo: to the Edge API (a fetch that fails
//!         // comes back as `Answer::Failed`); Shutdown: stop the edge;
//!         // SavePeers: write the config's peers.
//!     }
//!     while let Some(e) = edge.poll_event() {
//!         // log the table choice
//!     }
//! }
//! ```

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::api::{NhTableInfo, PeerInfo, SuperParams};
use super::edge_sync::{EdgeRequest, EdgeSync, Fetch};
use super::p2p::P2pSync;
use crate::NodeId;
use crate::node::{Node, NodeEvent};

/// An Edge API call's outcome, handed back to [`Edge::handle_answer`].
#[derive(Debug, Clone)]
pub enum Answer {
    PeerInfo(PeerInfo),
    NhTable(NhTableInfo),
    SuperParams(SuperParams),
    /// The fetch failed (or could not be made); it is retried.
    Failed(Fetch),
}

/// What the edge decided, for the owner's logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeEvent {
    /// The supernode is silent (or absent): the node now routes on this
    /// edge's own P2P table.
    OwnTable,
    /// The supernode answers: the node now routes on its table.
    SupernodeTable,
}

/// An edge's control plane: see the module doc.
#[derive(Debug)]
pub struct Edge {
    sync: Option<EdgeSync>,
    p2p: Option<P2pSync>,
    info_timeout: Duration,
    events: VecDeque<EdgeEvent>,
}

impl Edge {
    /// `sync`: super mode's side of the supernode protocol; `p2p`: P2P
    /// mode (alone, or as super mode's fallback); `info_timeout`:
    /// `SuperNodeInfoTimeout`, how long a silent supernode's table stays
    /// in force when `p2p` can take over.
    pub fn new(sync: Option<EdgeSync>, p2p: Option<P2pSync>, info_timeout: Duration) -> Self {
        Self {
            sync,
            p2p,
            info_timeout,
            events: VecDeque::new(),
        }
    }

    /// The edge's side of the supernode protocol (super mode).
    pub fn sync(&self) -> Option<&EdgeSync> {
        self.sync.as_ref()
    }

    /// P2P mode's machine, when on.
    pub fn p2p(&self) -> Option<&P2pSync> {
        self.p2p.as_ref()
    }

    /// `SuperNodeInfoTimeout`.
    pub fn info_timeout(&self) -> Duration {
        self.info_timeout
    }

    /// An event of the node this edge drives.
    pub fn handle_event(&mut self, now: Instant, node: &mut Node, event: &NodeEvent) {
        if let Some(s) = self.sync.as_mut() {
            s.handle_event(now, node, event);
        }
        if let Some(p) = self.p2p.as_mut() {
            p.handle_event(now, node, event);
        }
        self.choose_table(now, node);
    }

    /// Runs the timers that are due; early calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant, node: &mut Node) {
        if let Some(s) = self.sync.as_mut()
            && s.poll_timeout().is_some_and(|t| t <= now)
        {
            s.handle_timeout(now, node);
        }
        if let Some(p) = self.p2p.as_mut()
            && p.poll_timeout().is_some_and(|t| t <= now)
        {
            p.handle_timeout(now, node);
        }
        self.choose_table(now, node);
    }

    /// An Edge API answer to a [`EdgeRequest::Fetch`].
    pub fn handle_answer(&mut self, now: Instant, node: &mut Node, answer: Answer) {
        if let Some(s) = self.sync.as_mut() {
            match answer {
                Answer::PeerInfo(info) => s.handle_peer_info(now, node, &info),
                Answer::NhTable(t) => s.handle_nh_table(now, node, &t),
                Answer::SuperParams(p) => s.handle_super_params(now, node, &p),
                Answer::Failed(what) => s.handle_fetch_failed(what),
            }
        }
        self.choose_table(now, node);
    }

    /// A configured `Static` peer's host name resolved to `addr`: the
    /// supernode's candidates must not replace it (without super mode the
    /// node takes the address as is).
    pub fn set_pinned(&mut self, node: &mut Node, id: NodeId, addr: SocketAddr) {
        match self.sync.as_mut() {
            Some(s) => s.set_pinned(node, id, addr),
            None => node.set_endpoint(id, addr),
        }
    }

    /// Work for the owner: Edge API calls and process-level actions.
    #[must_use]
    pub fn poll_request(&mut self) -> Option<EdgeRequest> {
        self.sync.as_mut().and_then(EdgeSync::poll_request)
    }

    /// When [`Edge::handle_timeout`] is next due: a machine's timer, or
    /// the instant a silent supernode's table gives way to the own one.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let s = self.sync.as_ref().and_then(EdgeSync::poll_timeout);
        let p = self.p2p.as_ref().and_then(P2pSync::poll_timeout);
        let fallback = match (&self.sync, &self.p2p) {
            (Some(s), Some(p)) if !p.is_active() => s.silent_at(self.info_timeout),
            _ => None,
        };
        s.into_iter().chain(p).chain(fallback).min()
    }

    /// What the edge decided since last asked.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<EdgeEvent> {
        self.events.pop_front()
    }

    /// The own P2P table while the supernode is silent (or absent), the
    /// supernode's otherwise; nothing without P2P.
    fn choose_table(&mut self, now: Instant, node: &mut Node) {
        let Some(p2p) = self.p2p.as_mut() else {
            return;
        };
        let sync = self.sync.as_ref();
        let own = sync.is_none_or(|s| !s.supernode_alive(now, self.info_timeout));
        if own == p2p.is_active() {
            return;
        }
        p2p.set_active(own, node);
        if let (false, Some(s)) = (own, sync) {
            s.reinstall_table(node);
        }
        self.events.push_back(if own {
            EdgeEvent::OwnTable
        } else {
            EdgeEvent::SupernodeTable
        });
    }
}
