//! The topology page in a real browser: a supernode and four edges (real
//! processes, dummy interfaces, loopback) with `ManualLatency` forcing an
//! asymmetric route (1 → 2 goes through 3, 2 → 1 is direct), a fifth
//! configured edge that never starts (offline), and headless Chromium driven
//! over WebDriver. Checks the node count, an edge label, the offline mark,
//! the forward and return paths after two clicks, a live update without a
//! reload, and that no key or password reaches the page or its JSON. Saves
//! a screenshot to `$CARGO_TARGET_TMPDIR/topology.png`.
//!
//! A second test serves the same page from a P2P edge (`Web` key) over
//! plain HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // real processes: waiting on the wall clock is the point

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::loopback::{self, free_port, get, get_ok, logs, write};
use crate::support::procs::{self, Proc};
use crate::support::supernode::{Passwords, SuperPeer, Supernode};
use crate::support::wait_for;
use crate::support::webdriver;
use egd::wg::PrivateKey;
use egd::wg::keys::{private_key_from_random, public_key};
use serde_json::Value;

const EGD: &str = env!("CARGO_BIN_EXE_egd");
const PREFIX: &str = "/egd_topo/api";
const SHOW: &str = "show-me-the-mesh";
const OTHER_PASSWORDS: [&str; 4] = ["add-pw-x1", "del-pw-x2", "upd-pw-x3", "sup-pw-x4"];
const NAMES: [&str; 5] = ["alpha", "bravo", "charlie", "delta", "echo"];
/// Edges 1–4 run; 5 is configured and never starts.
const RUNNING: [u8; 4] = [1, 2, 3, 4];

fn key(n: u8) -> PrivateKey {
    private_key_from_random([n.wrapping_mul(29).wrapping_add(7); 32])
}

fn psk(n: u8) -> String {
    private_key_from_random([n.wrapping_mul(31).wrapping_add(3); 32]).to_base64()
}

fn name(id: u8) -> &'static str {
    NAMES[usize::from(id) - 1]
}

fn spawn(config: &Path) -> Proc {
    loopback::spawn(EGD, &["--no-uapi", "--bind", "std"], config)
}

/// The supernode on `udp` and `api`, its keys 200 and 201.
fn network(udp: u16, api: u16) -> Supernode {
    Supernode::new(udp, api, PREFIX, [&key(200), &key(201)], 4)
}

fn super_yaml(net: &Supernode) -> String {
    let peers: Vec<SuperPeer> = (1..=5u8)
        .map(|id| SuperPeer {
            id,
            name: name(id).to_owned(),
            public_key: public_key(&key(id)).to_base64(),
            psk: psk(id),
        })
        .collect();
    let [add_peer, del_peer, update_peer, update_super] = OTHER_PASSWORDS;
    let passwords = Passwords {
        show_state: SHOW,
        add_peer,
        del_peer,
        update_peer,
        update_super,
    };
    // 1 → 2 costs more than 1 → 3 → 2; 2 → 1 is direct.
    let manual_latency = "  ManualLatency:
    65535: {65535: 30}
    1: {2: 80, 3: 4}
    3: {2: 4}
    2: {1: 6}
";
    net.config(&passwords, &peers, manual_latency)
}

fn edge_yaml(net: &Supernode, id: u8) -> String {
    net.edge(
        id,
        &format!("egd-topo{id}"),
        name(id),
        &key(id).to_base64(),
        Some(&psk(id)),
    )
}

fn json(url: &str, bearer: &str) -> Option<Value> {
    serde_json::from_str(&get_ok(url, Some(bearer))?).ok()
}

/// Every secret the configs hold, and the public keys too (the page has no
/// use for any key, so none may appear).
fn key_material(extra_ids: &[u8]) -> Vec<String> {
    let mut all: Vec<String> = OTHER_PASSWORDS.iter().map(|s| s.to_string()).collect();
    all.push(SHOW.to_owned());
    for id in (1..=5).chain([200, 201]).chain(extra_ids.iter().copied()) {
        all.push(key(id).to_base64());
        all.push(public_key(&key(id)).to_base64());
        all.push(psk(id));
    }
    all
}

fn assert_no_key_material(what: &str, text: &str, material: &[String]) {
    for secret in material {
        assert!(
            !text.contains(secret.as_str()),
            "{what} contains key material or a password"
        );
        // Also as it would appear URL- or JSON-escaped.
        let escaped = secret.replace('+', "%2B").replace('/', "%2F");
        assert!(
            !text.contains(&escaped),
            "{what} contains escaped key material"
        );
        assert!(!text.contains(&secret.replace('/', "\\/")), "{what}");
    }
}

#[test]
fn the_supernode_page_draws_the_mesh_and_both_paths_in_a_browser() {
    if webdriver::unavailable().is_some() {
        return;
    }
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let net = network(free_port(), free_port());
    let api = net.api;
    let super_path = write(dir.path(), "super.yaml", &super_yaml(&net));
    let supernode = spawn(&super_path);
    let mut edges: Vec<Proc> = RUNNING
        .iter()
        .map(|id| {
            spawn(&write(
                dir.path(),
                &format!("edge{id}.yaml"),
                &edge_yaml(&net, *id),
            ))
        })
        .collect();
    let state_url = net.url("manage/super/state");

    // Converged: all twelve directed links among 1–4 measured, and the
    // manual latencies make 1 → 2 go through 3 while 2 → 1 is direct.
    let converged = wait_for(Duration::from_secs(40), || {
        let s = json(&state_url, SHOW)?;
        let all = RUNNING.iter().all(|a| {
            RUNNING
                .iter()
                .all(|b| a == b || s["Edges"][a.to_string()][b.to_string()].is_number())
        });
        (all && s["NhTable"]["1"]["2"] == 3 && s["NhTable"]["2"]["1"] == 1).then_some(s)
    });
    let state = converged.unwrap_or_else(|| {
        panic!(
            "the mesh converges: {:?}\n{}",
            json(&state_url, SHOW),
            logs(&supernode, &edges)
        )
    });
    assert_eq!(state["Edges"]["1"]["3"], 0.004, "{state}");
    eprintln!("mesh converged after {:?}", started.elapsed());

    // Nothing secret in the page or its JSON, whichever way it is fetched.
    let material = key_material(&[]);
    let page_url = format!("http://127.0.0.1:{api}/?Password={SHOW}");
    let (status, html) = get(&page_url, None);
    assert_eq!(status, 200);
    assert_no_key_material("the page", &html, &material);
    assert_no_key_material(
        "the state JSON",
        &serde_json::to_string(&state).unwrap(),
        &material,
    );
    assert_eq!(get(&format!("http://127.0.0.1:{api}/"), None).0, 401);

    // The browser.
    let browser = webdriver::Browser::start(1280, 800);
    browser.open(&page_url);
    let drawn = wait_for(Duration::from_secs(20), || {
        let v = browser.eval(
            "return document.querySelectorAll('#nodes .node').length === 5 \
             && document.querySelectorAll('#edges .edge').length >= 12 \
             && document.getElementById('topo').dataset.settled === '1'",
        );
        (v == Value::Bool(true)).then_some(())
    });
    assert!(
        drawn.is_some(),
        "the page draws 5 nodes and 12 links: {}",
        browser.eval("return document.getElementById('status').textContent")
    );
    assert_eq!(
        browser.eval("return document.querySelectorAll('#nodes .node').length"),
        5
    );
    assert_eq!(
        browser.eval(
            "return document.querySelector('.edge[data-src=\"1\"][data-dst=\"3\"] text.label').textContent"
        ),
        "4.00 ms"
    );
    assert_eq!(
        browser.eval(
            "return document.querySelector('.edge[data-src=\"1\"][data-dst=\"2\"] text.label').textContent"
        ),
        "80.0 ms"
    );
    // One arrow per direction, bent apart: the two curves of a link differ.
    let bent = browser.eval(
        "const a = document.querySelector('.edge[data-src=\"1\"][data-dst=\"2\"] path').getAttribute('d');\
         const b = document.querySelector('.edge[data-src=\"2\"][data-dst=\"1\"] path').getAttribute('d');\
         return a !== b && a.includes('Q') && b.includes('Q')",
    );
    assert_eq!(bent, true);
    assert_eq!(
        browser.eval(
            "return document.querySelector('.node[data-id=\"5\"]').classList.contains('offline')"
        ),
        true,
        "the edge that never started is marked offline"
    );
    assert_eq!(
        browser.eval("return document.querySelector('.node[data-id=\"1\"] .name').textContent"),
        "alpha"
    );
    let dom = browser.eval("return document.documentElement.outerHTML");
    assert_no_key_material("the rendered page", dom.as_str().unwrap(), &material);

    // Two clicks: forward 1 → 3 → 2, return 2 → 1.
    browser.click(".node[data-id=\"1\"]");
    browser.click(".node[data-id=\"2\"]");
    let path = |id: &str| {
        browser.eval(&format!(
            "return document.getElementById('{id}').dataset.path"
        ))
    };
    assert_eq!(path("path-fwd"), "1,3,2");
    assert_eq!(path("path-ret"), "2,1");
    assert_ne!(path("path-fwd"), path("path-ret"));
    let highlighted = browser.eval(
        "return [...document.querySelectorAll('#highlight path.hl')]\
         .map(p => p.classList[1] + ':' + p.dataset.src + '>' + p.dataset.dst + ':' + getComputedStyle(p).stroke)",
    );
    let hl: Vec<&str> = highlighted
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(hl.len(), 3, "{hl:?}");
    assert!(
        hl[0].starts_with("fwd:1>3:") && hl[1].starts_with("fwd:3>2:"),
        "{hl:?}"
    );
    assert!(hl[2].starts_with("ret:2>1:"), "{hl:?}");
    let colour = |s: &str| s.rsplit(':').next().unwrap().to_owned();
    assert_ne!(
        colour(hl[0]),
        colour(hl[2]),
        "forward and return differ in colour"
    );
    let text = browser.eval("return document.querySelector('aside').innerText");
    let text = text.as_str().unwrap();
    assert!(text.contains("alpha → charlie → bravo"), "{text}");
    assert!(text.contains("Asymmetric"), "{text}");
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("topology.png");
    browser.screenshot(&shot);
    eprintln!("screenshot: {}", shot.display());

    // Live update without a reload: delta stops and turns offline.
    browser.eval("window.egdNoReload = true; return null");
    edges[3].terminate();
    let offline = wait_for(Duration::from_secs(20), || {
        let v = browser.eval(
            "return window.egdNoReload === true && \
             document.querySelector('.node[data-id=\"4\"]').classList.contains('offline')",
        );
        (v == Value::Bool(true)).then_some(())
    });
    assert!(
        offline.is_some(),
        "delta turns offline on the open page: {}",
        logs(&supernode, &edges)
    );
    // The selection survives updates.
    assert_eq!(path("path-fwd"), "1,3,2");
    eprintln!("browser test took {:?}", started.elapsed());
}

/// A P2P edge config on loopback; `web` adds the `Web` key.
fn p2p_yaml(id: u8, ports: &[u16; 3], web: Option<u16>) -> String {
    let mut peers = String::new();
    for other in 1..=3u8 {
        if other == id {
            continue;
        }
        let pair = id.min(other) * 10 + id.max(other);
        peers.push_str(&format!(
            "- NodeID: {other}\n  PubKey: {}\n  PSKey: {}\n  EndPoint: 127.0.0.1:{}\n  PersistentKeepalive: 0\n  Static: true\n",
            public_key(&key(other)).to_base64(),
            psk(pair),
            ports[usize::from(other) - 1],
        ));
    }
    let web = web.map_or(String::new(), |port| {
        format!("Web:\n  Listen: 127.0.0.1:{port}\n  Password: {SHOW}\n")
    });
    format!(
        "Interface:
  IType: dummy
  Name: egd-p2p{id}
  MTU: 1400
NodeID: {id}
NodeName: {}
PrivKey: {}
ListenPort: {}
DisabledAf:
  IPv6: true
LogLevel:
  LogLevel: info
DynamicRoute:
  SendPingInterval: 1
  PeerAliveTimeout: 4
  ConnNextTry: 1
  SaveNewPeers: false
  SuperNode:
    UseSuperNode: false
  P2P:
    UseP2P: true
    SendPeerInterval: 1
    GraphRecalculateSetting:
      JitterTolerance: 5
      JitterToleranceMultiplier: 1
      TimeoutCheckInterval: 1
      RecalculateCoolDown: 1
  NTPConfig:
    UseNTP: false
{web}Peers:
{peers}",
        name(id),
        key(id).to_base64(),
        ports[usize::from(id) - 1],
    )
}

#[test]
fn a_p2p_edge_serves_the_page_of_its_own_graph() {
    let dir = tempfile::tempdir().unwrap();
    let ports = [free_port(), free_port(), free_port()];
    let web = free_port();
    let nodes: Vec<Proc> = (1..=3u8)
        .map(|id| {
            let text = p2p_yaml(id, &ports, (id == 1).then_some(web));
            spawn(&write(dir.path(), &format!("p2p{id}.yaml"), &text))
        })
        .collect();
    let state_url = format!("http://127.0.0.1:{web}/manage/super/state");
    let full = wait_for(Duration::from_secs(30), || {
        let s = json(&state_url, SHOW)?;
        let all = (1..=3u8).all(|a| {
            (1..=3u8).all(|b| a == b || s["Edges"][a.to_string()][b.to_string()].is_number())
        });
        (all && s["NhTable"]["1"]["2"].is_number()).then_some(s)
    });
    let state = full.unwrap_or_else(|| {
        panic!(
            "edge 1's graph fills in: {:?}\n{}",
            json(&state_url, SHOW),
            procs::logs(&nodes)
        )
    });
    assert_eq!(state["PeerInfo"]["1"]["Name"], "alpha");
    assert_eq!(state["PeerInfo"]["2"]["Online"], true);

    let page = format!("http://127.0.0.1:{web}/");
    assert_eq!(get(&page, None).0, 401);
    assert_eq!(get(&format!("{page}?Password=wrong"), None).0, 401);
    assert_eq!(get(&state_url, None).0, 401);
    let (status, html) = get(&format!("{page}?Password={SHOW}"), None);
    assert_eq!(status, 200);
    assert!(html.contains("content=\"manage/super/state\""), "{html}");
    // Read-only: the other management calls are refused even with the secret.
    let (status, _) = get(
        &format!("http://127.0.0.1:{web}/manage/peer/del?NodeID=2"),
        Some(SHOW),
    );
    assert_eq!(status, 401);
    let material = key_material(&[12, 13, 23]);
    assert_no_key_material("the edge's page", &html, &material);
    assert_no_key_material(
        "the edge's JSON",
        &serde_json::to_string(&state).unwrap(),
        &material,
    );
}
