//! P2P mode in the simulated network: [`SimP2p`] runs an [`Edge`] with
//! P2P alone on a host's node, as the daemon does.

use std::time::{Duration, Instant};

use super::Controller;
use crate::control::edge::Edge;
use crate::control::p2p::P2pSync;
use crate::node::{Node, NodeEvent};

#[derive(Debug)]
pub struct SimP2p {
    pub edge: Edge,
}

impl SimP2p {
    pub fn new(p2p: P2pSync) -> Self {
        Self {
            edge: Edge::new(None, Some(p2p), Duration::ZERO),
        }
    }

    /// The P2P machine (`Some` when built by [`SimP2p::new`]).
    pub fn p2p(&self) -> Option<&P2pSync> {
        self.edge.p2p()
    }
}

impl Controller for SimP2p {
    fn handle_event(
        &mut self,
        now: Instant,
        _unix_now: Duration,
        node: &mut Node,
        event: &NodeEvent,
    ) {
        self.edge.handle_event(now, node, event);
        while self.edge.poll_event().is_some() {}
    }

    fn handle_timeout(&mut self, now: Instant, _unix_now: Duration, node: &mut Node) {
        self.edge.handle_timeout(now, node);
        while self.edge.poll_event().is_some() {}
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.edge.poll_timeout()
    }

    fn timer_is_own(&self) -> bool {
        true
    }

    fn as_any(&mut self) -> &mut dyn std::any::Any {
        self
    }
}
