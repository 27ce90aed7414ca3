//! The Edge API tokens the core accepts, against the token an edge derives
//! from whichever supernode keys its config holds.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::time::{Duration, Instant};

use super::*;
use crate::control::api::edge_token_of_edge;
use crate::wg::keys::private_key_from_random;

#[allow(clippy::disallowed_methods)] // a test's origin; only differences matter
fn origin() -> Instant {
    Instant::now()
}

fn id(n: u16) -> NodeId {
    NodeId::new(n).unwrap()
}

fn key(n: u8) -> PrivateKey {
    private_key_from_random([n; 32])
}

fn core(edge: &PrivateKey, super_v4: &PrivateKey, super_v6: &PrivateKey) -> SuperCore {
    let peer = SuperPeer {
        node_id: id(1),
        name: "edge1".to_owned(),
        public_key: public_key(edge),
        preshared_key: None,
        additional_cost: Duration::from_millis(1),
        skip_local_ip: false,
        endpoint: None,
        external_ip: None,
    };
    let cfg = SuperCoreConfig {
        private_key_v4: super_v4.clone(),
        private_key_v6: super_v6.clone(),
        use_psk_for_inter_edge: true,
        repush_interval: Duration::from_secs(5),
        params: Params {
            send_ping_interval: Duration::from_secs(1),
            http_post_interval: Duration::from_secs(5),
            peer_alive_timeout: Duration::from_secs(10),
            damping_filter_radius: 0,
        },
        graph: GraphSettings::default(),
        next_hop_table: Default::default(),
    };
    SuperCore::new(cfg, vec![peer], origin())
}

/// An edge configured with PubKeyV4 and PubKeyV6, only PubKeyV4 or only
/// PubKeyV6 (upstream runs an edge on either session) is accepted; a token
/// made with another edge's key, for another NodeID or for an unknown node
/// is not.
#[test]
fn edge_api_token_from_either_supernode_key_is_accepted() {
    let (edge, v4, v6) = (key(1), key(2), key(3));
    let core = core(&edge, &v4, &v6);
    let accepted = core.edge_tokens(id(1));
    assert_eq!(accepted.len(), 2);
    let (pub4, pub6) = (public_key(&v4), public_key(&v6));
    for (what, has_v4, has_v6) in [
        ("both keys", true, true),
        ("PubKeyV4 only", true, false),
        ("PubKeyV6 only", false, true),
    ] {
        let token = edge_token_of_edge(
            &edge,
            has_v4.then_some(&pub4),
            has_v6.then_some(&pub6),
            id(1),
        )
        .unwrap();
        assert!(accepted.contains(&token), "{what}");
    }
    assert_eq!(edge_token_of_edge(&edge, None, None, id(1)), None);
    let forged = edge_token_of_edge(&key(9), Some(&pub4), None, id(1)).unwrap();
    assert!(!accepted.contains(&forged));
    let other_id = edge_token_of_edge(&edge, None, Some(&pub6), id(2)).unwrap();
    assert!(!accepted.contains(&other_id));
    assert!(core.edge_tokens(id(2)).is_empty());
}
