//! Super mode in the simulated network: [`SimSuper`] runs a
//! [`SuperCore`] on the supernode host's node, [`SimEdge`] an
//! [`Edge`](crate::control::edge::Edge) on an edge's. The Edge API is a direct call into the shared core (the
//! HTTP layer is tested on its own), so a whole super-mode network runs on
//! the virtual clock.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::Controller;
use crate::NodeId;
use crate::control::edge::{Answer, Edge};
use crate::control::edge_sync::{EdgeRequest, EdgeSync, Fetch};
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
    fn handle_event(
        &mut self,
        now: Instant,
        unix_now: Duration,
        node: &mut Node,
        event: &NodeEvent,
    ) {
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

    fn handle_timeout(&mut self, now: Instant, _unix_now: Duration, node: &mut Node) {
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

/// An edge's control plane on its host: an [`Edge`], with the Edge API
/// answered by the supernode's core directly.
#[derive(Debug)]
pub struct SimEdge {
    pub edge: Edge,
    pub api: Rc<RefCell<SuperCore>>,
    pub id: NodeId,
    /// Set when the supernode ordered a shutdown: (code, reason).
    pub shutdown: Option<(i32, String)>,
    /// Whether the Edge API answers (false: fetches and posts fail).
    pub api_up: bool,
}

impl SimEdge {
    /// Super mode alone.
    pub fn new(sync: EdgeSync, api: Rc<RefCell<SuperCore>>, id: NodeId) -> Self {
        Self::with_edge(
            Edge::new(Some(sync), None, Duration::from_secs(50)),
            api,
            id,
        )
    }

    /// Any composition (super mode with P2P: the fallback).
    pub fn with_edge(edge: Edge, api: Rc<RefCell<SuperCore>>, id: NodeId) -> Self {
        Self {
            edge,
            api,
            id,
            shutdown: None,
            api_up: true,
        }
    }

    fn drain(&mut self, now: Instant, node: &mut Node) {
        while self.shutdown.is_none()
            && let Some(req) = self.edge.poll_request()
        {
            let answer = match req {
                EdgeRequest::Fetch(what) if !self.api_up => Answer::Failed(what),
                EdgeRequest::Fetch(Fetch::PeerInfo) => {
                    let r = self.api.borrow_mut().peer_info(self.id);
                    r.map_or(Answer::Failed(Fetch::PeerInfo), Answer::PeerInfo)
                }
                EdgeRequest::Fetch(Fetch::NhTable) => {
                    let r = self.api.borrow_mut().nh_table(self.id);
                    r.map_or(Answer::Failed(Fetch::NhTable), Answer::NhTable)
                }
                EdgeRequest::Fetch(Fetch::SuperParams) => {
                    let r = self.api.borrow_mut().super_params(self.id);
                    r.map_or(Answer::Failed(Fetch::SuperParams), Answer::SuperParams)
                }
                EdgeRequest::PostNodeInfo(info) => {
                    if self.api_up {
                        let _ = self.api.borrow_mut().post_node_info(now, self.id, info);
                    }
                    continue;
                }
                EdgeRequest::Shutdown { code, reason } => {
                    self.shutdown = Some((code, reason));
                    continue;
                }
                EdgeRequest::SavePeers(_) => continue,
            };
            self.edge.handle_answer(now, node, answer);
        }
        while self.edge.poll_event().is_some() {}
    }
}

impl Controller for SimEdge {
    fn handle_event(
        &mut self,
        now: Instant,
        _unix_now: Duration,
        node: &mut Node,
        event: &NodeEvent,
    ) {
        if self.shutdown.is_none() {
            self.edge.handle_event(now, node, event);
            self.drain(now, node);
        }
    }

    fn handle_timeout(&mut self, now: Instant, _unix_now: Duration, node: &mut Node) {
        if self.shutdown.is_none() {
            self.edge.handle_timeout(now, node);
            self.drain(now, node);
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if self.shutdown.is_some() {
            None
        } else {
            self.edge.poll_timeout()
        }
    }

    fn as_any(&mut self) -> &mut dyn std::any::Any {
        self
    }
}
