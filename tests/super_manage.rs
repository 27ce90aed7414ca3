//! A real supernode and edges (dummy interfaces) on loopback, driven through
//! the Manage API over HTTP: secrets via `?Password=` and `Authorization:
//! Bearer` (wrong ones change nothing), `super/state`, `peer/add` returning
//! a config the new edge joins with (no restart of anything), live
//! `super/update` and `peer/update`, `SaveNewPeers` written atomically, a
//! supernode restart losing no peer, and `peer/del` by the edge's own
//! private key stopping that edge.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // real processes: waiting on the wall clock is the point

mod common;

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::procs::Proc;
use common::wait_for;
use egd::keys::{private_key_from_random, public_key};

const EGD: &str = env!("CARGO_BIN_EXE_egd");
const PREFIX: &str = "/egd_test/api";

/// A port free for both UDP and TCP on loopback right now.
fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn key(n: u8) -> egd::config::PrivateKey {
    private_key_from_random([n.wrapping_mul(13).wrapping_add(1); 32])
}

struct Ports {
    udp: u16,
    api: u16,
}

fn super_yaml(p: &Ports, peers: &[u8]) -> String {
    let mut peer_yaml = String::new();
    for id in peers {
        peer_yaml.push_str(&format!(
            "- NodeID: {id}\n  Name: edge{id}\n  PubKey: {}\n  PSKey: \"\"\n  AdditionalCost: 1\n  SkipLocalIP: true\n  EndPoint: \"\"\n",
            public_key(&key(*id)).to_base64()
        ));
    }
    format!(
        "NodeName: super
PrivKeyV4: {}
PrivKeyV6: {}
ListenPort: {udp}
ListenPort_EdgeAPI: \"{api}\"
ListenPort_ManageAPI: \"{api}\"
API_Prefix: {PREFIX}
RePushConfigInterval: 1
HttpPostInterval: 1
PeerAliveTimeout: 6
SendPingInterval: 1
DampingFilterRadius: 0
DisabledAf:
  IPv6: true
LogLevel:
  LogLevel: info
Passwords:
  ShowState: show-secret
  AddPeer: add-secret
  DelPeer: del-secret
  UpdatePeer: upd-secret
  UpdateSuper: sup-secret
GraphRecalculateSetting:
  JitterTolerance: 5
  JitterToleranceMultiplier: 1
  TimeoutCheckInterval: 1
  RecalculateCoolDown: 1
EdgeTemplate: template.yaml
UsePSKForInterEdge: true
Peers:
{peer_yaml}",
        key(200).to_base64(),
        key(201).to_base64(),
        udp = p.udp,
        api = p.api,
    )
}

/// An edge config in super mode on loopback (also the template, with the
/// placeholder key).
fn edge_yaml(p: &Ports, id: u8, private_key: &str) -> String {
    format!(
        "Interface:
  IType: dummy
  Name: egd-t{id}
  MTU: 1400
NodeID: {id}
NodeName: edge{id}
PrivKey: {private_key}
ListenPort: 0
DisabledAf:
  IPv6: true
LogLevel:
  LogLevel: info
DynamicRoute:
  SendPingInterval: 1
  PeerAliveTimeout: 6
  ConnNextTry: 1
  SaveNewPeers: false
  SuperNode:
    UseSuperNode: true
    EndpointV4: 127.0.0.1:{udp}
    PubKeyV4: {}
    EndpointV6: \"\"
    PubKeyV6: {}
    EndpointEdgeAPIUrl: http://127.0.0.1:{api}{PREFIX}
    SkipLocalIP: true
Peers: []
",
        public_key(&key(200)).to_base64(),
        public_key(&key(201)).to_base64(),
        udp = p.udp,
        api = p.api,
    )
}

fn spawn(config: &Path) -> Proc {
    let mut cmd = Command::new(EGD);
    cmd.args(["--config"]).arg(config).args(["--bind", "std"]);
    Proc::spawn(cmd)
}

fn url(p: &Ports, path: &str) -> String {
    format!("http://127.0.0.1:{}{PREFIX}/{path}", p.api)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .new_agent()
}

/// (status, body) of a GET.
fn get(p: &Ports, path: &str, bearer: Option<&str>) -> (u16, String) {
    let mut req = agent().get(url(p, path));
    if let Some(b) = bearer {
        req = req.header("Authorization", format!("Bearer {b}"));
    }
    match req.call() {
        Ok(mut r) => (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        ),
        Err(e) => (0, e.to_string()),
    }
}

/// (status, body) of a form POST.
fn post(p: &Ports, path: &str, bearer: Option<&str>, form: &[(&str, &str)]) -> (u16, String) {
    let mut req = agent().post(url(p, path));
    if let Some(b) = bearer {
        req = req.header("Authorization", format!("Bearer {b}"));
    }
    match req.send_form(form.iter().copied()) {
        Ok(mut r) => (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        ),
        Err(e) => (0, e.to_string()),
    }
}

fn state(p: &Ports) -> serde_json::Value {
    let (status, body) = get(p, "manage/super/state", Some("show-secret"));
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn online(p: &Ports, id: u8) -> bool {
    state(p)["PeerInfo"][id.to_string()]["Online"] == serde_json::Value::Bool(true)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_manage_api_changes_a_running_network() {
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports {
        udp: free_port(),
        api: free_port(),
    };
    let p = &ports;
    write(
        dir.path(),
        "template.yaml",
        &edge_yaml(p, 1, "Your_Private_Key"),
    );
    let super_path = write(dir.path(), "super.yaml", &super_yaml(p, &[1, 2]));
    let mut supernode = spawn(&super_path);
    let edge_paths: Vec<PathBuf> = [1u8, 2]
        .iter()
        .map(|id| {
            write(
                dir.path(),
                &format!("edge{id}.yaml"),
                &edge_yaml(p, *id, &key(*id).to_base64()),
            )
        })
        .collect();
    let mut edges: Vec<Proc> = edge_paths.iter().map(|e| spawn(e)).collect();
    let report = |s: &Proc, e: &[Proc]| {
        format!(
            "supernode:\n{}\nedges:\n{}",
            s.log(),
            e.iter().map(Proc::log).collect::<Vec<_>>().join("\n---\n")
        )
    };
    let up = wait_for(Duration::from_secs(20), || {
        (get(p, "manage/super/state", Some("show-secret")).0 == 200 && online(p, 1) && online(p, 2))
            .then_some(())
    });
    assert!(
        up.is_some(),
        "edges 1 and 2 register\n{}",
        report(&supernode, &edges)
    );

    // Secrets: wrong or missing → 401, via query or Bearer → 200.
    assert_eq!(get(p, "manage/super/state", None).0, 401);
    assert_eq!(get(p, "manage/super/state", Some("add-secret")).0, 401);
    assert_eq!(get(p, "manage/super/state?Password=wrong", None).0, 401);
    assert_eq!(
        get(p, "manage/super/state?Password=show-secret", None).0,
        200
    );
    let st = state(p);
    assert_eq!(st["Infinity"], serde_json::json!(99999.0));
    let has_edge = wait_for(Duration::from_secs(10), || {
        state(p)["Edges"]["1"]["2"].as_f64()
    });
    assert!(
        has_edge.is_some(),
        "the latency matrix fills in: {}",
        state(p)
    );

    // peer/add with a wrong secret changes nothing.
    let new_key = key(3);
    let new_pub = public_key(&new_key).to_base64();
    let form = [
        ("NodeID", "3"),
        ("Name", "edge3"),
        ("PubKey", new_pub.as_str()),
        ("AdditionalCost", "1"),
    ];
    let (status, _) = post(p, "manage/peer/add", Some("wrong"), &form);
    assert_eq!(status, 401);
    assert!(state(p)["PeerInfo"].get("3").is_none());

    // peer/add returns a ready config; the new edge joins, nothing restarts.
    let (status, yaml) = post(p, "manage/peer/add", Some("add-secret"), &form);
    assert_eq!(status, 200, "{yaml}");
    assert!(yaml.contains("Your_Private_Key"), "{yaml}");
    let yaml = yaml.replace("Your_Private_Key", &new_key.to_base64());
    let edge3_path = write(dir.path(), "edge3.yaml", &yaml);
    let check = Command::new(EGD)
        .arg("--check")
        .arg("--config")
        .arg(&edge3_path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    edges.push(spawn(&edge3_path));
    let joined = wait_for(Duration::from_secs(20), || {
        let s = state(p);
        (s["PeerInfo"]["3"]["Online"] == serde_json::Value::Bool(true)
            && s["NhTable"]["1"]["3"].is_number()
            && s["NhTable"]["3"]["2"].is_number())
        .then_some(())
    });
    assert!(
        joined.is_some(),
        "edge 3 joins and gets routes: {}\n{}",
        state(p),
        report(&supernode, &edges)
    );
    // SaveNewPeers: the supernode's file lists the new peer and still loads.
    let saved = std::fs::read_to_string(&super_path).unwrap();
    assert!(saved.contains("NodeID: 3"), "{saved}");
    let check = Command::new(EGD)
        .arg("--check")
        .arg("--config")
        .arg(&super_path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    // Live updates.
    let (status, body) = post(
        p,
        "manage/super/update",
        Some("sup-secret"),
        &[("SendPingInterval", "0.5")],
    );
    assert_eq!(status, 200, "{body}");
    let applied = wait_for(Duration::from_secs(10), || {
        edges[0].log().contains("ping every 0.5 s").then_some(())
    });
    assert!(
        applied.is_some(),
        "edges fetch the new parameters\n{}",
        edges[0].log()
    );
    let (status, body) = post(
        p,
        "manage/peer/update",
        Some("upd-secret"),
        &[("NodeID", "3"), ("AdditionalCost", "7")],
    );
    assert_eq!(status, 200, "{body}");
    let (status, _) = post(
        p,
        "manage/peer/update",
        Some("sup-secret"),
        &[("NodeID", "3"), ("AdditionalCost", "9")],
    );
    assert_eq!(status, 401, "another action's secret is refused");

    // A supernode restart loses no peer: all three register again.
    supernode.terminate();
    let mut supernode = spawn(&super_path);
    let back = wait_for(Duration::from_secs(25), || {
        (get(p, "manage/super/state", Some("show-secret")).0 == 200
            && [1, 2, 3].iter().all(|id| online(p, *id)))
        .then_some(())
    });
    assert!(
        back.is_some(),
        "every edge re-registers after a restart: {}",
        report(&supernode, &edges)
    );

    // peer/del with a wrong secret changes nothing; by the edge's own
    // private key (no secret) it stops that edge.
    let (status, _) = post(
        p,
        "manage/peer/del",
        None,
        &[("Password", "wrong"), ("NodeID", "3")],
    );
    assert_eq!(status, 401);
    assert!(online(p, 3));
    let (status, body) = post(
        p,
        "manage/peer/del",
        None,
        &[("PrivKey", new_key.to_base64().as_str())],
    );
    assert_eq!(status, 200, "{body}");
    let stopped = wait_for(Duration::from_secs(10), || {
        (!edges[2].alive()).then_some(())
    });
    assert!(
        stopped.is_some(),
        "the deleted edge stops\n{}",
        edges[2].log()
    );
    assert!(edges[2].log().contains("shut down"), "{}", edges[2].log());
    assert!(state(p)["PeerInfo"].get("3").is_none());
    let saved = std::fs::read_to_string(&super_path).unwrap();
    assert!(!saved.contains("NodeID: 3"), "{saved}");
    assert!(edges[0].alive() && edges[1].alive() && supernode.alive());
}

#[test]
fn both_apis_serve_https_and_edges_trust_the_configured_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports {
        udp: free_port(),
        api: free_port(),
    };
    let p = &ports;
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    write(dir.path(), "cert.pem", &ck.cert.pem());
    write(dir.path(), "key.pem", &ck.signing_key.serialize_pem());
    let ca = write(dir.path(), "ca.pem", &ck.cert.pem());
    write(
        dir.path(),
        "template.yaml",
        &edge_yaml(p, 1, "Your_Private_Key"),
    );
    let super_text = format!(
        "{}TLS:\n  CertFile: cert.pem\n  KeyFile: key.pem\n",
        super_yaml(p, &[1, 2])
    );
    let super_path = write(dir.path(), "super.yaml", &super_text);
    let supernode = spawn(&super_path);
    let edges: Vec<Proc> = [1u8, 2]
        .iter()
        .map(|id| {
            let text = edge_yaml(p, *id, &key(*id).to_base64())
                .replace("http://", "https://")
                .replace(
                    "    SkipLocalIP: true\n",
                    &format!(
                        "    SkipLocalIP: true\n    EdgeAPICAFile: {}\n",
                        ca.display()
                    ),
                );
            spawn(&write(dir.path(), &format!("edge{id}.yaml"), &text))
        })
        .collect();
    // The Manage API over https, trusting the same certificate.
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::from(vec![
            ureq::tls::Certificate::from_pem(ck.cert.pem().as_bytes()).unwrap(),
        ]))
        .build();
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .tls_config(tls)
        .build()
        .new_agent();
    let https_state = || -> Option<serde_json::Value> {
        let mut r = agent
            .get(format!(
                "https://127.0.0.1:{}{PREFIX}/manage/super/state",
                p.api
            ))
            .header("Authorization", "Bearer show-secret")
            .call()
            .ok()?;
        (r.status() == 200)
            .then(|| serde_json::from_str(&r.body_mut().read_to_string().ok()?).ok())?
    };
    // Edges can only learn their peers and table over https: a next hop
    // between them proves the Edge API worked.
    let routed = wait_for(Duration::from_secs(20), || {
        let s = https_state()?;
        (s["NhTable"]["1"]["2"].is_number() && s["NhTable"]["2"]["1"].is_number()).then_some(s)
    });
    assert!(
        routed.is_some(),
        "edges register and fetch over https\n{}\n{}",
        supernode.log(),
        edges
            .iter()
            .map(Proc::log)
            .collect::<Vec<_>>()
            .join("\n---\n")
    );
    assert!(
        edges[0].log().contains("next-hop table"),
        "{}",
        edges[0].log()
    );
    // Plain http to the TLS listener gets no answer.
    assert_ne!(get(p, "manage/super/state", Some("show-secret")).0, 200);
}
