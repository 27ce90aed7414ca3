//! The Edge API: per-node token, JSON answers, body limit.

use super::fake::{self, Call, token, token_v6};
use super::{Server, get, post};
use crate::control::api::{NhTableInfo, PeerInfo, SuperParams};

#[test]
fn every_edge_route_with_the_right_token_answers_its_type() {
    let s = Server::split();
    let t = token(1);
    let r = get(&s.edge_url("edge/peerinfo?NodeID=1"), Some(&t));
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.content_type.starts_with("application/json"));
    assert_eq!(
        serde_json::from_str::<PeerInfo>(&r.body).unwrap(),
        fake::peer_info(1)
    );
    let r = get(&s.edge_url("edge/nhtable?NodeID=1"), Some(&t));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        serde_json::from_str::<NhTableInfo>(&r.body).unwrap(),
        fake::nh_table()
    );
    let r = get(&s.edge_url("edge/superparams?NodeID=1"), Some(&t));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        serde_json::from_str::<SuperParams>(&r.body).unwrap(),
        fake::super_params(1)
    );
    let body = serde_json::to_vec(&fake::node_info()).unwrap();
    let r = post(
        &s.edge_url("edge/post/nodeinfo?NodeID=1"),
        Some(&t),
        "application/json",
        &body,
    );
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(
        s.api.calls(),
        vec![
            Call::PeerInfo(1),
            Call::NhTable(1),
            Call::SuperParams(1),
            Call::PostNodeInfo(1, fake::node_info()),
        ]
    );
}

/// A node has one token per supernode key; either one opens its routes,
/// neither opens another node's.
#[test]
fn either_of_a_nodes_tokens_is_accepted() {
    let s = Server::split();
    for t in [token(1), token_v6(1)] {
        let r = get(&s.edge_url("edge/peerinfo?NodeID=1"), Some(&t));
        assert_eq!(r.status, 200, "{r:?}");
    }
    let r = get(&s.edge_url("edge/peerinfo?NodeID=2"), Some(&token_v6(1)));
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(s.api.calls(), vec![Call::PeerInfo(1), Call::PeerInfo(1)]);
}

#[test]
fn a_missing_or_wrong_token_is_401_and_the_api_is_not_called() {
    let s = Server::split();
    let body = serde_json::to_vec(&fake::node_info()).unwrap();
    for path in [
        "edge/peerinfo",
        "edge/nhtable",
        "edge/superparams",
        "edge/post/nodeinfo",
    ] {
        for (node, bearer) in [
            (1, None),
            (1, Some("0".repeat(64))),
            // Node 2's token does not open node 1's data.
            (1, Some(token(2))),
            // An unknown node gets the same answer.
            (9, Some(token(1))),
        ] {
            let url = s.edge_url(&format!("{path}?NodeID={node}"));
            let r = if path.contains("post") {
                post(&url, bearer.as_deref(), "application/json", &body)
            } else {
                get(&url, bearer.as_deref())
            };
            assert_eq!(r.status, 401, "{path} {bearer:?}: {r:?}");
            assert!(r.body.contains("Authorization"), "{r:?}");
            if let Some(b) = &bearer {
                assert!(!r.body.contains(b.as_str()), "token echoed: {r:?}");
            }
        }
    }
    assert_eq!(s.api.calls(), vec![]);
}

#[test]
fn a_missing_or_reserved_node_id_is_400() {
    let s = Server::split();
    for q in [
        "",
        "?NodeID=",
        "?NodeID=x",
        "?NodeID=65535",
        "?NodeID=70000",
    ] {
        let r = get(&s.edge_url(&format!("edge/peerinfo{q}")), Some(&token(1)));
        assert_eq!(r.status, 400, "{q}: {r:?}");
        assert!(r.body.contains("NodeID"), "{r:?}");
    }
    assert_eq!(s.api.calls(), vec![]);
}

#[test]
fn an_oversize_post_is_413_and_a_bad_one_400() {
    let s = Server::split();
    let url = s.edge_url("edge/post/nodeinfo?NodeID=1");
    let big = vec![b' '; super::super::form::BODY_LIMIT + 1];
    let r = post(&url, Some(&token(1)), "application/json", &big);
    assert_eq!(r.status, 413, "{r:?}");
    let r = post(
        &url,
        Some(&token(1)),
        "application/json",
        b"{\"post_count\":1}",
    );
    assert_eq!(r.status, 400, "{r:?}");
    // Just under the limit is read (and then refused as JSON).
    let mut padded = serde_json::to_vec(&fake::node_info()).unwrap();
    padded.resize(super::super::form::BODY_LIMIT, b' ');
    let r = post(&url, Some(&token(1)), "application/json", &padded);
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(
        s.api.calls(),
        vec![Call::PostNodeInfo(1, fake::node_info())]
    );
}

#[test]
fn wrong_methods_and_paths_are_refused() {
    let s = Server::split();
    let r = post(
        &s.edge_url("edge/peerinfo?NodeID=1"),
        Some(&token(1)),
        "text/plain",
        b"",
    );
    assert_eq!(r.status, 405, "{r:?}");
    let r = get(&s.edge_url("edge/post/nodeinfo?NodeID=1"), Some(&token(1)));
    assert_eq!(r.status, 405, "{r:?}");
    let r = get(&s.edge_url("edge/nothing?NodeID=1"), Some(&token(1)));
    assert_eq!(r.status, 404, "{r:?}");
    // Outside the prefix.
    let url = format!("http://{}/edge/peerinfo?NodeID=1", s.handle.edge_addrs()[0]);
    assert_eq!(get(&url, Some(&token(1))).status, 404);
    assert_eq!(s.api.calls(), vec![]);
}
