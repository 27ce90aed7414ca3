//! `PostScript` for both daemons: run once the node is up (an edge after
//! its interface, a supernode after its UDP sockets and HTTP listeners),
//! with upstream's variables. A script that fails or exits non-zero is
//! logged as a warning and the node keeps running.
//!
//! How to drive it: [`run_edge`] with the interface spec, [`run_super`]
//! with the supernode's config; both wait for the script.

use std::io;
use std::process::ExitStatus;

use egd_ifaces::IfaceSpec;

use crate::config::{EdgeConfig, SuperConfig};
use crate::logging::target;

/// The edge's script: the interface's variables plus `EG_NODE_NAME` and
/// `EG_INTERFACE_MAC_PREFIX` (upstream's, which the spec does not carry).
pub fn run_edge(cfg: &EdgeConfig, spec: &IfaceSpec) {
    if spec.post_script.is_none() {
        return;
    }
    let mac_prefix = cfg
        .interface
        .mac_prefix
        .map(|p| p.to_string())
        .unwrap_or_default();
    let extra = [
        ("EG_NODE_NAME", cfg.node_name.as_str()),
        ("EG_INTERFACE_MAC_PREFIX", mac_prefix.as_str()),
    ];
    log_outcome(egd_ifaces::run_post_script_with_env(spec, &extra));
}

/// The supernode's script: `EG_MODE=super` and `EG_NODE_NAME`, as upstream
/// sets them (main_super.go).
pub fn run_super(cfg: &SuperConfig) {
    let Some(script) = &cfg.post_script else {
        return;
    };
    let env = [
        ("EG_MODE", "super"),
        ("EG_NODE_NAME", cfg.node_name.as_str()),
    ];
    log_outcome(egd_ifaces::run_script(script, &env));
}

fn log_outcome(result: io::Result<ExitStatus>) {
    match result {
        Ok(status) if status.success() => {}
        Ok(status) => tracing::warn!(target: target::NORMAL, "PostScript exited with {status}"),
        Err(e) => tracing::warn!(target: target::NORMAL, "PostScript failed: {e}"),
    }
}
