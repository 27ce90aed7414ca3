//! The edge's blocking client against the real server.

use super::Server;
use super::fake::{self, Call, token};
use crate::NodeId;
use crate::daemon::http::{CallError, EdgeApiClient, TlsRoots};

fn client(s: &Server, node: u16, token: String) -> EdgeApiClient {
    let base = format!("http://{}/eg_api/", s.handle.edge_addrs()[0]);
    EdgeApiClient::new(&base, NodeId::new(node).unwrap(), token, TlsRoots::WebPki).unwrap()
}

#[test]
fn every_call_round_trips() {
    let s = Server::split();
    let c = client(&s, 2, token(2));
    assert_eq!(c.peer_info().unwrap(), fake::peer_info(2));
    assert_eq!(c.nh_table().unwrap(), fake::nh_table());
    assert_eq!(c.super_params().unwrap(), fake::super_params(2));
    c.post_node_info(&fake::node_info()).unwrap();
    assert_eq!(
        s.api.calls(),
        vec![
            Call::PeerInfo(2),
            Call::NhTable(2),
            Call::SuperParams(2),
            Call::PostNodeInfo(2, fake::node_info()),
        ]
    );
}

#[test]
fn errors_name_the_url_but_never_the_token() {
    let s = Server::split();
    let wrong = "f".repeat(64);
    let c = client(&s, 1, wrong.clone());
    let err = c.peer_info().unwrap_err();
    assert!(
        matches!(err, CallError::Status { status: 401, .. }),
        "{err:?}"
    );
    let shown = err.to_string();
    assert!(shown.contains("/eg_api/edge/peerinfo?NodeID=1"), "{shown}");
    assert!(shown.contains("Authorization"), "{shown}");
    assert!(!shown.contains(&wrong) && !format!("{c:?}").contains(&wrong));
    assert_eq!(s.api.calls(), vec![]);

    // No server any more: a transport error, still naming the URL.
    let c = client(&s, 1, token(1));
    s.handle.shutdown();
    let err = c.nh_table().unwrap_err();
    assert!(matches!(err, CallError::Transport { .. }), "{err:?}");
    assert!(err.to_string().contains("edge/nhtable"), "{err}");
}

#[test]
fn a_url_without_http_scheme_is_refused() {
    let node = NodeId::new(1).unwrap();
    assert!(EdgeApiClient::new("ftp://x/", node, String::new(), TlsRoots::WebPki).is_err());
    assert!(EdgeApiClient::new("127.0.0.1:1", node, String::new(), TlsRoots::WebPki).is_err());
    let pem = b"not a certificate".to_vec();
    assert!(
        EdgeApiClient::new(
            "https://127.0.0.1:1",
            node,
            String::new(),
            TlsRoots::Only(pem)
        )
        .is_err()
    );
}
