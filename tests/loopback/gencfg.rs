//! `egd --mode gencfg` on the original's generator files (copied into a
//! temporary folder with `Config output dir` pointed inside it): every
//! generated config passes `egd --check`, files are 0600 and never silently
//! overwritten, the static network's next-hop tables equal `egd --mode
//! solve` on the same matrix, and a generated super network (a supernode and
//! the three edges of `gensuper.yaml`, dummy interfaces, on loopback)
//! starts and converges: the supernode's `manage/super/state` routes every
//! pair and every edge's `egd_next_hop` names its peers.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // real processes: waiting on the wall clock is the point

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::support::http::sample;
use crate::support::loopback::{free_port, get_ok, logs};
use crate::support::procs::Proc;
use crate::support::wait_for;
use egd::config::{Config, FileKind, load_file};

const EGD: &str = env!("CARGO_BIN_EXE_egd");

type Table = BTreeMap<u16, BTreeMap<u16, u16>>;

fn upstream(folder: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/upstream-examples")
        .join(folder)
}

/// Copies the example `folder` into a new temporary folder, with the
/// generator `file` writing into `out/` there and `edit` applied to it.
fn prepared(
    folder: &str,
    file: &str,
    edit: impl Fn(String) -> String,
) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(upstream(folder)).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    let generator = dir.path().join(file);
    let text = std::fs::read_to_string(&generator).unwrap();
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("Config output dir:") {
                "Config output dir: out".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&generator, edit(text)).unwrap();
    (dir, generator)
}

fn egd(args: &[&str], config: &Path) -> Output {
    Command::new(EGD)
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn gencfg(mode: &str, generator: &Path) -> Output {
    egd(&["--mode", "gencfg", "--cfgmode", mode], generator)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The files a successful run listed on stdout.
fn written(out: &Output) -> Vec<PathBuf> {
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout).lines().map(PathBuf::from).collect()
}

#[test]
fn every_upstream_generator_gives_configs_that_pass_check() {
    let cases = [
        ("static_mode", "genstatic.yaml", "static", 6),
        ("super_mode", "gensuper.yaml", "super", 4),
        ("p2p_mode", "genp2p.yaml", "p2p", 6),
        ("p2p_mode", "genp2p_2.yaml", "p2p", 6),
    ];
    for (folder, file, mode, count) in cases {
        let (dir, generator) = prepared(folder, file, |t| t);
        let files = written(&gencfg(mode, &generator));
        assert_eq!(files.len(), count, "{file}: {files:?}");
        let out_dir = dir.path().join("out");
        let dir_mode = std::fs::metadata(&out_dir).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700, "{file}: output folder");
        let mut before = BTreeMap::new();
        for f in &files {
            assert_eq!(f.parent(), Some(out_dir.as_path()), "{file}: {f:?}");
            let perm = std::fs::metadata(f).unwrap().permissions().mode();
            assert_eq!(perm & 0o777, 0o600, "{f:?} holds keys");
            let check = egd(&["--check"], f);
            assert_eq!(
                check.status.code(),
                Some(0),
                "{f:?}: {}\n{}",
                text(&check.stderr),
                std::fs::read_to_string(f).unwrap()
            );
            assert!(
                check.stderr.is_empty(),
                "{f:?} warns: {}",
                text(&check.stderr)
            );
            before.insert(f.clone(), std::fs::read_to_string(f).unwrap());
        }
        // Again: refused, nothing touched.
        let again = gencfg(mode, &generator);
        assert_eq!(again.status.code(), Some(2), "{file}");
        assert!(
            text(&again.stderr).contains("exists"),
            "{file}: {}",
            text(&again.stderr)
        );
        for (f, t) in &before {
            assert_eq!(&std::fs::read_to_string(f).unwrap(), t, "{f:?} untouched");
        }
        // With overwrite on: a fresh network (new keys) in the same files.
        let g = std::fs::read_to_string(&generator).unwrap().replace(
            "Enable generated config overwrite: false",
            "Enable generated config overwrite: true",
        );
        std::fs::write(&generator, g).unwrap();
        assert_eq!(written(&gencfg(mode, &generator)), files, "{file}");
        for (f, t) in &before {
            assert_ne!(&std::fs::read_to_string(f).unwrap(), t, "{f:?} regenerated");
        }
    }
}

fn edge_table(path: &Path) -> Table {
    match load_file(path, None).unwrap().config {
        Config::Edge(e) => e
            .next_hop_table
            .iter()
            .filter(|(_, row)| !row.is_empty())
            .map(|(s, row)| {
                (
                    s.get(),
                    row.iter().map(|(d, n)| (d.get(), n.get())).collect(),
                )
            })
            .collect(),
        other => panic!("{path:?} is not an edge: {other:?}"),
    }
}

/// `egd --mode solve` on `matrix`, its `NextHopTable` part.
fn solve(matrix: &Path) -> Table {
    #[derive(serde::Deserialize)]
    struct Solved {
        #[serde(rename = "NextHopTable")]
        table: Table,
    }
    let out = egd(&["--mode", "solve"], matrix);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let solved: Solved = serde_saphyr::from_str(&text(&out.stdout)).unwrap();
    solved
        .table
        .into_iter()
        .filter(|(_, row)| !row.is_empty())
        .collect()
}

#[test]
fn generated_static_tables_equal_solve_on_the_same_matrix() {
    let (dir, generator) = prepared("static_mode", "genstatic.yaml", |t| t);
    let files = written(&gencfg("static", &generator));
    let Config::Generator(g) = load_file(&generator, Some(FileKind::Generator))
        .unwrap()
        .config
    else {
        panic!("not a generator file");
    };
    let matrix = dir.path().join("matrix.txt");
    std::fs::write(&matrix, &g.distance_matrix).unwrap();
    let solved = solve(&matrix);
    assert_eq!(solved.values().map(BTreeMap::len).sum::<usize>(), 30);
    for f in &files {
        assert_eq!(edge_table(f), solved, "{f:?}");
    }
    // The same topology at other weights (path.txt) and the original's
    // hand-written table agree too.
    assert_eq!(solve(&upstream("static_mode/path.txt")), solved);
    assert_eq!(
        edge_table(&upstream("static_mode/EgNet_edge1.yaml")),
        solved
    );
}

/// Fast timers, IPv4 only, a dummy interface: what the generator keeps
/// from the templates.
const EDGE_TEMPLATE: &str = "Interface:
  IType: dummy
  Name: x
  MTU: 1400
NodeID: 1
NodeName: x
PrivKey: \"\"
ListenPort: 0
DisabledAf:
  IPv4: false
  IPv6: true
LogLevel:
  LogLevel: info
DynamicRoute:
  SendPingInterval: 1
  PeerAliveTimeout: 6
  ConnNextTry: 1
  AdditionalCost: 1
  SaveNewPeers: false
  SuperNode:
    UseSuperNode: true
    SkipLocalIP: true
Peers: []
";

const SUPER_TEMPLATE: &str = "NodeName: x
PrivKeyV4: \"\"
PrivKeyV6: \"\"
ListenPort: 1
API_Prefix: /x
RePushConfigInterval: 1
HttpPostInterval: 1
PeerAliveTimeout: 6
SendPingInterval: 1
DampingFilterRadius: 0
DisabledAf:
  IPv6: true
LogLevel:
  LogLevel: info
GraphRecalculateSetting:
  JitterTolerance: 5
  JitterToleranceMultiplier: 1
  TimeoutCheckInterval: 1
  RecalculateCoolDown: 1
UsePSKForInterEdge: true
Peers: []
";

#[test]
fn a_generated_super_network_starts_and_converges() {
    let port = free_port();
    let (dir, generator) = prepared("super_mode", "gensuper.yaml", |t| {
        t.replace("3456", &port.to_string())
            .replace(
                "ConfigTemplate for super node: \"\"",
                "ConfigTemplate for super node: super_template.yaml",
            )
            .replace(
                "ConfigTemplate for edge node: \"\"",
                "ConfigTemplate for edge node: edge_template.yaml",
            )
    });
    std::fs::write(dir.path().join("edge_template.yaml"), EDGE_TEMPLATE).unwrap();
    std::fs::write(dir.path().join("super_template.yaml"), SUPER_TEMPLATE).unwrap();
    let files = written(&gencfg("super", &generator));
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "EgNet_super.yaml",
            "EgNet_edge001.yaml",
            "EgNet_edge002.yaml",
            "EgNet_edge100.yaml"
        ]
    );
    let Config::Super(sup) = load_file(&files[0], None).unwrap().config else {
        panic!("not a supernode config");
    };
    let secret = sup
        .passwords
        .show_state
        .as_ref()
        .unwrap()
        .expose()
        .to_owned();
    let spawn = |config: &Path, metrics: Option<u16>| {
        let mut cmd = Command::new(EGD);
        cmd.arg("--config")
            .arg(config)
            .args(["--bind", "std", "--no-uapi"]);
        if let Some(m) = metrics {
            cmd.args(["--metrics-listen", &format!("127.0.0.1:{m}")]);
        }
        Proc::spawn(cmd)
    };
    let supernode = spawn(&files[0], None);
    let ids = [1u16, 2, 100];
    let metrics_ports: Vec<u16> = ids.iter().map(|_| free_port()).collect();
    let edges: Vec<Proc> = files[1..]
        .iter()
        .zip(&metrics_ports)
        .map(|(f, m)| spawn(f, Some(*m)))
        .collect();
    let report = || logs(&supernode, &edges);
    let state_url = format!("http://127.0.0.1:{port}/eg_net/eg_api/manage/super/state");
    let state = || -> Option<serde_json::Value> {
        serde_json::from_str(&get_ok(&state_url, Some(&secret))?).ok()
    };
    // Every ordered pair of edges has a route in the supernode's table.
    let routed = wait_for(Duration::from_secs(40), || {
        let st = state()?;
        ids.iter()
            .all(|s| {
                ids.iter().all(|d| {
                    s == d
                        || st["NhTable"][s.to_string()][d.to_string()]
                            .as_u64()
                            .is_some()
                })
            })
            .then_some(st)
    });
    let Some(st) = routed else {
        panic!(
            "the supernode routes every pair; state: {:?}\n{}",
            state(),
            report()
        );
    };
    for id in ids {
        assert_eq!(st["PeerInfo"][id.to_string()]["Online"], true, "{st}");
    }
    // And the edges have the table: a next hop toward every other edge.
    // (Which one is the solver's business: on one loopback the latencies
    // are all ~0.1 ms, and a relay can measure faster than the direct
    // link under load.)
    for (i, (id, m)) in ids.iter().zip(&metrics_ports).enumerate() {
        let url = format!("http://127.0.0.1:{m}/metrics");
        let others: Vec<u16> = ids.iter().copied().filter(|d| d != id).collect();
        let has_routes = wait_for(Duration::from_secs(20), || {
            let text = get_ok(&url, None)?;
            others
                .iter()
                .all(|d| {
                    sample(&text, &format!("egd_next_hop{{dst=\"{d}\"}}"))
                        .is_some_and(|hop| others.iter().any(|o| f64::from(*o) == hop))
                })
                .then_some(())
        });
        assert!(
            has_routes.is_some(),
            "edge {id} routes to {others:?}: {}\n{}",
            get_ok(&url, None).unwrap_or_default(),
            edges[i].log()
        );
    }
}
