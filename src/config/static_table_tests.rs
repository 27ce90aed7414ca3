//! Loading static tables: errors and warnings name the file and the key.

use std::path::{Path, PathBuf};

use super::{Config, load_str};

fn example(mode: &str, name: &str) -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/upstream-examples")
        .join(mode)
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

/// The printed supernode example (peer 1) with a second peer and
/// `GraphRecalculateSetting.StaticMode` and `NextHopTable` as given.
fn supernode(static_mode: bool, table: &str) -> String {
    let text = super::example::SUPER
        .replace(
            "  StaticMode: false",
            &format!("  StaticMode: {static_mode}"),
        )
        .replace("NextHopTable: {}", &format!("NextHopTable:{table}"));
    format!(
        "{text}- NodeID: 2\n  Name: edge2\n  PubKey: mNCsHMEUSTIifOQryMRnRe6iZTQ2ugis/5iVHJN7aXg=\n"
    )
}

fn keys(warnings: &[super::ConfigWarning]) -> Vec<String> {
    warnings.iter().map(|w| w.key.clone()).collect()
}

#[test]
fn a_supernode_static_table_covering_every_pair_loads_clean() {
    let text = supernode(true, "\n  1: {2: 2}\n  2: {1: 1}");
    let loaded = load_str(Path::new("super.yaml"), &text, None).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let Config::Super(s) = loaded.config else {
        panic!("not a supernode config")
    };
    assert!(s.graph.static_mode);
    assert_eq!(s.next_hop_table.len(), 2);
}

#[test]
fn a_supernode_static_table_missing_a_pair_or_looping_is_refused() {
    for (table, key, why) in [
        ("\n  1: {2: 2}", "NextHopTable.2.1", "missing"),
        (
            "\n  1: {2: 1}\n  2: {1: 1}",
            "NextHopTable.1.2",
            "the node itself",
        ),
        (
            "\n  1: {2: 9}\n  2: {1: 1}",
            "NextHopTable.1.2",
            "not a known node",
        ),
    ] {
        let err = load_str(Path::new("super.yaml"), &supernode(true, table), None).unwrap_err();
        assert_eq!(err.key, key, "{err}");
        assert!(err.reason.contains(why), "{err}");
        assert!(err.to_string().starts_with("super.yaml:"), "{err}");
    }
}

#[test]
fn supernode_entries_without_effect_are_warnings() {
    // A node that is not a peer: unused.
    let text = supernode(true, "\n  1: {2: 2, 7: 2}\n  2: {1: 1}");
    let loaded = load_str(Path::new("super.yaml"), &text, None).unwrap();
    assert_eq!(keys(&loaded.warnings), ["NextHopTable.1.7"]);
    // No StaticMode: the table is not used at all.
    let text = supernode(false, "\n  1: {2: 2}\n  2: {1: 1}");
    let loaded = load_str(Path::new("super.yaml"), &text, None).unwrap();
    assert_eq!(keys(&loaded.warnings), ["NextHopTable"]);
    assert!(loaded.warnings[0].message.contains("StaticMode"));
    assert_eq!(loaded.warnings[0].file, Path::new("super.yaml"));
}

#[test]
fn edge_static_mode_keys_are_checked_by_mode() {
    let (path, text) = example("static_mode", "EgNet_edge1.yaml");
    // StaticMode in the P2P block of a static edge does nothing.
    let off = text.replace("      StaticMode: false", "      StaticMode: true");
    let loaded = load_str(&path, &off, None).unwrap();
    assert_eq!(
        keys(&loaded.warnings),
        ["DynamicRoute.P2P.GraphRecalculateSetting.StaticMode"]
    );
    // With P2P on it routes by the (complete) table: clean.
    let on = off.replace("    UseP2P: false", "    UseP2P: true");
    let loaded = load_str(&path, &on, None).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    // A self-loop in a static edge's table is an error.
    let looped = text.replacen("  1:\n    2: 2", "  1:\n    2: 1", 1);
    assert_ne!(looped, text);
    let err = load_str(&path, &looped, None).unwrap_err();
    assert_eq!(err.key, "NextHopTable.1.2", "{err}");
    // P2P StaticMode with no table could not send anything.
    let (path, text) = example("p2p_mode", "EgNet_edge1.yaml");
    let empty = text.replace("      StaticMode: false", "      StaticMode: true");
    let err = load_str(&path, &empty, None).unwrap_err();
    assert_eq!(err.key, "NextHopTable", "{err}");
    assert!(err.reason.contains("empty"), "{err}");
    // A super-mode edge's table serves only until the supernode's arrives.
    let (path, text) = example("super_mode", "EgNet_edge001.yaml");
    let early = text.replace("NextHopTable: {}", "NextHopTable:\n  1: {2: 2}");
    let loaded = load_str(&path, &early, None).unwrap();
    assert_eq!(keys(&loaded.warnings), ["NextHopTable"]);
    assert!(loaded.warnings[0].message.contains("until"));
}
