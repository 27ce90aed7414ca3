//! Table tests of `--mode gencfg` (network.rs, mesh.rs,
//! super_mode.rs): generator text in, files out, each loaded back.

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::*;
use crate::wg::PresharedKey;
use crate::wg::keys::public_key;

const SEED: [u8; 32] = [7; 32];

const STATIC: &str = "Config output dir: out
Enable generated config overwrite: false
Add NodeID to the interface name: true
ConfigTemplate for edge node: \"\"
Network name: \"Net\"
Edge Node:
  MacAddress prefix: \"\"
  IPv4 range: 192.168.76.0/24
  IPv6 range: fd95:71cb:a3df:e586::/64
  IPv6 LL range: fe80::a3df:0/112
Edge Nodes:
  1:
    Endpoint(optional): 127.0.0.1:3001
  2:
    Endpoint(optional): 127.0.0.1:3002
  3:
    Endpoint(optional): \"\"
  10:
    Endpoint(optional): example.net:3010
Distance matrix for all nodes: |-
  X 1   2   3   10
  1 0   1.0 Inf Inf
  2 1.0 0   1.0 0.5
  3 Inf 1.0 0   Inf
  10 Inf 0.5 1.0 0
";

const SUPER: &str = "Config output dir: out
Enable generated config overwrite: false
Add NodeID to the interface name: false
Network name: Sn
Super Node:
  Listen port: 3456
  EdgeAPI prefix: /eg_net/eg_api
  Endpoint(IPv4)(optional): 127.0.0.1
  Endpoint(IPv6)(optional): ::1
  Endpoint(EdgeAPI): http://127.0.0.1:3456/eg_net/eg_api
Edge Node:
  Node IDs: \"[1~2,100]\"
  MacAddress prefix: \"AA:BB:CC:DD\"
  IPv4 range: 192.168.76.0/24
";

const P2P_NO_MATRIX: &str = "Config output dir: out
Network name: P
Edge Node:
  MacAddress prefix: \"\"
Edge Nodes:
  1:
    Endpoint(optional): \"\"
  2:
    Endpoint(optional): \"\"
  3:
    Endpoint(optional): 127.0.0.1:3003
Distance matrix for all nodes: \"\"
";

fn gen_config(text: &str) -> GenConfig {
    match load_str(Path::new("gen.yaml"), text, Some(FileKind::Generator))
        .unwrap()
        .config
    {
        Config::Generator(g) => *g,
        other => panic!("not a generator: {other:?}"),
    }
}

fn run(text: &str, mode: GenMode, seed: [u8; 32]) -> Result<GeneratedNetwork, WriteError> {
    let g = gen_config(text);
    let t = read_templates(&g)?;
    generate(Path::new("gen.yaml"), &g, &t, mode, seed)
}

fn edges(net: &GeneratedNetwork) -> BTreeMap<u16, EdgeConfig> {
    net.files
        .iter()
        .filter_map(
            |f| match load_str(Path::new(&f.name), &f.text, None).unwrap().config {
                Config::Edge(e) => Some((e.node_id.get(), *e)),
                _ => None,
            },
        )
        .collect()
}

fn names(net: &GeneratedNetwork) -> Vec<&str> {
    net.files.iter().map(|f| f.name.as_str()).collect()
}

#[test]
fn static_network_peers_keys_and_table() {
    let net = run(STATIC, GenMode::Static, SEED).unwrap();
    assert_eq!(
        names(&net),
        [
            "Net_edge01.yaml",
            "Net_edge02.yaml",
            "Net_edge03.yaml",
            "Net_edge10.yaml"
        ]
    );
    let e = edges(&net);
    // Peers: wherever the matrix has an edge in either direction.
    let peer_ids = |id: u16| -> Vec<u16> { e[&id].peers.iter().map(|p| p.node_id.get()).collect() };
    assert_eq!(peer_ids(1), [2]);
    assert_eq!(peer_ids(2), [1, 3, 10]);
    assert_eq!(peer_ids(3), [2, 10]);
    assert_eq!(peer_ids(10), [2, 3]);
    for (id, cfg) in &e {
        assert_eq!(cfg.mode(), EdgeMode::Static);
        assert_eq!(cfg.node_name, format!("Net{id:02}"));
        assert_eq!(cfg.interface.name, format!("Net{id:02}"));
        for p in &cfg.peers {
            let other = &e[&p.node_id.get()];
            assert_eq!(
                p.public_key,
                public_key(&other.private_key),
                "{id} → {}",
                p.node_id
            );
            let back = other.peers.iter().find(|q| q.node_id.get() == *id).unwrap();
            assert_eq!(p.preshared_key, back.preshared_key, "one PSK per pair");
            assert!(p.preshared_key.is_some() && p.is_static);
            assert_eq!(p.endpoint, other_endpoint(p.node_id.get()));
            let keepalive = (*id == 3).then_some(std::time::Duration::from_secs(30));
            assert_eq!(
                p.persistent_keepalive, keepalive,
                "only the node without endpoint"
            );
        }
        let port = [(1, 3001), (2, 3002), (3, 0), (10, 3010)];
        assert!(port.contains(&(*id, cfg.listen_port)));
    }
    let psks: std::collections::BTreeSet<_> = e
        .values()
        .flat_map(|c| {
            c.peers
                .iter()
                .map(|p| p.preshared_key.as_ref().map(PresharedKey::to_base64))
        })
        .collect();
    assert_eq!(psks.len(), 4, "four links, four PSKs");
    // The table is the solver's on the same matrix, in every edge.
    let matrix = gen_config(STATIC).distance_matrix;
    let solved = egd_routing::solve(&egd_routing::parse_matrix(&matrix).unwrap()).unwrap();
    let table = net.next_hop_table.clone().unwrap();
    assert_eq!(table.values().map(BTreeMap::len).sum::<usize>(), 12);
    for (s, d, n) in solved.next_hop_table().iter() {
        assert_eq!(table[&s][&d], n);
    }
    assert_eq!(table[&id(1)][&id(10)], id(2));
    assert_eq!(table[&id(3)][&id(10)], id(2), "3 → 10 has no edge");
    for cfg in e.values() {
        assert_eq!(cfg.next_hop_table, table);
    }
    // Same random MAC prefix everywhere, locally administered.
    let mac = e[&1].interface.mac_prefix.unwrap();
    assert!(e.values().all(|c| c.interface.mac_prefix == Some(mac)));
    assert_eq!(mac.mac_for(id(1)).unwrap()[0] & 0b11, 0b10);
    assert_eq!(
        e[&1].interface.ipv4.map(|n| n.to_string()).as_deref(),
        Some("192.168.76.0/24")
    );
}

fn other_endpoint(id: u16) -> Option<Endpoint> {
    match id {
        1 => Endpoint::parse("127.0.0.1:3001").ok(),
        2 => Endpoint::parse("127.0.0.1:3002").ok(),
        10 => Endpoint::parse("example.net:3010").ok(),
        _ => None,
    }
}

fn id(n: u16) -> crate::NodeId {
    crate::NodeId::new(n).unwrap()
}

#[test]
fn the_seed_decides_everything() {
    for (text, mode) in [
        (STATIC, GenMode::Static),
        (SUPER, GenMode::Super),
        (P2P_NO_MATRIX, GenMode::P2p),
    ] {
        let a = run(text, mode, SEED).unwrap();
        assert_eq!(a, run(text, mode, SEED).unwrap(), "{mode:?}");
        let b = run(text, mode, [8; 32]).unwrap();
        assert_ne!(a.files[0].text, b.files[0].text, "{mode:?}");
        assert_eq!(names(&a), names(&b));
    }
}

#[test]
fn p2p_without_matrix_links_every_pair_with_an_endpoint() {
    let net = run(P2P_NO_MATRIX, GenMode::P2p, SEED).unwrap();
    assert_eq!(net.next_hop_table, None);
    let e = edges(&net);
    let peer_ids = |id: u16| -> Vec<u16> { e[&id].peers.iter().map(|p| p.node_id.get()).collect() };
    assert_eq!(peer_ids(1), [3]);
    assert_eq!(peer_ids(2), [3]);
    assert_eq!(peer_ids(3), [1, 2]);
    for cfg in e.values() {
        assert_eq!(cfg.mode(), EdgeMode::P2p);
        assert!(cfg.next_hop_table.is_empty());
        assert_eq!(
            cfg.dynamic_route.additional_cost,
            std::time::Duration::from_secs(1),
            "upstream's P2P default"
        );
    }
    assert_eq!(
        names(&net),
        ["P_edge1.yaml", "P_edge2.yaml", "P_edge3.yaml"]
    );
}

#[test]
fn super_network_supernode_and_edges_agree() {
    let net = run(SUPER, GenMode::Super, SEED).unwrap();
    assert_eq!(
        names(&net),
        [
            "Sn_super.yaml",
            "Sn_edge001.yaml",
            "Sn_edge002.yaml",
            "Sn_edge100.yaml"
        ]
    );
    let sup = match load_str(Path::new("s.yaml"), &net.files[0].text, None)
        .unwrap()
        .config
    {
        Config::Super(s) => *s,
        other => panic!("{other:?}"),
    };
    assert_eq!(sup.node_name, "SnSN");
    assert_eq!(
        (sup.listen_port, sup.edge_api_port, sup.manage_api_port),
        (3456, 3456, 3456)
    );
    assert_eq!(sup.api_prefix, "/eg_net/eg_api");
    assert_eq!(
        sup.edge_template.as_deref(),
        Some(Path::new("Sn_edge001.yaml"))
    );
    let pw = &sup.passwords;
    let secrets: std::collections::BTreeSet<&str> = [
        &pw.show_state,
        &pw.add_peer,
        &pw.del_peer,
        &pw.update_peer,
        &pw.update_super,
    ]
    .iter()
    .map(|s| s.as_ref().unwrap().expose())
    .collect();
    assert_eq!(secrets.len(), 5);
    assert!(secrets.iter().all(|s| s.len() == 32));
    let e = edges(&net);
    assert_eq!(e.keys().copied().collect::<Vec<_>>(), [1, 2, 100]);
    assert_eq!(sup.peers.len(), 3);
    for p in &sup.peers {
        let edge = &e[&p.node_id.get()];
        assert_eq!(edge.mode(), EdgeMode::Super);
        assert_eq!(p.public_key, public_key(&edge.private_key));
        let link = &edge.dynamic_route.super_node;
        assert_eq!(p.preshared_key, link.preshared_key);
        assert!(p.preshared_key.is_some());
        assert_eq!(p.name, edge.node_name);
        assert_eq!(p.name, format!("Sn{:03}", p.node_id.get()));
        assert_eq!(edge.interface.name, "Sn", "no NodeID in the interface name");
        assert_eq!(link.public_key_v4, Some(public_key(&sup.private_key_v4)));
        assert_eq!(link.public_key_v6, Some(public_key(&sup.private_key_v6)));
        assert_eq!(
            link.endpoint_v4,
            Endpoint::parse("127.0.0.1:3456").ok(),
            "v4 endpoint"
        );
        assert_eq!(link.endpoint_v6, Endpoint::parse("[::1]:3456").ok());
        assert_eq!(
            edge.interface.mac_prefix.map(|m| m.to_string()).as_deref(),
            Some("AA:BB:CC:DD")
        );
        assert!(edge.peers.is_empty() && edge.next_hop_table.is_empty());
    }
    let psks: std::collections::BTreeSet<_> = sup
        .peers
        .iter()
        .map(|p| p.preshared_key.as_ref().map(PresharedKey::to_base64))
        .collect();
    assert_eq!(psks.len(), 3, "one PSK per edge");
}

#[test]
fn templates_are_edited_in_place() {
    let mut g = gen_config(STATIC);
    g.ifname_with_id = false;
    let mut t = read_templates(&g).unwrap();
    t.edge.text = format!("# my own comment\nUnknownKey: 1\n{}", t.edge.text);
    let net = generate(Path::new("gen.yaml"), &g, &t, GenMode::Static, SEED).unwrap();
    assert!(
        net.files[0]
            .text
            .starts_with("# my own comment\nUnknownKey: 1\n")
    );
    assert_eq!(edges(&net)[&2].interface.name, "Net");
}

#[test]
fn bad_generators_are_refused_naming_the_key() {
    let cases: &[(&str, GenMode, &str, &str)] = &[
        (
            &STATIC.replace("\"Net\"", "\"\""),
            GenMode::Static,
            "Network name",
            "empty",
        ),
        (
            &STATIC.replace("\"Net\"", "\"NetNetNetNet\""),
            GenMode::Static,
            "Network name",
            "longer",
        ),
        (
            &STATIC.replace("\"Net\"", "\"N/t\""),
            GenMode::Static,
            "Network name",
            "only contain",
        ),
        (
            &STATIC.replace("Config output dir: out", "Config output dir: \"\""),
            GenMode::Static,
            "Config output dir",
            "folder",
        ),
        (
            &STATIC.replace(
                "Edge Nodes:\n",
                "Edge Nodes:\n  12:\n    Endpoint(optional): \"\"\n",
            ),
            GenMode::Static,
            "Distance matrix for all nodes",
            "NodeID 12 is in Edge Nodes but not in the matrix",
        ),
        (
            &STATIC.replace("  10:\n    Endpoint(optional): example.net:3010\n", ""),
            GenMode::Static,
            "Distance matrix for all nodes",
            "NodeID 10 is in the matrix but not in Edge Nodes",
        ),
        (
            &STATIC.replace("  3 Inf 1.0 0   Inf\n", "  3 Inf 1.0 0\n"),
            GenMode::Static,
            "Distance matrix for all nodes",
            "line 4",
        ),
        (
            &STATIC.replace("  10 Inf 0.5 1.0 0", "  10 Inf 0.5 1.0 0\n  11 0 0 0 0"),
            GenMode::Static,
            "Distance matrix for all nodes",
            "not in the header",
        ),
        (
            &STATIC
                .replace(
                    "Endpoint(optional): 127.0.0.1:3001",
                    "Endpoint(optional): \"\"",
                )
                .replace("3 Inf 1.0 0   Inf", "3 1.0 1.0 0   Inf"),
            GenMode::P2p,
            "Edge Nodes",
            "neither has an Endpoint",
        ),
        (
            &STATIC.replace(
                "MacAddress prefix: \"\"",
                "MacAddress prefix: AA:BB:CC:DD:EE:FF",
            ),
            GenMode::Static,
            "Edge Node.MacAddress prefix",
            "is a full MAC; every edge would get it",
        ),
        (
            &STATIC.replace("192.168.76.0/24", "192.168.76.0/29"),
            GenMode::Static,
            "Edge Node.IPv4 range",
            "holds 6 node addresses",
        ),
        (
            &STATIC.replace("fe80::a3df:0/112", "fe80::a3df:0/126"),
            GenMode::Static,
            "Edge Node.IPv6 LL range",
            "NodeID 10",
        ),
        (
            STATIC,
            GenMode::Super,
            "Super Node",
            "needs the Super Node section",
        ),
        (
            &SUPER
                .replace("  Endpoint(IPv4)(optional): 127.0.0.1\n", "")
                .replace("  Endpoint(IPv6)(optional): ::1\n", ""),
            GenMode::Super,
            "Super Node",
            "needs Endpoint(IPv4)",
        ),
        (
            &SUPER.replace(
                "  Endpoint(EdgeAPI): http://127.0.0.1:3456/eg_net/eg_api\n",
                "",
            ),
            GenMode::Super,
            "Super Node.Endpoint(EdgeAPI)",
            "Edge API URL",
        ),
        (
            &SUPER.replace("  Node IDs: \"[1~2,100]\"\n", ""),
            GenMode::Super,
            "Edge Node.Node IDs",
            "lists no node",
        ),
        (
            "Config output dir: out\nNetwork name: x\n",
            GenMode::Static,
            "Edge Nodes",
            "lists no node",
        ),
    ];
    for (text, mode, key, reason) in cases {
        let Err(err) = run(text, *mode, SEED) else {
            panic!("{key}: {reason}: generated");
        };
        let WriteError::Config(e) = &err else {
            panic!("{key}: not a generator error: {err}");
        };
        assert_eq!(e.key, *key, "{err}");
        assert!(e.reason.contains(reason), "{key}: {err}");
        assert!(err.to_string().starts_with("gen.yaml:"), "{err}");
    }
}

#[test]
fn a_template_that_cannot_work_is_named() {
    let g = gen_config(STATIC);
    let mut t = read_templates(&g).unwrap();
    t.edge = GenTemplate {
        path: "edge-template.yaml".into(),
        text: "Interface:\n  IType: nonsense\n".to_owned(),
    };
    let err = generate(Path::new("gen.yaml"), &g, &t, GenMode::Static, SEED).unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("edge-template.yaml"), "{text}");
    assert!(text.contains("Net_edge01.yaml would not load"), "{text}");
}
