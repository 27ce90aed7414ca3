//! `manage/super/state`: the supernode's view as the original's JSON shape
//! (docs/system.md#http-apis) — peers and when they were last seen, the one-way latency
//! matrix with and without additional cost, the next-hop table and the
//! distances. Unreachable pairs are absent from the matrices; a distance
//! that cannot be computed is [`INFINITY`].

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use super::SuperCore;
use crate::control::api::{INFINITY, PeerState, SuperState};

impl SuperCore {
    /// The whole state, as of the last computation.
    pub fn state(&self) -> SuperState {
        let mut peer_info = BTreeMap::new();
        for (id, e) in &self.edges {
            peer_info.insert(
                id.get(),
                PeerState {
                    Name: e.cfg.name.clone(),
                    LastSeen: e.last_seen_unix.map_or_else(|| "never".to_owned(), rfc3339),
                    Online: e.online,
                    EndpointV4: e.endpoint_v4.map(|a| a.to_string()).unwrap_or_default(),
                    EndpointV6: e.endpoint_v6.map(|a| a.to_string()).unwrap_or_default(),
                },
            );
        }
        let graph = self.router.graph();
        let ids: Vec<_> = self.edges.keys().copied().collect();
        let mut edges: BTreeMap<u16, BTreeMap<u16, f64>> = BTreeMap::new();
        let mut edges_nh: BTreeMap<u16, BTreeMap<u16, f64>> = BTreeMap::new();
        for &src in &ids {
            for &dst in &ids {
                if let Some(l) = graph.edge(src, dst) {
                    edges
                        .entry(src.get())
                        .or_default()
                        .insert(dst.get(), l.as_secs_f64());
                    let with_cost = l.as_secs_f64() + graph.additional_cost(dst).as_secs_f64();
                    edges_nh
                        .entry(src.get())
                        .or_default()
                        .insert(dst.get(), with_cost);
                }
            }
        }
        let mut nh_table: BTreeMap<u16, BTreeMap<u16, u16>> = BTreeMap::new();
        for (src, dst, next) in self.router.next_hop_table().iter() {
            nh_table
                .entry(src.get())
                .or_default()
                .insert(dst.get(), next.get());
        }
        let mut dist: BTreeMap<u16, BTreeMap<u16, f64>> = BTreeMap::new();
        let mut dist_no_ac: BTreeMap<u16, BTreeMap<u16, f64>> = BTreeMap::new();
        if let Some(sol) = self.router.solution() {
            for &src in sol.ids() {
                for &dst in sol.ids() {
                    let d = sol.distance(src, dst).map_or(INFINITY, |l| l.as_secs_f64());
                    dist.entry(src.get()).or_default().insert(dst.get(), d);
                    let d = sol
                        .distance_without_additional_cost(src, dst)
                        .map_or(INFINITY, |l| l.as_secs_f64());
                    dist_no_ac
                        .entry(src.get())
                        .or_default()
                        .insert(dst.get(), d);
                }
            }
        }
        SuperState {
            PeerInfo: peer_info,
            Infinity: INFINITY,
            Edges: edges,
            Edges_Nh: edges_nh,
            NhTable: nh_table,
            Dist: dist,
            Dist_noAC: dist_no_ac,
        }
    }
}

fn rfc3339(since_epoch: Duration) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + since_epoch).to_string()
}
