//! A real supernode and edges (dummy interfaces) on loopback, driven through
//! the Manage API over HTTP: secrets via `?Password=` and `Authorization:
//! Bearer` (wrong ones change nothing), `super/state`, `peer/add` returning
//! a config the new edge joins with (no restart of anything), live
//! `super/update` and `peer/update`, `SaveNewPeers` written atomically, a
//! supernode restart losing no peer, and `peer/del` by the edge's own
//! private key stopping that edge. Also the supernode's `PostScript`, run
//! once its listeners are up.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // real processes: waiting on the wall clock is the point

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::support::loopback::{self, free_port, logs, write};
use crate::support::procs::Proc;
use crate::support::supernode::{Passwords, SuperPeer, Supernode};
use crate::support::wait_for;
use egd::wg::keys::{private_key_from_random, public_key};

const EGD: &str = env!("CARGO_BIN_EXE_egd");
const PREFIX: &str = "/egd_test/api";

fn key(n: u8) -> egd::wg::PrivateKey {
    private_key_from_random([n.wrapping_mul(13).wrapping_add(1); 32])
}

const PASSWORDS: Passwords<'static> = Passwords {
    show_state: "show-secret",
    add_peer: "add-secret",
    del_peer: "del-secret",
    update_peer: "upd-secret",
    update_super: "sup-secret",
};

/// The supernode on two free ports, its keys 200 and 201.
fn network() -> Supernode {
    Supernode::new(free_port(), free_port(), PREFIX, [&key(200), &key(201)], 6)
}

fn super_yaml(p: &Supernode, peers: &[u8]) -> String {
    let peers: Vec<SuperPeer> = peers
        .iter()
        .map(|&id| SuperPeer {
            id,
            name: format!("edge{id}"),
            public_key: public_key(&key(id)).to_base64(),
            psk: "\"\"".to_owned(),
        })
        .collect();
    p.config(&PASSWORDS, &peers, "EdgeTemplate: template.yaml\n")
}

/// An edge config in super mode on loopback (also the template, with the
/// placeholder key).
fn edge_yaml(p: &Supernode, id: u8, private_key: &str) -> String {
    p.edge(
        id,
        &format!("egd-t{id}"),
        &format!("edge{id}"),
        private_key,
        None,
    )
}

fn spawn(config: &Path) -> Proc {
    loopback::spawn(EGD, &["--bind", "std"], config)
}

/// (status, body) of a GET.
fn get(p: &Supernode, path: &str, bearer: Option<&str>) -> (u16, String) {
    loopback::get(&p.url(path), bearer)
}

/// (status, body) of a form POST.
fn post(p: &Supernode, path: &str, bearer: Option<&str>, form: &[(&str, &str)]) -> (u16, String) {
    loopback::post(&p.url(path), bearer, form)
}

fn state(p: &Supernode) -> serde_json::Value {
    let (status, body) = get(p, "manage/super/state", Some("show-secret"));
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn online(p: &Supernode, id: u8) -> bool {
    state(p)["PeerInfo"][id.to_string()]["Online"] == serde_json::Value::Bool(true)
}

/// `egd --check --config PATH` accepts the file.
fn assert_loads(path: &Path) {
    let check = Command::new(EGD)
        .arg("--check")
        .arg("--config")
        .arg(path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn the_manage_api_changes_a_running_network() {
    let dir = tempfile::tempdir().unwrap();
    let net = network();
    let p = &net;
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
    let up = wait_for(Duration::from_secs(20), || {
        (get(p, "manage/super/state", Some("show-secret")).0 == 200 && online(p, 1) && online(p, 2))
            .then_some(())
    });
    assert!(
        up.is_some(),
        "edges 1 and 2 register\n{}",
        logs(&supernode, &edges)
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
    assert_loads(&edge3_path);
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
        logs(&supernode, &edges)
    );
    // SaveNewPeers: the supernode's file lists the new peer and still loads
    // (written by its main loop after the API answered).
    let saved = saved_config(&super_path, true);
    assert!(saved.contains("NodeID: 3"), "{saved}");
    assert_loads(&super_path);

    // Live updates.
    let (status, body) = post(
        p,
        "manage/super/update",
        Some("sup-secret"),
        &[("SendPingInterval", "0.5")],
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        edges[0].wait_log("ping every 0.5 s", Duration::from_secs(10)),
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
        logs(&supernode, &edges)
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
    // Exited is not yet read to the end: the reader thread may lag.
    assert!(
        edges[2].wait_log("shut down", Duration::from_secs(5)),
        "{}",
        edges[2].log()
    );
    assert!(state(p)["PeerInfo"].get("3").is_none());
    let saved = saved_config(&super_path, false);
    assert!(!saved.contains("NodeID: 3"), "{saved}");
    assert!(edges[0].alive() && edges[1].alive() && supernode.alive());
}

/// The supernode's config file once it does (`listed`) or does not list
/// node 3, or as it is after 5 s.
fn saved_config(path: &Path, listed: bool) -> String {
    let read = || std::fs::read_to_string(path).unwrap_or_default();
    wait_for(Duration::from_secs(5), || {
        let text = read();
        (text.contains("NodeID: 3") == listed).then_some(text)
    })
    .unwrap_or_else(read)
}

#[test]
fn both_apis_serve_https_and_edges_trust_the_configured_ca() {
    let dir = tempfile::tempdir().unwrap();
    let net = network();
    let p = &net;
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
        "edges register and fetch over https\n{}",
        logs(&supernode, &edges)
    );
    // The supernode's table can be seen before edge 1 has logged its copy.
    assert!(
        edges[0].wait_log("next-hop table", Duration::from_secs(10)),
        "{}",
        edges[0].log()
    );
    // Plain http to the TLS listener gets no answer.
    assert_ne!(get(p, "manage/super/state", Some("show-secret")).0, 200);
}

/// The supernode's `PostScript` runs once, after its UDP socket and its
/// HTTP listener are up (the script finds both in /proc/net), with
/// upstream's `EG_MODE` and `EG_NODE_NAME`; the supernode keeps serving.
#[test]
fn super_post_script_runs_once_its_listeners_are_up() {
    let dir = tempfile::tempdir().unwrap();
    let p = network();
    let out = dir.path().join("post.out");
    let runs = dir.path().join("runs");
    // Lines of /proc/net/{udp,tcp}[6] whose local address ends in the
    // port (hex); for TCP only listeners (state 0A).
    let script = format!(
        "echo run >> '{runs}'
udp=$(cat /proc/net/udp /proc/net/udp6 2>/dev/null | awk '$2 ~ /:{udp:04X}$/' | wc -l)
tcp=$(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$2 ~ /:{api:04X}$/ && $4 == \"0A\"' | wc -l)
printf '%s|%s|%s|%s' \"$EG_MODE\" \"$EG_NODE_NAME\" $udp $tcp > '{out}.tmp'
mv '{out}.tmp' '{out}'
",
        runs = runs.display(),
        out = out.display(),
        udp = p.udp,
        api = p.api,
    );
    let script_path = write(dir.path(), "post.sh", &script);
    let text = format!(
        "PostScript: sh {}\n{}",
        script_path.display(),
        super_yaml(&p, &[1])
    );
    let mut supernode = spawn(&write(dir.path(), "super.yaml", &text));
    let written = wait_for(Duration::from_secs(10), || {
        std::fs::read_to_string(&out).ok()
    })
    .unwrap_or_else(|| panic!("PostScript did not run:\n{}", supernode.log()));
    let fields: Vec<&str> = written.split('|').collect();
    assert_eq!(fields[..2], ["super", "super"], "{written}");
    let count = |i: usize| fields[i].trim().parse::<u32>().unwrap();
    assert!(count(2) >= 1, "no UDP socket on {}: {written}", p.udp);
    assert!(count(3) >= 1, "no HTTP listener on {}: {written}", p.api);
    // Still serving, and the script ran exactly once.
    let (status, _) = get(&p, "manage/super/state", Some(PASSWORDS.show_state));
    assert_eq!(status, 200, "{}", supernode.log());
    assert_eq!(std::fs::read_to_string(&runs).unwrap(), "run\n");
    assert!(supernode.alive(), "{}", supernode.log());
}
