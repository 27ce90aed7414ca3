//! `--mode solve` support: the whitespace latency-matrix format, and the
//! YAML and path renderings of a [`Solution`].
//!
//! Drive it as the CLI does:
//! ```
//! let text = "X 1 2 3\n1 0 0.5 Inf\n2 0.5 0 0.5\n3 Inf 0.5 0\n";
//! let graph = egd_routing::parse_matrix(text)?;
//! let solution = egd_routing::solve(&graph)?;
//! let yaml = egd_routing::render_yaml(&solution);
//! assert!(yaml.starts_with("NextHopTable:\n  1:\n    2: 2\n    3: 2\n"));
//! let one = egd_routing::NodeId::new(1).ok_or("id")?;
//! let three = egd_routing::NodeId::new(3).ok_or("id")?;
//! assert_eq!(egd_routing::render_path(&solution, one, three)?, "1 -> 2 -> 3");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Format (EtherGuard's `path.txt`): the first row is `X id1 id2 …` (the
//! first token is a label and is ignored); then one row per source, `id`
//! followed by one weight per header column, in seconds, or `Inf` for no
//! edge. The diagonal is ignored whatever it holds (upstream examples put
//! `0` or `1.0` there). Blank lines are skipped. Rows may be missing (that
//! node has no outgoing edges). For compatibility with upstream, which
//! prints unreachable distances as `99999`, a weight of exactly 99999 also
//! means "no edge". Like upstream's solve mode, no additional cost applies.

use crate::table::PathError;
use crate::{DenseGraph, Latency, NodeId, Solution};
use std::fmt::{self, Write as _};

/// A malformed matrix: the 1-based line and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatrixError {
    /// 1-based line number in the input.
    pub line: usize,
    /// What is wrong, for a human.
    pub reason: String,
}

impl fmt::Display for MatrixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for MatrixError {}

/// Upstream's "infinity" (`mtypes.Infinity`), accepted as "no edge".
const UPSTREAM_INFINITY: f64 = 99_999.0;

/// Parses a latency matrix into a graph.
pub fn parse_matrix(text: &str) -> Result<DenseGraph, MatrixError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((header_line, header)) = lines.next() else {
        return Err(err(1, "empty matrix: expected a header row `X id1 id2 …`"));
    };
    let mut ids = Vec::new();
    for token in header.split_whitespace().skip(1) {
        let id = parse_id(header_line, token)?;
        if ids.contains(&id) {
            return Err(err(
                header_line,
                &format!("node {id} appears twice in the header"),
            ));
        }
        ids.push(id);
    }
    if ids.is_empty() {
        return Err(err(header_line, "the header row lists no node ids"));
    }
    let mut graph = DenseGraph::new(ids.iter().copied());
    let mut seen = Vec::new();
    for (line, row) in lines {
        let mut tokens = row.split_whitespace();
        let Some(first) = tokens.next() else { continue };
        let src = parse_id(line, first)?;
        if !ids.contains(&src) {
            return Err(err(line, &format!("row node {src} is not in the header")));
        }
        if seen.contains(&src) {
            return Err(err(line, &format!("a second row for node {src}")));
        }
        seen.push(src);
        let values: Vec<&str> = tokens.collect();
        if values.len() != ids.len() {
            return Err(err(
                line,
                &format!(
                    "row {src} has {} weights, the header has {} nodes",
                    values.len(),
                    ids.len()
                ),
            ));
        }
        for (&dst, token) in ids.iter().zip(values) {
            let weight = parse_weight(line, token)?;
            if dst != src {
                graph
                    .set_edge(src, dst, weight)
                    .map_err(|e| err(line, &e.to_string()))?;
            }
        }
    }
    Ok(graph)
}

fn err(line: usize, reason: &str) -> MatrixError {
    MatrixError {
        line,
        reason: reason.to_owned(),
    }
}

fn parse_id(line: usize, token: &str) -> Result<NodeId, MatrixError> {
    let raw: u16 = token
        .parse()
        .map_err(|_| err(line, &format!("`{token}` is not a node id (0–65531)")))?;
    NodeId::new(raw).ok_or_else(|| err(line, &format!("node id {raw} is reserved (65532–65535)")))
}

fn parse_weight(line: usize, token: &str) -> Result<Option<Latency>, MatrixError> {
    let lower = token.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "+inf" | "infinity" | "+infinity") {
        return Ok(None);
    }
    let secs: f64 = token.parse().map_err(|_| {
        err(
            line,
            &format!("`{token}` is not a number of seconds or `Inf`"),
        )
    })?;
    if secs == UPSTREAM_INFINITY {
        return Ok(None);
    }
    if !secs.is_finite() {
        return Err(err(line, &format!("`{token}` is not a latency")));
    }
    Latency::from_secs_f64(secs).map(Some).ok_or_else(|| {
        err(
            line,
            &format!("`{token}` s is out of range (±{} s)", Latency::MAX_ABS),
        )
    })
}

/// Renders `NextHopTable:` (the config key's shape; self and unreachable
/// pairs omitted) and `DistanceTable:` (seconds, latency plus transit
/// additional cost; each node's distance to itself is `0`, unreachable pairs
/// are omitted) as YAML. A node with no entries renders as `{}`.
pub fn render_yaml(solution: &Solution) -> String {
    let mut out = String::from("NextHopTable:\n");
    let next = solution.next_hop_table();
    let dist = solution.distance_table();
    for &src in solution.ids() {
        render_row(
            &mut out,
            src,
            next.row(src).map(|(d, n)| (d, n.to_string())),
        );
    }
    out.push_str("DistanceTable:\n");
    for &src in solution.ids() {
        let row = dist
            .iter()
            .filter(move |&(s, _, _)| s == src)
            .map(|(_, d, l)| (d, l.to_string()));
        render_row(&mut out, src, row);
    }
    out
}

fn render_row(out: &mut String, src: NodeId, entries: impl Iterator<Item = (NodeId, String)>) {
    let mut entries = entries.peekable();
    if entries.peek().is_none() {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "  {src}: {{}}");
        return;
    }
    let _ = writeln!(out, "  {src}:");
    for (dst, value) in entries {
        let _ = writeln!(out, "    {dst}: {value}");
    }
}

/// The path for `--path SRC DST`: `1 -> 2 -> 3 -> 5`, or why there is none.
pub fn render_path(solution: &Solution, src: NodeId, dst: NodeId) -> Result<String, PathError> {
    let path = solution.path(src, dst)?;
    Ok(path
        .iter()
        .map(NodeId::to_string)
        .collect::<Vec<_>>()
        .join(" -> "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(raw: u16) -> NodeId {
        NodeId::new(raw).unwrap()
    }

    #[test]
    fn parses_upstream_oddities() {
        // A non-zero diagonal (genstatic.yaml's row 5), integer weights,
        // CRLF line ends, blank lines, and a missing row.
        let text = "X 1 2 3\r\n\n1 0 1 Inf\r\n2 1.0 5 99999\n";
        let g = parse_matrix(text).unwrap();
        assert_eq!(g.ids(), &[id(1), id(2), id(3)]);
        assert_eq!(g.edge(id(1), id(2)), Latency::from_secs_f64(1.0));
        assert_eq!(g.edge(id(2), id(2)), None);
        assert_eq!(g.edge(id(2), id(3)), None);
        assert_eq!(g.edge(id(1), id(3)), None);
    }

    #[test]
    fn errors_name_the_line() {
        let cases: &[(&str, usize, &str)] = &[
            ("", 1, "empty matrix"),
            ("X\n", 1, "no node ids"),
            ("X 1 a\n", 1, "`a` is not a node id"),
            ("X 1 65535\n", 1, "reserved"),
            ("X 1 1\n", 1, "appears twice"),
            (
                "X 1 2\n1 0 1\n\n2 1\n",
                4,
                "has 1 weights, the header has 2",
            ),
            ("X 1 2\n1 0 x\n", 2, "`x` is not a number"),
            ("X 1 2\n3 0 1\n", 2, "not in the header"),
            ("X 1 2\n1 0 1\n1 0 1\n", 3, "a second row"),
            ("X 1 2\n1 0 NaN\n", 2, "not a latency"),
            ("X 1 2\n1 0 5000\n", 2, "out of range"),
        ];
        for &(text, line, reason) in cases {
            let e = parse_matrix(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.reason.contains(reason), "{text:?}: {e}");
            assert!(e.to_string().starts_with(&format!("line {line}: ")));
        }
    }

    #[test]
    fn renders_yaml_and_paths() {
        let g = parse_matrix("X 1 2 3 4\n1 0 0.5 Inf Inf\n2 0.5 0 0.25 Inf\n3 Inf 0.5 0 Inf\n")
            .unwrap();
        let sol = crate::solve(&g).unwrap();
        let yaml = render_yaml(&sol);
        let expect = "NextHopTable:\n  1:\n    2: 2\n    3: 2\n  2:\n    1: 1\n    3: 3\n  3:\n    1: 2\n    2: 2\n  4: {}\n\
                      DistanceTable:\n  1:\n    1: 0\n    2: 0.5\n    3: 0.75\n  2:\n    1: 0.5\n    2: 0\n    3: 0.25\n  3:\n    1: 1\n    2: 0.5\n    3: 0\n  4:\n    4: 0\n";
        assert_eq!(yaml, expect);
        assert_eq!(render_path(&sol, id(3), id(1)).unwrap(), "3 -> 2 -> 1");
        assert_eq!(render_path(&sol, id(1), id(1)).unwrap(), "1");
        let e = render_path(&sol, id(1), id(4)).unwrap_err();
        assert_eq!(e.to_string(), "4 is unreachable from 1");
        assert_eq!(
            render_path(&sol, id(1), id(9)).unwrap_err(),
            PathError::UnknownNode(id(9))
        );
    }
}
