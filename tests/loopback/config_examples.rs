//! Every YAML file the original EtherGuard ships as an example must load,
//! unchanged, with no unknown-key warnings (docs/system.md#config).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::{Path, PathBuf};

use egd::config::{Config, EdgeMode, FileKind, IType, load_file};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/upstream-examples")
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

#[test]
fn every_upstream_example_loads_without_warnings() {
    let mut files = Vec::new();
    yaml_files(&examples_dir(), &mut files);
    files.sort();
    assert!(
        files.len() >= 20,
        "expected the whole example suite, found {files:?}"
    );
    for file in &files {
        let loaded = load_file(file, None).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            loaded.warnings.is_empty(),
            "{}: {:?}",
            file.display(),
            loaded.warnings
        );
        let name = file.file_name().unwrap().to_string_lossy();
        let expected = if name.starts_with("gen") {
            FileKind::Generator
        } else if name.contains("super") {
            FileKind::Super
        } else {
            FileKind::Edge
        };
        assert_eq!(loaded.config.kind(), expected, "{}", file.display());
    }
}

#[test]
fn example_values_come_through() {
    let dir = examples_dir();
    let Config::Edge(e) = load_file(&dir.join("static_mode/EgNet_edge1.yaml"), None)
        .unwrap()
        .config
    else {
        panic!("edge expected")
    };
    assert_eq!(e.node_id.get(), 1);
    assert_eq!(e.interface.itype, IType::Stdio);
    assert_eq!(e.interface.mtu.get(), 1404);
    assert_eq!(e.mode(), EdgeMode::Static);
    assert_eq!(e.listen_port, 3001);
    assert_eq!(e.peers.len(), 1);
    assert!(e.peers[0].is_static);
    assert_eq!(e.next_hop_table.len(), 6);
    let one = egd::NodeId::new(1).unwrap();
    let five = egd::NodeId::new(5).unwrap();
    assert_eq!(e.next_hop_table[&five][&one].get(), 3);
    assert_eq!(e.dynamic_route.send_ping_interval.as_secs(), 16);

    let Config::Edge(e) = load_file(&dir.join("super_mode/EgNet_edge001.yaml"), None)
        .unwrap()
        .config
    else {
        panic!("edge expected")
    };
    assert_eq!(e.mode(), EdgeMode::Super);
    assert_eq!(e.dynamic_route.ntp.servers.len(), 27);

    let Config::Edge(e) = load_file(&dir.join("p2p_mode/EgNet_edge3.yaml"), None)
        .unwrap()
        .config
    else {
        panic!("edge expected")
    };
    assert_eq!(e.mode(), EdgeMode::P2p);

    let Config::Super(s) = load_file(&dir.join("super_mode/EgNet_super.yaml"), None)
        .unwrap()
        .config
    else {
        panic!("super expected")
    };
    assert_eq!(s.listen_port, 3456);
    assert_eq!(s.edge_api_port, 3456);
    assert_eq!(s.peers.len(), 3);
    assert_eq!(s.graph.manual_latency.len(), 4);
    assert_eq!(
        s.passwords.show_state.as_ref().unwrap().expose(),
        "passwd_showstate"
    );
    assert!(
        s.edge_template
            .unwrap()
            .ends_with("super_mode/EgNet_edge001.yaml")
    );

    let Config::Generator(g) = load_file(&dir.join("super_mode/gensuper.yaml"), None)
        .unwrap()
        .config
    else {
        panic!("generator expected")
    };
    let ids: Vec<u16> = g.edge_range.node_ids.iter().map(|n| n.get()).collect();
    assert_eq!(ids, [1, 2, 100]);
    let Config::Generator(g) = load_file(&dir.join("static_mode/genstatic.yaml"), None)
        .unwrap()
        .config
    else {
        panic!("generator expected")
    };
    assert_eq!(g.edge_nodes.len(), 6);
    assert!(g.distance_matrix.starts_with("X 1"));
}

#[test]
fn path_hysteresis_is_on_by_default_on_a_supernode_and_its_keys_are_read() {
    let path = Path::new("super.yaml");
    let Config::Super(s) = egd::config::load_str(path, egd::config::example::SUPER, None)
        .unwrap()
        .config
    else {
        panic!("super expected")
    };
    // One router computes every table: hysteresis is safe, so it is on.
    assert_eq!(
        s.graph.hysteresis_absolute,
        std::time::Duration::from_millis(2)
    );
    assert_eq!(s.graph.hysteresis_relative, 0.10);
    let text = egd::config::example::SUPER.replace(
        "  RecalculateCoolDown: 5\n",
        "  RecalculateCoolDown: 5\n  PathHysteresis: 0\n  PathHysteresisRelative: 0\n",
    );
    let Config::Super(s) = egd::config::load_str(path, &text, None).unwrap().config else {
        panic!("super expected")
    };
    assert_eq!(s.graph.hysteresis_absolute, std::time::Duration::ZERO);
    assert_eq!(s.graph.hysteresis_relative, 0.0);
    let bad = text.replace("PathHysteresisRelative: 0", "PathHysteresisRelative: 2");
    assert!(egd::config::load_str(path, &bad, None).is_err());
}

#[test]
fn link_cost_and_dead_band_keys_are_read_with_documented_defaults() {
    let path = Path::new("edge.yaml");
    let loaded = egd::config::load_str(path, egd::config::example::EDGE, None).unwrap();
    let Config::Edge(e) = loaded.config else {
        panic!("edge expected")
    };
    let dr = &e.dynamic_route;
    assert_eq!(dr.cost_jitter_weight, 1.0);
    assert_eq!(dr.cost_loss_penalty, std::time::Duration::from_millis(100));
    // P2P: no hysteresis (edges would disagree), the dead band instead.
    assert_eq!(dr.p2p.graph.hysteresis_absolute, std::time::Duration::ZERO);
    assert_eq!(
        dr.p2p.graph.report_dead_band,
        std::time::Duration::from_millis(2)
    );
    assert_eq!(dr.p2p.graph.report_dead_band_relative, 0.05);
    let text = egd::config::example::EDGE
        .replace(
            "  DampingFilterRadius: 4\n",
            "  DampingFilterRadius: 4\n  CostJitterWeight: 2.5\n  CostLossPenalty: 250\n  CostLossPenality: 1\n",
        )
        .replace(
            "      RecalculateCoolDown: 5\n",
            "      RecalculateCoolDown: 5\n      ReportDeadBand: 3\n      ReportDeadBandRelative: 0.2\n",
        );
    let loaded = egd::config::load_str(path, &text, None).unwrap();
    let Config::Edge(e) = loaded.config else {
        panic!("edge expected")
    };
    let dr = &e.dynamic_route;
    assert_eq!(dr.cost_jitter_weight, 2.5);
    assert_eq!(dr.cost_loss_penalty, std::time::Duration::from_millis(250));
    assert_eq!(
        dr.p2p.graph.report_dead_band,
        std::time::Duration::from_millis(3)
    );
    assert_eq!(dr.p2p.graph.report_dead_band_relative, 0.2);
    // A misspelt key is still warned about, not silently taken.
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.to_string().contains("CostLossPenality")),
        "{:?}",
        loaded.warnings
    );
    for bad in [
        text.replace("CostJitterWeight: 2.5", "CostJitterWeight: -1"),
        text.replace("ReportDeadBandRelative: 0.2", "ReportDeadBandRelative: 3"),
    ] {
        assert!(egd::config::load_str(path, &bad, None).is_err());
    }
}

/// docs/system.md#interfaces: MAC = `MacAddrPrefix:NodeID`, a full MAC overrides. A 6-byte
/// value loads for a NodeID a 5-byte prefix cannot hold, and is used verbatim.
#[test]
fn a_full_mac_is_used_as_is_for_any_node_id() {
    let path = Path::new("edge.yaml");
    let with = |mac: &str| {
        egd::config::example::EDGE
            .replace(
                "MacAddrPrefix: 6E:B8:1B:68 ",
                &format!("MacAddrPrefix: {mac} "),
            )
            .replace("\nNodeID: 1\n", "\nNodeID: 300\n")
            .replace("IPv4CIDR: 192.168.76.0/24", "IPv4CIDR: 192.168.0.0/16")
    };
    let loaded = egd::config::load_str(path, &with("6E:B8:1B:68:AA:BB"), None)
        .unwrap_or_else(|e| panic!("{e}"));
    let Config::Edge(e) = loaded.config else {
        panic!("edge expected")
    };
    assert_eq!(e.node_id.get(), 300);
    let prefix = e.interface.mac_prefix.unwrap();
    assert_eq!(
        prefix.mac_for(e.node_id),
        Some([0x6e, 0xb8, 0x1b, 0x68, 0xaa, 0xbb])
    );
    // A 5-byte prefix leaves one byte: NodeID 300 is still refused, by key.
    let err = egd::config::load_str(path, &with("6E:B8:1B:68:AA"), None).unwrap_err();
    assert!(err.to_string().contains("MacAddrPrefix"), "{err}");
    assert!(err.to_string().contains("does not fit"), "{err}");
    // A 4-byte prefix carries the NodeID in the last two bytes.
    let loaded = egd::config::load_str(path, &with("6E:B8:1B:68"), None).unwrap();
    let Config::Edge(e) = loaded.config else {
        panic!("edge expected")
    };
    let mac = e.interface.mac_prefix.unwrap().mac_for(e.node_id);
    assert_eq!(mac, Some([0x6e, 0xb8, 0x1b, 0x68, 0x01, 0x2c]));
}

/// The vendored examples are byte-for-byte the original's: a test that ran
/// egd on one in place (`SaveNewPeers` rewrites its config) would show here.
#[test]
fn the_vendored_examples_match_their_checksums() {
    let dir = examples_dir();
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    let mut checked = 0;
    for line in sums.lines().filter(|l| !l.trim().is_empty()) {
        let (want, name) = line.split_once("  ").unwrap();
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let got: String = ring::digest::digest(&ring::digest::SHA256, &bytes)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(got, want, "{name} differs from the original");
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} files listed in SHA256SUMS");
}
