//! `--mode solve` on upstream's static-mode example reproduces, by cost, the
//! `NextHopTable` shipped in `EgNet_edge1..6.yaml` (computed upstream from
//! the same `path.txt`). Where equal-cost paths exist any of their next hops
//! is acceptable, so the check is: the cost via our next hop equals the cost
//! via the file's.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use egd_routing::{DenseGraph, NodeId, parse_matrix, solve};

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/data/upstream-examples/static_mode/"
);

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{DIR}{name}")).unwrap_or_else(|e| panic!("{DIR}{name}: {e}"))
}

fn id(raw: u16) -> NodeId {
    NodeId::new(raw).unwrap()
}

/// A tiny parser for the `NextHopTable:` block of an edge config: two-space
/// indented `src:` lines, four-space indented `dst: next` lines.
fn next_hop_table(yaml: &str) -> Vec<(NodeId, NodeId, NodeId)> {
    let mut out = Vec::new();
    let mut in_table = false;
    let mut src = None;
    for line in yaml.lines() {
        if line.starts_with("NextHopTable:") {
            in_table = true;
            continue;
        }
        if !in_table {
            continue;
        }
        if !line.starts_with(' ') {
            break;
        }
        let (key, value) = line.trim().split_once(':').unwrap();
        let key: u16 = key.trim().parse().unwrap();
        if line.starts_with("    ") {
            let next: u16 = value.trim().parse().unwrap();
            out.push((src.unwrap(), id(key), id(next)));
        } else {
            src = Some(id(key));
        }
    }
    out
}

/// Cost of going `src → via` (one edge) and then the best `via ⇝ dst`.
fn cost_via(
    g: &DenseGraph,
    sol: &egd_routing::Solution,
    src: NodeId,
    via: NodeId,
    dst: NodeId,
) -> i64 {
    let first = g
        .edge(src, via)
        .expect("next hop is a neighbour")
        .as_micros();
    first + sol.distance(via, dst).expect("reachable").as_micros()
}

#[test]
fn path_txt_reproduces_the_shipped_next_hop_tables() {
    let g = parse_matrix(&read("path.txt")).unwrap();
    let sol = solve(&g).unwrap();
    for n in 1..=6 {
        let expected = next_hop_table(&read(&format!("EgNet_edge{n}.yaml")));
        assert_eq!(expected.len(), 30, "EgNet_edge{n}.yaml: 6×5 entries");
        assert_eq!(sol.next_hop_table().len(), 30);
        for (src, dst, theirs) in expected {
            let ours = sol
                .next_hop(src, dst)
                .unwrap_or_else(|| panic!("{src}->{dst} unreachable"));
            assert_eq!(
                cost_via(&g, &sol, src, ours, dst),
                cost_via(&g, &sol, src, theirs, dst),
                "{src}->{dst}: ours {ours}, upstream {theirs}"
            );
            assert_eq!(
                cost_via(&g, &sol, src, ours, dst),
                sol.distance(src, dst).unwrap().as_micros()
            );
        }
    }
}

#[test]
fn genstatic_matrix_with_odd_diagonal_parses() {
    let text = read("genstatic.yaml");
    let block: String = text
        .lines()
        .skip_while(|l| !l.starts_with("Distance matrix for all nodes"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| format!("{}\n", l.trim()))
        .collect();
    let g = parse_matrix(&block).unwrap();
    assert_eq!(g.len(), 6);
    let sol = solve(&g).unwrap();
    // Same topology as path.txt with every weight doubled: same costs.
    let path = solve(&parse_matrix(&read("path.txt")).unwrap()).unwrap();
    for &s in g.ids() {
        for &d in g.ids() {
            assert_eq!(
                sol.distance(s, d).map(|l| l.as_micros()),
                path.distance(s, d).map(|l| 2 * l.as_micros()),
                "{s}->{d}"
            );
        }
    }
}
