//! The supernode's answers to the HTTP layer ([`SuperApi`]): each call
//! locks the shared core, asks it, and wakes the loop so the core's outputs
//! (notices, new or removed peers) go out at once. Management secrets are
//! compared in constant time and never logged.

use std::path::PathBuf;

use subtle::ConstantTimeEq;

use super::core::{SharedCore, lock};
use crate::NodeId;
use crate::config::{
    NewEdge, Passwords, PeerAddFields, Secret, SuperConfig, new_super_peer,
    render_edge_from_template,
};
use crate::control::api::{
    AddPeer, ApiError, DelPeer, ManageAction, NhTableInfo, NodeInfo, PeerInfo, SuperApi,
    SuperParams, SuperState, UpdatePeer, UpdateSuper,
};
use crate::daemon::clock;
use crate::daemon::wake::WakeHandle;
use crate::logging::target;

#[derive(Debug)]
pub struct SuperApiImpl {
    core: SharedCore,
    wake: WakeHandle,
    passwords: Passwords,
    edge_template: Option<PathBuf>,
}

impl SuperApiImpl {
    pub fn new(cfg: &SuperConfig, core: SharedCore, wake: WakeHandle) -> Self {
        Self {
            core,
            wake,
            passwords: cfg.passwords.clone(),
            edge_template: cfg.edge_template.clone(),
        }
    }

    /// Runs `f` on the core, then wakes the loop to send what it queued.
    fn with_core<R>(&self, f: impl FnOnce(&mut crate::control::super_core::SuperCore) -> R) -> R {
        let mut core = lock(&self.core);
        let solves = core.solves();
        let started = clock::now();
        let r = f(&mut core);
        if core.solves() > solves {
            crate::daemon::metrics::record_solve(started.elapsed().as_secs_f64());
        }
        drop(core);
        self.wake.wake();
        r
    }
}

/// Constant-time equality of a presented secret and the configured one; a
/// missing configuration refuses every secret.
fn secret_matches(configured: Option<&Secret>, presented: &str) -> bool {
    configured.is_some_and(|s| {
        let (a, b) = (s.expose().as_bytes(), presented.as_bytes());
        // Lengths are not secret enough to matter; contents are compared in
        // constant time.
        a.len() == b.len() && bool::from(a.ct_eq(b))
    })
}

impl SuperApi for SuperApiImpl {
    fn edge_tokens(&self, node: NodeId) -> Vec<String> {
        lock(&self.core).edge_tokens(node)
    }

    fn check_secret(&self, action: ManageAction, secret: &str) -> bool {
        let p = &self.passwords;
        let configured = match action {
            ManageAction::ShowState => p.show_state.as_ref(),
            ManageAction::AddPeer => p.add_peer.as_ref(),
            ManageAction::DelPeer => p.del_peer.as_ref(),
            ManageAction::UpdatePeer => p.update_peer.as_ref(),
            ManageAction::UpdateSuper => p.update_super.as_ref(),
        };
        secret_matches(configured, secret)
    }

    fn peer_info(&self, node: NodeId) -> Result<PeerInfo, ApiError> {
        self.with_core(|c| c.peer_info(node))
    }

    fn nh_table(&self, node: NodeId) -> Result<NhTableInfo, ApiError> {
        self.with_core(|c| c.nh_table(node))
    }

    fn super_params(&self, node: NodeId) -> Result<SuperParams, ApiError> {
        self.with_core(|c| c.super_params(node))
    }

    fn post_node_info(&self, node: NodeId, info: NodeInfo) -> Result<(), ApiError> {
        self.with_core(|c| c.post_node_info(clock::now(), node, info))
    }

    fn state(&self) -> SuperState {
        lock(&self.core).state()
    }

    fn add_peer(&self, req: AddPeer) -> Result<String, ApiError> {
        let template = self.edge_template.clone().ok_or_else(|| {
            ApiError::Internal("EdgeTemplate is not set in the supernode config".into())
        })?;
        let fields = PeerAddFields {
            node_id: u64::from(req.NodeID),
            name: &req.Name,
            public_key: &req.PubKey,
            preshared_key: req.PSKey.as_deref(),
            additional_cost_ms: req.AdditionalCost,
            skip_local_ip: req.SkipLocalIP,
        };
        let existing = lock(&self.core).peers();
        let peer = new_super_peer(&existing, &fields).map_err(|e| {
            if e.conflict {
                ApiError::Conflict(e.to_string())
            } else {
                ApiError::BadRequest(e.to_string())
            }
        })?;
        // Render first: a broken template must not leave a half-added peer.
        let yaml = render_edge_from_template(&template, &NewEdge::for_peer(&peer))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let (id, name) = (peer.node_id, peer.name.clone());
        self.with_core(|c| c.add_peer(clock::now(), peer))?;
        tracing::info!(target: target::CONTROL, "peer {id} ({name}) added");
        Ok(yaml)
    }

    fn del_peer(&self, req: DelPeer) -> Result<NodeId, ApiError> {
        let id = self.with_core(|c| c.del_peer(clock::now(), &req))?;
        tracing::info!(target: target::CONTROL, "peer {id} deleted");
        Ok(id)
    }

    fn update_peer(&self, req: UpdatePeer) -> Result<(), ApiError> {
        self.with_core(|c| c.update_peer(clock::now(), &req))
    }

    fn update_super(&self, req: UpdateSuper) -> Result<(), ApiError> {
        self.with_core(|c| c.update_super(&req))
    }
}

/// Where and how the supernode serves its APIs.
pub fn http_config(cfg: &SuperConfig) -> crate::daemon::http::HttpConfig {
    let mut http = crate::daemon::http::HttpConfig::on_ports(
        cfg.edge_api_port,
        cfg.manage_api_port,
        &cfg.api_prefix,
    );
    http.tls = cfg.tls.as_ref().map(|t| crate::daemon::http::TlsFiles {
        cert_chain_pem: t.cert_chain.clone(),
        private_key_pem: t.private_key.clone(),
    });
    http
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_must_match_exactly_and_missing_ones_refuse_everything() {
        let s = Secret::new("passwd_showstate");
        assert!(secret_matches(Some(&s), "passwd_showstate"));
        assert!(!secret_matches(Some(&s), "passwd_showstatf"));
        assert!(!secret_matches(Some(&s), "passwd_showstate "));
        assert!(!secret_matches(Some(&s), ""));
        assert!(!secret_matches(None, ""));
        assert!(!secret_matches(None, "anything"));
    }
}
