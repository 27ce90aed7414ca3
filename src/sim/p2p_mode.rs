//! P2P mode in the simulated network: [`SimP2p`] runs a [`P2pSync`] on a
//! host's node, as the daemon does.

use std::time::{Duration, Instant};

use super::Controller;
use crate::control::p2p::P2pSync;
use crate::node::{Node, NodeEvent};

#[derive(Debug)]
pub struct SimP2p {
    pub p2p: P2pSync,
}

impl Controller for SimP2p {
    fn on_event(&mut self, now: Instant, _unix_now: Duration, node: &mut Node, event: &NodeEvent) {
        self.p2p.handle_event(now, node, event);
    }

    fn on_timeout(&mut self, now: Instant, _unix_now: Duration, node: &mut Node) {
        self.p2p.handle_timeout(now, node);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.p2p.poll_timeout()
    }

    fn timer_is_own(&self) -> bool {
        true
    }

    fn as_any(&mut self) -> &mut dyn std::any::Any {
        self
    }
}
