//! Tests of the writing side: `SaveNewPeers` on every upstream example,
//! adding and removing peers, permissions, failure leaving the file intact,
//! comments and unknown keys kept, `EdgeTemplate` rendering, the add-request
//! check, and no panic on any input.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::NodeId;
use crate::wg::{PresharedKey, PrivateKey, PublicKey};

/// The upstream examples, vendored under tests/data.
fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/upstream-examples")
}

/// Every super or edge config among the upstream examples.
fn example_configs() -> Vec<(PathBuf, Config)> {
    let mut out = Vec::new();
    for mode in ["super_mode", "static_mode", "p2p_mode"] {
        let dir = examples_dir().join(mode);
        let Ok(rd) = fs::read_dir(&dir) else { continue };
        let mut files: Vec<PathBuf> = rd.map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files {
            if f.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let loaded = load_file(&f, None).unwrap();
            if loaded.config.kind() != FileKind::Generator {
                out.push((f, loaded.config));
            }
        }
    }
    out
}

fn super_of(c: Config) -> SuperConfig {
    match c {
        Config::Super(s) => *s,
        other => panic!("not a supernode config: {other:?}"),
    }
}

fn edge_of(c: Config) -> EdgeConfig {
    match c {
        Config::Edge(e) => *e,
        other => panic!("not an edge config: {other:?}"),
    }
}

fn copy_to_temp(src: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join(src.file_name().unwrap());
    fs::copy(src, &dst).unwrap();
    // A checkout may be read-only, and a read-only file is never
    // replaced; a user's copy is writable.
    fs::set_permissions(&dst, fs::Permissions::from_mode(0o600)).unwrap();
    (dir, dst)
}

fn example(mode: &str, name: &str) -> PathBuf {
    examples_dir().join(mode).join(name)
}

#[test]
fn every_example_round_trips_unchanged() {
    let all = example_configs();
    if all.is_empty() {
        println!(
            "skipped: no upstream examples at {}",
            examples_dir().display()
        );
        return;
    }
    assert!(all.len() >= 15, "found {}", all.len());
    for (path, config) in all {
        let (_dir, copy) = copy_to_temp(&path);
        let text = fs::read_to_string(&path).unwrap();
        match &config {
            Config::Super(s) => {
                save_super_peers(&copy, &s.peers).unwrap();
                // Upstream's files are yaml.v2 output: egd writes the same bytes.
                assert_eq!(super_peers_replaced(&path, &text, &s.peers).unwrap(), text);
            }
            Config::Edge(e) => {
                save_edge_peers(&copy, &e.peers).unwrap();
                assert_eq!(edge_peers_replaced(&path, &text, &e.peers).unwrap(), text);
            }
            Config::Generator(_) => unreachable!(),
        }
        let again = load_file(&copy, None).unwrap();
        assert!(again.warnings.is_empty(), "{:?}", again.warnings);
        let mut config = config;
        // EdgeTemplate resolves against the folder: compare as if in place.
        if let (Config::Super(a), Config::Super(b)) = (&mut config, &again.config) {
            a.edge_template = b.edge_template.clone();
        }
        assert_eq!(again.config, config, "{}", path.display());
    }
}

#[test]
fn supernode_adds_and_removes_a_peer() {
    let src = example("super_mode", "EgNet_super.yaml");
    if !src.exists() {
        println!("skipped: no upstream examples");
        return;
    }
    let (_dir, path) = copy_to_temp(&src);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    let before = super_of(load_file(&path, None).unwrap().config);
    let new = new_super_peer(
        &before.peers,
        &PeerAddFields {
            node_id: 7,
            name: "new edge: #7",
            public_key: "8RSl6sMj1jjkHt/OO+hOKpaxvo1ISaqc6eMXx7jheRY=",
            preshared_key: None,
            additional_cost_ms: Some(12.5),
            skip_local_ip: Some(true),
        },
    )
    .unwrap();
    let mut peers = before.peers.clone();
    peers.push(new.clone());
    save_super_peers(&path, &peers).unwrap();
    let loaded = load_file(&path, None).unwrap();
    assert!(loaded.warnings.is_empty());
    let after = super_of(loaded.config);
    assert_eq!(after.peers.last(), Some(&new));
    assert_eq!(
        SuperConfig {
            peers: before.peers.clone(),
            ..after.clone()
        },
        before
    );
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
        0o640
    );
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains("  Name: \"new edge: #7\"\n"), "{text}");
    assert!(text.contains("  AdditionalCost: 12.5\n"), "{text}");

    peers.remove(1);
    save_super_peers(&path, &peers).unwrap();
    let after = super_of(load_file(&path, None).unwrap().config);
    assert_eq!(after.peers, peers);
    save_super_peers(&path, &[]).unwrap();
    let after = super_of(load_file(&path, None).unwrap().config);
    assert!(after.peers.is_empty());
    assert!(fs::read_to_string(&path).unwrap().contains("\nPeers: []\n"));
}

#[test]
fn edge_saves_learned_peers() {
    let src = example("super_mode", "EgNet_edge001.yaml");
    if !src.exists() {
        println!("skipped: no upstream examples");
        return;
    }
    let (_dir, path) = copy_to_temp(&src);
    let before = edge_of(load_file(&path, None).unwrap().config);
    let learned = vec![
        EdgePeer {
            node_id: NodeId::new(2).unwrap(),
            public_key: PublicKey::from_bytes([2; 32]),
            preshared_key: Some(PresharedKey::from_bytes([3; 32])),
            endpoint: Some(Endpoint::parse("[2001:db8::1]:3002").unwrap()),
            persistent_keepalive: Some(Duration::from_secs(25)),
            is_static: false,
        },
        EdgePeer {
            node_id: NodeId::new(100).unwrap(),
            public_key: PublicKey::from_bytes([4; 32]),
            preshared_key: None,
            endpoint: Some(Endpoint::parse("relay.example.org:3456").unwrap()),
            persistent_keepalive: None,
            is_static: true,
        },
    ];
    save_edge_peers(&path, &learned).unwrap();
    let loaded = load_file(&path, None).unwrap();
    assert!(loaded.warnings.is_empty());
    let after = edge_of(loaded.config);
    assert_eq!(after.peers, learned);
    assert_eq!(
        EdgeConfig {
            peers: before.peers.clone(),
            ..after
        },
        before
    );
}

const SUPER_WITH_EXTRAS: &str = "\
# my supernode
NodeName: sn   # the name
PrivKeyV4: vm2M7cNXbrUFORMiLvlbAxXX0l0yduo5TAJ9vyRTQZE=
PrivKeyV6: xUJ4yaVl/O//PRS24UFMNXgmeF/rhykroCxdJrljFgE=
FutureKey: {a: 1}
Peers:
  # the first edge
  - NodeID: 1
    PubKey: lMiu9Qvf9qTo+X539+IxyA3YOleXMVTKtfOVHAnOIic=
    Colour: blue
# metrics below
Metrics:
  Listen: 127.0.0.1:9100
";

#[test]
fn comments_and_unknown_keys_stay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sn.yaml");
    fs::write(&path, SUPER_WITH_EXTRAS).unwrap();
    let before = load_file(&path, None).unwrap();
    let keys: Vec<&str> = before.warnings.iter().map(|w| w.key.as_str()).collect();
    assert_eq!(keys, ["FutureKey", "Peers[0].Colour"]);
    let peers = super_of(before.config).peers;
    save_super_peers(&path, &peers).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    for kept in [
        "# my supernode\n",
        "NodeName: sn   # the name\n",
        "FutureKey: {a: 1}\n",
    ] {
        assert!(text.contains(kept), "{kept:?} lost:\n{text}");
    }
    assert!(
        text.contains("\n# metrics below\nMetrics:\n  Listen: 127.0.0.1:9100\n"),
        "{text}"
    );
    assert!(
        text.contains("\nPeers:\n- NodeID: 1\n  Name: \"\"\n"),
        "{text}"
    );
    let after = load_file(&path, None).unwrap();
    let keys: Vec<&str> = after.warnings.iter().map(|w| w.key.as_str()).collect();
    assert_eq!(keys, ["FutureKey"]);
    assert_eq!(super_of(after.config).peers, peers);
}

#[test]
fn a_missing_peers_key_is_added() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sn.yaml");
    let text = "PrivKeyV4: vm2M7cNXbrUFORMiLvlbAxXX0l0yduo5TAJ9vyRTQZE=\n\
                PrivKeyV6: xUJ4yaVl/O//PRS24UFMNXgmeF/rhykroCxdJrljFgE=";
    fs::write(&path, text).unwrap();
    let peer = new_super_peer(
        &[],
        &PeerAddFields {
            node_id: 1,
            name: "a",
            public_key: "lMiu9Qvf9qTo+X539+IxyA3YOleXMVTKtfOVHAnOIic=",
            preshared_key: Some(""),
            additional_cost_ms: None,
            skip_local_ip: None,
        },
    )
    .unwrap();
    save_super_peers(&path, std::slice::from_ref(&peer)).unwrap();
    let after = super_of(load_file(&path, None).unwrap().config);
    assert_eq!(after.peers, [peer]);
}

#[test]
fn invalid_peers_or_file_leave_the_file_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sn.yaml");
    fs::write(&path, SUPER_WITH_EXTRAS).unwrap();
    let peers = super_of(load_file(&path, None).unwrap().config).peers;
    let twice = [peers[0].clone(), peers[0].clone()];
    let e = save_super_peers(&path, &twice).unwrap_err();
    let shown = e.to_string();
    assert!(shown.starts_with(&path.display().to_string()), "{shown}");
    assert!(
        shown.contains("Peers[1].NodeID") && shown.contains("duplicated"),
        "{shown}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), SUPER_WITH_EXTRAS);

    // A supernode file saved as an edge's: refused, untouched.
    assert!(matches!(
        save_edge_peers(&path, &[]),
        Err(WriteError::Config(_))
    ));
    // Flow style cannot be edited in place: refused, untouched.
    let flow = "{PrivKeyV4: vm2M7cNXbrUFORMiLvlbAxXX0l0yduo5TAJ9vyRTQZE=, \
                PrivKeyV6: xUJ4yaVl/O//PRS24UFMNXgmeF/rhykroCxdJrljFgE=, Peers: []}";
    fs::write(&path, flow).unwrap();
    let e = save_super_peers(&path, &peers).unwrap_err();
    assert!(matches!(e, WriteError::Edit { .. }), "{e}");
    assert_eq!(fs::read_to_string(&path).unwrap(), flow);
    // A missing file names itself.
    let gone = dir.path().join("gone.yaml");
    let e = save_super_peers(&gone, &peers).unwrap_err();
    assert!(e.to_string().contains("gone.yaml"), "{e}");
}

#[test]
fn unwritable_folder_leaves_the_file_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sn.yaml");
    fs::write(&path, SUPER_WITH_EXTRAS).unwrap();
    let peers = super_of(load_file(&path, None).unwrap().config).peers;
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o500)).unwrap();
    let probe = dir.path().join("probe");
    if fs::write(&probe, "").is_ok() {
        let _ = fs::remove_file(&probe);
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        println!("skipped: running with privileges that ignore folder permissions");
        return;
    }
    let e = save_super_peers(&path, &peers[..0]).unwrap_err();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
    assert!(matches!(e, WriteError::Io { .. }), "{e}");
    assert_eq!(fs::read_to_string(&path).unwrap(), SUPER_WITH_EXTRAS);
}

fn new_edge(key: Option<PrivateKey>) -> NewEdge {
    NewEdge {
        node_id: NodeId::new(42).unwrap(),
        name: "edge forty-two".to_owned(),
        private_key: key,
        supernode_psk: Some(PresharedKey::from_bytes([9; 32])),
        additional_cost: Duration::from_millis(25),
        skip_local_ip: true,
        interface_name: Some("eg42".to_owned()),
    }
}

#[test]
fn template_renders_a_config_that_passes_check() {
    let template = example("super_mode", "EgNet_edge001.yaml");
    if !template.exists() {
        println!("skipped: no upstream examples");
        return;
    }
    let key = PrivateKey::from_bytes([5; 32]);
    let text = render_edge_from_template(&template, &new_edge(Some(key.clone()))).unwrap();
    let loaded = load_str(Path::new("new.yaml"), &text, None).unwrap();
    assert!(loaded.warnings.is_empty());
    let e = edge_of(loaded.config);
    assert_eq!(e.mode(), EdgeMode::Super);
    assert_eq!(
        (e.node_id.get(), e.node_name.as_str()),
        (42, "edge forty-two")
    );
    assert_eq!(e.private_key, key);
    assert_eq!(e.interface.name, "eg42");
    assert_eq!(e.dynamic_route.additional_cost, Duration::from_millis(25));
    assert!(e.dynamic_route.super_node.skip_local_ip);
    assert_eq!(
        e.dynamic_route.super_node.preshared_key,
        Some(PresharedKey::from_bytes([9; 32]))
    );
    assert!(e.peers.is_empty() && e.next_hop_table.is_empty());
    // Everything else is the template's.
    let t = edge_of(load_file(&template, None).unwrap().config);
    assert_eq!(
        e.dynamic_route.super_node.endpoint_v4,
        t.dynamic_route.super_node.endpoint_v4
    );
    assert_eq!(e.dynamic_route.ntp, t.dynamic_route.ntp);

    // Without the key: upstream's placeholder, and only that differs.
    let blank = render_edge_from_template(&template, &new_edge(None)).unwrap();
    assert!(blank.contains("\nPrivKey: Your_Private_Key\n"), "{blank}");
    let filled = blank.replace(PRIVATE_KEY_PLACEHOLDER, &key.to_base64());
    assert_eq!(filled, text);
    assert!(load_str(Path::new("new.yaml"), &blank, None).is_err());
}

#[test]
fn template_missing_keys_are_added_and_non_super_templates_refused() {
    let full = example("super_mode", "EgNet_edge001.yaml");
    if !full.exists() {
        println!("skipped: no upstream examples");
        return;
    }
    let text = fs::read_to_string(&full).unwrap();
    let sparse: String = text
        .lines()
        .filter(|l| {
            ![
                "  AdditionalCost:",
                "    SkipLocalIP:",
                "    PSKey:",
                "NextHopTable:",
                "Peers:",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let key = PrivateKey::from_bytes([5; 32]);
    let out = render_edge_template_text(&full, &sparse, &new_edge(Some(key))).unwrap();
    let e = edge_of(load_str(&full, &out, None).unwrap().config);
    assert_eq!(e.dynamic_route.additional_cost, Duration::from_millis(25));
    assert!(e.dynamic_route.super_node.skip_local_ip);

    let static_edge = example("static_mode", "EgNet_edge1.yaml");
    let e = render_edge_from_template(&static_edge, &new_edge(None)).unwrap_err();
    assert!(e.to_string().contains("UseSuperNode"), "{e}");
    // A NodeID the template's MAC prefix cannot hold is named.
    let mut big = new_edge(None);
    big.node_id = NodeId::new(65000).unwrap();
    let five = text.replace(
        "MacAddrPrefix: 96:BB:DC:52",
        "MacAddrPrefix: 96:BB:DC:52:01",
    );
    let e = render_edge_template_text(&full, &five, &big).unwrap_err();
    assert!(e.to_string().contains("MacAddrPrefix"), "{e}");
}

#[test]
fn add_requests_are_checked_field_by_field() {
    let ok = PeerAddFields {
        node_id: 3,
        name: "three",
        public_key: "8RSl6sMj1jjkHt/OO+hOKpaxvo1ISaqc6eMXx7jheRY=",
        preshared_key: Some("ymMmOXRxdEVv/LQe4V2H5aUjYribOf7EXg4WOrLdoRU="),
        additional_cost_ms: Some(0.0),
        skip_local_ip: None,
    };
    let first = new_super_peer(&[], &ok).unwrap();
    assert_eq!(first.additional_cost, Duration::ZERO);
    assert!(first.preshared_key.is_some());
    let existing = [first];
    let cases: [(PeerAddFields<'_>, &str, bool, &str); 10] = [
        (
            PeerAddFields {
                node_id: 65535,
                ..ok
            },
            "NodeID",
            false,
            "reserved",
        ),
        (
            PeerAddFields {
                node_id: 1 << 20,
                ..ok
            },
            "NodeID",
            false,
            "16 bits",
        ),
        (
            PeerAddFields {
                node_id: 4,
                name: " ",
                ..ok
            },
            "Name",
            false,
            "empty",
        ),
        (
            PeerAddFields {
                node_id: 4,
                public_key: "AAAA",
                ..ok
            },
            "PubKey",
            false,
            "32 bytes",
        ),
        (
            PeerAddFields {
                node_id: 4,
                preshared_key: Some("x"),
                ..ok
            },
            "PSKey",
            false,
            "base64",
        ),
        (
            PeerAddFields {
                node_id: 4,
                additional_cost_ms: Some(-1.0),
                ..ok
            },
            "AdditionalCost",
            false,
            "0 or more",
        ),
        (ok, "NodeID", true, "exists"),
        (PeerAddFields { node_id: 4, ..ok }, "Name", true, "exists"),
        (
            PeerAddFields {
                node_id: 4,
                name: "four",
                ..ok
            },
            "PubKey",
            true,
            "exists",
        ),
        (
            PeerAddFields {
                node_id: 4,
                name: "four",
                public_key: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                ..ok
            },
            "PubKey",
            false,
            "all-zero",
        ),
    ];
    for (fields, field, conflict, words) in cases {
        let e = new_super_peer(&existing, &fields).unwrap_err();
        assert_eq!((e.field, e.conflict), (field, conflict), "{e}");
        assert!(
            e.to_string().starts_with(field) && e.reason.contains(words),
            "{e}"
        );
    }
}

fn peer_strategy() -> impl Strategy<Value = (u16, String, [u8; 32], Option<u64>)> {
    (
        1u16..65532,
        "\\PC{1,20}",
        any::<[u8; 32]>(),
        proptest::option::of(0u64..10_000_000),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_gives_an_error_or_a_file_that_loads(text in "(\\PC|\n| ){0,300}") {
        let p = Path::new("x.yaml");
        let _ = super_peers_replaced(p, &text, &[]);
        let _ = edge_peers_replaced(p, &text, &[]);
        let _ = render_edge_template_text(p, &text, &new_edge(None));
        if let Ok(out) = super_peers_replaced(p, &text, &[]) {
            prop_assert!(load_str(p, &out, Some(FileKind::Super)).is_ok());
        }
    }

    #[test]
    fn mutated_configs_give_an_error_or_the_intended_file(
        at in 0usize..2000,
        junk in "(\\PC|\n|  |- |: |#|\\{|\\[|'|\"){0,12}",
        which in 0usize..2,
    ) {
        let p = Path::new("x.yaml");
        let edge = fs::read_to_string(example("super_mode", "EgNet_edge001.yaml"))
            .unwrap_or_default();
        let base = if which == 0 { SUPER_WITH_EXTRAS } else { edge.as_str() };
        let mut cut = at.min(base.len());
        while !base.is_char_boundary(cut) {
            cut -= 1;
        }
        let text = format!("{}{junk}{}", &base[..cut], &base[cut..]);
        if let Ok(out) = super_peers_replaced(p, &text, &[]) {
            let back = super_of(load_str(p, &out, None).unwrap().config);
            prop_assert!(back.peers.is_empty());
        }
        if let Ok(out) = edge_peers_replaced(p, &text, &[]) {
            let back = edge_of(load_str(p, &out, Some(FileKind::Edge)).unwrap().config);
            prop_assert!(back.peers.is_empty());
        }
        let key = PrivateKey::from_bytes([5; 32]);
        if let Ok(out) = render_edge_template_text(p, &text, &new_edge(Some(key))) {
            let back = edge_of(load_str(p, &out, Some(FileKind::Edge)).unwrap().config);
            prop_assert_eq!(back.node_id.get(), 42);
        }
    }

    #[test]
    fn any_peer_list_round_trips(raw in proptest::collection::vec(peer_strategy(), 0..6)) {
        let mut peers: Vec<SuperPeer> = Vec::new();
        for (id, name, key, cost_us) in raw {
            let node_id = NodeId::new(id).unwrap();
            let public_key = PublicKey::from_bytes(key);
            if peers.iter().any(|p| p.node_id == node_id || p.public_key == public_key) {
                continue;
            }
            peers.push(SuperPeer {
                node_id,
                name,
                public_key,
                preshared_key: None,
                additional_cost: Duration::from_micros(cost_us.unwrap_or(10_000)),
                skip_local_ip: cost_us.is_some(),
                endpoint: None,
                external_ip: None,
            });
        }
        let p = Path::new("x.yaml");
        let out = super_peers_replaced(p, SUPER_WITH_EXTRAS, &peers).unwrap();
        let back = super_of(load_str(p, &out, None).unwrap().config);
        prop_assert_eq!(back.peers, peers);
    }
}
