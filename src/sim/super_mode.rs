//! Super mode in the simulated network: [`SimSuper`] runs a
//! [`SuperCore`] on the supernode host's node, [`SimEdge`] an [`EdgeSync`]
//! on an edge's. The Edge API is a direct call into the shared core (the
//! HTTP layer is tested on its own), so a whole super-mode network runs on
//! the virtual clock.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::Controller;
use crate::NodeId;
use crate::control::choose_table;
use crate::control::edge_sync::{EdgeRequest, EdgeSync, Fetch};
use crate::control::p2p::P2pSync;
use crate::control::super_core::{Family, SuperCore, apply_output};
use crate::node::{Node, NodeEvent};

/// The supernode's control plane on its host.
#[derive(Debug)]
pub struct SimSuper {
    pub core: Rc<RefCell<SuperCore>>,
    /// How many times the peer list would have been saved.
    pub saves: usize,
}

impl SimSuper {
    pub fn new(core: SuperCore) -> Self {
        Self {
            core: Rc::new(RefCell::new(core)),
            saves: 0,
        }
    }

    fn drain(&mut self, now: Instant, node: &mut Node) {
        loop {
            let Some(out) = self.core.borrow_mut().poll_output() else {
                return;
            };
            if apply_output(now, &mut [node], out).is_some() {
                self.saves += 1;
            }
        }
    }
}

impl Controller for SimSuper {
    fn on_event(&mut self, now: Instant, unix_now: Duration, node: &mut Node, event: &NodeEvent) {
        if let NodeEvent::Control {
            from_peer,
            src,
            kind,
            body,
            ..
        } = event
        {
            let endpoint = node.endpoint(*from_peer);
            self.core.borrow_mut().handle_control(
                now,
                unix_now,
                Family::V4,
                *from_peer,
                *src,
                endpoint,
                *kind,
                body,
            );
        }
        self.drain(now, node);
    }

    fn on_timeout(&mut self, now: Instant, _unix_now: Duration, node: &mut Node) {
        self.core.borrow_mut().handle_timeout(now);
        self.drain(now, node);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.core.borrow().poll_timeout()
    }

    fn as_any(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

/// An edge's control plane on its host, with the Edge API answered by the
/// supernode's core directly.
#[derive(Debug)]
pub struct SimEdge {
    pub sync: EdgeSync,
    pub api: Rc<RefCell<SuperCore>>,
    pub id: NodeId,
    /// Set when the supernode ordered a shutdown: (code, reason).
    pub shutdown: Option<(i32, String)>,
    /// Whether the Edge API answers (false: fetches and posts fail).
    pub api_up: bool,
    /// P2P alongside (the fallback when the supernode is silent).
    pub p2p: Option<P2pSync>,
    /// `SuperNodeInfoTimeout`.
    pub info_timeout: Duration,
}

impl SimEdge {
    pub fn new(sync: EdgeSync, api: Rc<RefCell<SuperCore>>, id: NodeId) -> Self {
        Self {
            sync,
            api,
            id,
            shutdown: None,
            api_up: true,
            p2p: None,
            info_timeout: Duration::from_secs(50),
        }
    }

    fn choose(&mut self, now: Instant, node: &mut Node) {
        if let Some(p) = self.p2p.as_mut() {
            choose_table(now, Some(&self.sync), self.info_timeout, p, node);
        }
    }

    fn drain(&mut self, now: Instant, node: &mut Node) {
        while let Some(req) = self.sync.poll_request() {
            if self.shutdown.is_some() {
                return;
            }
            match req {
                EdgeRequest::Fetch(what) if !self.api_up => self.sync.handle_fetch_failed(what),
                EdgeRequest::Fetch(Fetch::PeerInfo) => {
                    let r = self.api.borrow_mut().peer_info(self.id);
                    match r {
                        Ok(info) => self.sync.handle_peer_info(now, node, &info),
                        Err(_) => self.sync.handle_fetch_failed(Fetch::PeerInfo),
                    }
                }
                EdgeRequest::Fetch(Fetch::NhTable) => {
                    let r = self.api.borrow_mut().nh_table(self.id);
                    match r {
                        Ok(t) => self.sync.handle_nh_table(now, node, &t),
                        Err(_) => self.sync.handle_fetch_failed(Fetch::NhTable),
                    }
                }
                EdgeRequest::Fetch(Fetch::SuperParams) => {
                    let r = self.api.borrow_mut().super_params(self.id);
                    match r {
                        Ok(p) => self.sync.handle_super_params(now, node, &p),
                        Err(_) => self.sync.handle_fetch_failed(Fetch::SuperParams),
                    }
                }
                EdgeRequest::PostNodeInfo(info) => {
                    if self.api_up {
                        let _ = self.api.borrow_mut().post_node_info(now, self.id, info);
                    }
                }
                EdgeRequest::Shutdown { code, reason } => self.shutdown = Some((code, reason)),
                EdgeRequest::SavePeers(_) => {}
            }
        }
    }
}

impl Controller for SimEdge {
    fn on_event(&mut self, now: Instant, _unix_now: Duration, node: &mut Node, event: &NodeEvent) {
        if self.shutdown.is_none() {
            self.sync.handle_event(now, node, event);
            if let Some(p) = self.p2p.as_mut() {
                p.handle_event(now, node, event);
            }
            self.drain(now, node);
            self.choose(now, node);
        }
    }

    fn on_timeout(&mut self, now: Instant, _unix_now: Duration, node: &mut Node) {
        if self.shutdown.is_none() {
            self.sync.handle_timeout(now, node);
            if let Some(p) = self.p2p.as_mut() {
                p.handle_timeout(now, node);
            }
            self.drain(now, node);
            self.choose(now, node);
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if self.shutdown.is_some() {
            None
        } else {
            let p = self.p2p.as_ref().and_then(P2pSync::poll_timeout);
            self.sync.poll_timeout().into_iter().chain(p).min()
        }
    }

    fn as_any(&mut self) -> &mut dyn std::any::Any {
        self
    }
}
