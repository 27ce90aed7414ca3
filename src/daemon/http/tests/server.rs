//! Listeners: same-port mode, split mode, prefixes, bind errors, shutdown.

use std::net::SocketAddr;

use super::fake::{Call, secret, token};
use super::{LOCAL, Server, free_port, get, split_config};
use crate::control::api::ManageAction;
use crate::daemon::http::{HttpConfig, spawn};

#[test]
fn one_port_serves_both_route_sets() {
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let s = Server::start(HttpConfig {
        edge_listen: vec![addr],
        manage_listen: vec![addr],
        api_prefix: "eg_api".into(),
        tls: None,
    });
    assert_eq!(s.handle.edge_addrs(), &[addr]);
    assert_eq!(s.handle.manage_addrs(), &[addr]);
    assert_eq!(
        get(&s.edge_url("edge/nhtable?NodeID=2"), Some(&token(2))).status,
        200
    );
    let state = format!(
        "manage/super/state?Password={}",
        secret(ManageAction::ShowState)
    );
    assert_eq!(get(&s.edge_url(&state), None).status, 200);
    assert_eq!(s.api.calls(), vec![Call::NhTable(2), Call::State]);
}

#[test]
fn split_ports_serve_only_their_own_routes() {
    let s = Server::split();
    assert_ne!(s.handle.edge_addrs(), s.handle.manage_addrs());
    let state = format!(
        "manage/super/state?Password={}",
        secret(ManageAction::ShowState)
    );
    assert_eq!(get(&s.edge_url(&state), None).status, 404);
    assert_eq!(
        get(&s.manage_url("edge/nhtable?NodeID=2"), Some(&token(2))).status,
        404
    );
    assert_eq!(get(&s.manage_url(&state), None).status, 200);
    assert_eq!(s.api.calls(), vec![Call::State]);
}

#[test]
fn prefixes_with_and_without_slashes_and_none() {
    for (prefix, path) in [
        ("/eg_net/eg_api/", "/eg_net/eg_api/edge/peerinfo"),
        ("eg_net/eg_api", "/eg_net/eg_api/edge/peerinfo"),
        ("", "/edge/peerinfo"),
    ] {
        let s = Server::start(HttpConfig {
            api_prefix: prefix.into(),
            ..split_config()
        });
        let url = format!("http://{}{path}?NodeID=1", s.handle.edge_addrs()[0]);
        assert_eq!(get(&url, Some(&token(1))).status, 200, "{prefix:?}");
    }
    let bad = HttpConfig {
        api_prefix: "/api/{x}".into(),
        ..split_config()
    };
    let err = spawn(bad, std::sync::Arc::new(super::fake::FakeApi::default()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("API_Prefix"), "{err}");
}

#[test]
fn a_taken_port_is_an_error_at_spawn() {
    let taken = std::net::TcpListener::bind(LOCAL).unwrap();
    let addr = taken.local_addr().unwrap();
    let cfg = HttpConfig {
        manage_listen: vec![addr],
        ..split_config()
    };
    let err = spawn(cfg, std::sync::Arc::new(super::fake::FakeApi::default()))
        .unwrap_err()
        .to_string();
    assert!(err.contains(&addr.to_string()), "{err}");
}

#[test]
fn an_empty_listen_list_leaves_that_api_off() {
    let s = Server::start(HttpConfig {
        manage_listen: vec![],
        ..split_config()
    });
    assert!(s.handle.manage_addrs().is_empty());
    assert_eq!(
        get(&s.edge_url("edge/nhtable?NodeID=1"), Some(&token(1))).status,
        200
    );
}

#[test]
fn shutdown_closes_the_listeners() {
    let s = Server::split();
    let addrs: Vec<SocketAddr> = [s.handle.edge_addrs(), s.handle.manage_addrs()].concat();
    s.handle.shutdown();
    for addr in addrs {
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "{addr} still open"
        );
    }
}

#[test]
fn on_ports_listens_on_the_ipv4_and_ipv6_wildcards() {
    let s = Server::start(HttpConfig::on_ports(0, 0, "eg_api"));
    let v4 = s
        .handle
        .edge_addrs()
        .iter()
        .find(|a| a.is_ipv4())
        .copied()
        .unwrap();
    assert!(v4.ip().is_unspecified());
    // IPv6 may be off on the test host; then only IPv4 is bound.
    assert!(
        s.handle
            .edge_addrs()
            .iter()
            .all(|a| a.ip().is_unspecified())
    );
    let url = format!(
        "http://127.0.0.1:{}/eg_api/edge/nhtable?NodeID=1",
        v4.port()
    );
    assert_eq!(get(&url, Some(&token(1))).status, 200);
}
