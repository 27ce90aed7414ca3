//! SIGHUP: read the config file again and apply what can change while
//! running, without dropping a session — peers (added, re-keyed, removed),
//! the static next-hop table, the ping interval; on a supernode its peers
//! and timing parameters. Changes that need a new socket, interface or key
//! are reported as needing a restart. A file that no longer loads changes
//! nothing (the error is logged with its position).

use std::path::Path;
use std::time::Instant;

use crate::config::{self, Config, EdgeConfig, EdgeMode, Endpoint, SuperConfig};
use crate::control::api::{DelPeer, UpdatePeer, UpdateSuper};
use crate::control::super_core::SuperCore;
use crate::logging::target;
use crate::node::{Node, PeerConfig, next_hop_table};

fn load(path: &Path) -> Option<Config> {
    match config::load_file(path, None) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                tracing::warn!(target: target::NORMAL, "{w}");
            }
            Some(loaded.config)
        }
        Err(e) => {
            tracing::error!(target: target::NORMAL, "reload: {e}; keeping the running configuration");
            None
        }
    }
}

/// Applies an edge's new config; returns it when it was applied.
pub fn edge(path: &Path, old: &EdgeConfig, node: &mut Node, now: Instant) -> Option<EdgeConfig> {
    let new = match load(path)? {
        Config::Edge(new) => new,
        _ => {
            tracing::error!(target: target::NORMAL, "reload: {} is not an edge config any more; ignored", path.display());
            return None;
        }
    };
    let new = *new;
    needs_restart(&[
        ("Interface", old.interface != new.interface),
        ("NodeID", old.node_id != new.node_id),
        ("PrivKey", old.private_key != new.private_key),
        ("ListenPort", old.listen_port != new.listen_port),
        ("FwMark", old.fwmark != new.fwmark),
        (
            "DynamicRoute.SuperNode",
            old.dynamic_route.super_node != new.dynamic_route.super_node,
        ),
        // The P2P router took its settings and static table at start.
        (
            "DynamicRoute.P2P.GraphRecalculateSetting",
            old.dynamic_route.p2p.graph != new.dynamic_route.p2p.graph,
        ),
        (
            "NextHopTable (P2P StaticMode)",
            old.dynamic_route.p2p.graph.static_mode
                && old.dynamic_route.p2p.enabled
                && old.next_hop_table != new.next_hop_table,
        ),
    ]);
    for p in &new.peers {
        if old.peers.iter().any(|o| o == p) {
            continue;
        }
        node.add_peer(&PeerConfig {
            id: p.node_id,
            public_key: p.public_key.clone(),
            preshared_key: p.preshared_key.clone(),
            // A host name is the resolver thread's (`Ddns::set_targets`
            // after this returns): DNS never blocks the reactor.
            endpoint: p.endpoint.as_ref().and_then(|e| match e {
                Endpoint::Addr(a) => Some(*a),
                Endpoint::Host { .. } => None,
            }),
            is_static: p.is_static,
            persistent_keepalive: p.persistent_keepalive,
        });
        if let Some(Endpoint::Addr(a)) = &p.endpoint {
            node.set_endpoint(p.node_id, *a);
        }
    }
    for o in &old.peers {
        if !new.peers.iter().any(|p| p.node_id == o.node_id) {
            node.remove_peer(o.node_id);
        }
    }
    match new.mode() {
        EdgeMode::Static => node.set_next_hops(next_hop_table(&new.next_hop_table)),
        _ => node.set_ping_interval(Some(new.dynamic_route.send_ping_interval), now),
    }
    tracing::info!(target: target::NORMAL, "reloaded {} ({} peer(s))", path.display(), new.peers.len());
    Some(new)
}

/// Applies a supernode's new config to its core (peers, parameters).
pub fn supernode(
    path: &Path,
    old: &SuperConfig,
    core: &mut SuperCore,
    now: Instant,
) -> Option<SuperConfig> {
    let new = match load(path)? {
        Config::Super(new) => new,
        _ => {
            tracing::error!(target: target::NORMAL, "reload: {} is not a supernode config any more; ignored", path.display());
            return None;
        }
    };
    let new = *new;
    needs_restart(&[
        (
            "PrivKeyV4/PrivKeyV6",
            old.private_key_v4 != new.private_key_v4 || old.private_key_v6 != new.private_key_v6,
        ),
        ("ListenPort", old.listen_port != new.listen_port),
        ("FwMark", old.fwmark != new.fwmark),
        (
            "ListenPort_EdgeAPI/ListenPort_ManageAPI/API_Prefix/TLS",
            old.edge_api_port != new.edge_api_port
                || old.manage_api_port != new.manage_api_port
                || old.api_prefix != new.api_prefix
                || old.tls != new.tls,
        ),
        ("Passwords", old.passwords != new.passwords),
        ("GraphRecalculateSetting", old.graph != new.graph),
        (
            "NextHopTable (StaticMode)",
            old.graph.static_mode && old.next_hop_table != new.next_hop_table,
        ),
    ]);
    let running = core.peers();
    for p in &running {
        let kept = new.peers.iter().find(|n| n.node_id == p.node_id);
        if kept.is_none_or(|n| n.public_key != p.public_key) {
            let _ = core.del_peer(now, &DelPeer::ById(p.node_id));
        }
    }
    for p in &new.peers {
        let running = core.peers();
        match running.iter().find(|r| r.node_id == p.node_id) {
            None => {
                if let Err(e) = core.add_peer(now, p.clone()) {
                    tracing::error!(target: target::NORMAL, "reload: peer {}: {e:?}", p.node_id);
                }
            }
            Some(r)
                if r.additional_cost != p.additional_cost || r.skip_local_ip != p.skip_local_ip =>
            {
                let _ = core.update_peer(
                    now,
                    &UpdatePeer {
                        NodeID: p.node_id.get(),
                        AdditionalCost: Some(p.additional_cost.as_secs_f64() * 1000.0),
                        SkipLocalIP: Some(p.skip_local_ip),
                    },
                );
            }
            Some(_) => {}
        }
    }
    let secs = |d: std::time::Duration| Some(d.as_secs_f64());
    let _ = core.update_super(&UpdateSuper {
        SendPingInterval: secs(new.send_ping_interval),
        HttpPostInterval: secs(new.http_post_interval),
        PeerAliveTimeout: secs(new.peer_alive_timeout),
        DampingFilterRadius: Some(new.damping_filter_radius),
    });
    tracing::info!(target: target::NORMAL, "reloaded {} ({} peer(s))", path.display(), new.peers.len());
    Some(new)
}

fn needs_restart(changes: &[(&str, bool)]) {
    for (what, changed) in changes {
        if *changed {
            tracing::warn!(target: target::NORMAL, "reload: a change of {what} takes effect at the next restart");
        }
    }
}
