//! The command line as an operator meets it: exit statuses, the one-line
//! error format `FILE:LINE:COL: Key.Path: reason`, warnings for unknown keys,
//! examples that pass `--check`, and key tools equal to `wg`'s.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const EGD: &str = env!("CARGO_BIN_EXE_egd");

fn example(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/upstream-examples")
        .join(rel)
}

fn egd(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(EGD)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    finish(child, args)
}

/// Every command these tests run ends by itself within seconds; one that
/// keeps running (a mode that now starts a daemon) fails the test instead
/// of hanging it.
#[allow(clippy::disallowed_methods)] // waiting on a real process
fn finish(mut child: std::process::Child, args: &[&str]) -> Output {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("egd {args:?} did not exit within 30 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Writes the static-mode example for node 1 with `from` replaced by `to`.
fn edited_edge(dir: &Path, from: &str, to: &str) -> (PathBuf, String) {
    let original = std::fs::read_to_string(example("static_mode/EgNet_edge1.yaml")).unwrap();
    assert_eq!(
        original.matches(from).count(),
        1,
        "{from:?} must occur once"
    );
    let edited = original.replacen(from, to, 1);
    let path = dir.join("edge.yaml");
    std::fs::write(&path, &edited).unwrap();
    (path, edited)
}

/// 1-based line of the first occurrence of `needle`.
fn line_of(haystack: &str, needle: &str) -> usize {
    let at = haystack.find(needle).unwrap();
    haystack[..at].matches('\n').count() + 1
}

/// Runs `--check` on the edited example and checks the one error line.
/// `line_needle` is the text whose line the error must name.
fn assert_rejected(from: &str, to: &str, key: &str, reason: &str, line_needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (path, edited) = edited_edge(dir.path(), from, to);
    let out = egd(&["--check", "--config", path.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(2), "stderr: {}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line expected: {stderr}");
    let prefix = format!("{}:{}:", path.display(), line_of(&edited, line_needle));
    let line = lines[0];
    assert!(
        line.starts_with(&prefix),
        "{line:?} should start with {prefix:?}"
    );
    let rest = &line[prefix.len()..];
    let (col, rest) = rest.split_once(": ").unwrap();
    assert!(col.parse::<u32>().unwrap() > 0, "{line}");
    let (got_key, got_reason) = rest.split_once(": ").unwrap();
    assert_eq!(got_key, key, "{line}");
    assert!(
        got_reason.contains(reason),
        "{line:?} should say {reason:?}"
    );
}

#[test]
fn bad_base64_is_rejected() {
    assert_rejected(
        "PrivKey: u1U5zImQ0lByFcJXTysUq9ZSTg3ZLIKMDYn/RAXEtKI=",
        "PrivKey: not*base64*at*all",
        "PrivKey",
        "base64",
        "PrivKey:",
    );
}

#[test]
fn key_of_wrong_length_is_rejected() {
    assert_rejected(
        "PubKey: 8RSl6sMj1jjkHt/OO+hOKpaxvo1ISaqc6eMXx7jheRY=",
        "PubKey: AAAAAAAA",
        "Peers[0].PubKey",
        "32 bytes, got 6",
        "PubKey:",
    );
}

#[test]
fn reserved_node_id_is_rejected() {
    assert_rejected(
        "NodeID: 1\n",
        "NodeID: 65532\n",
        "NodeID",
        "reserved",
        "NodeID: 65532",
    );
}

#[test]
fn duplicated_peer_node_id_is_rejected() {
    let second = "- NodeID: 2\n  PubKey: 5bKEWuXXY78d54pWOWiuE39g14qmkEvUyuE4MeiXf3k=\n  EndPoint: 127.0.0.1:3009\n";
    assert_rejected(
        "  Static: true\n",
        &format!("  Static: true\n{second}"),
        "Peers[1].NodeID",
        "duplicated",
        "- NodeID: 2\n  PubKey: 5bK",
    );
}

#[test]
fn mtu_out_of_range_is_rejected() {
    assert_rejected(
        "MTU: 1404",
        "MTU: 575",
        "Interface.MTU",
        "outside 576–65535",
        "MTU:",
    );
}

#[test]
fn key_required_by_itype_is_rejected() {
    // A tap interface needs a name; the error points at the Interface block.
    assert_rejected(
        "  IType: stdio\n  Name: tap1\n",
        "  IType: tap\n",
        "Interface.Name",
        "IType tap needs it",
        "Interface:",
    );
}

#[test]
fn bad_cidr_is_rejected() {
    assert_rejected(
        "IPv4CIDR: 192.168.76.0/24",
        "IPv4CIDR: 192.168.76.0/33",
        "Interface.IPv4CIDR",
        "CIDR",
        "IPv4CIDR:",
    );
}

#[test]
fn unparsable_endpoint_is_rejected() {
    assert_rejected(
        "EndPoint: 127.0.0.1:3002",
        "EndPoint: 127.0.0.1",
        "Peers[0].EndPoint",
        "host:port",
        "EndPoint:",
    );
}

#[test]
fn negative_interval_is_rejected() {
    assert_rejected(
        "SendPingInterval: 16",
        "SendPingInterval: -1",
        "DynamicRoute.SendPingInterval",
        "negative",
        "SendPingInterval:",
    );
}

#[test]
fn wrong_type_is_rejected() {
    assert_rejected(
        "ListenPort: 3001",
        "ListenPort: abc",
        "ListenPort",
        "",
        "ListenPort:",
    );
}

#[test]
fn unknown_key_is_a_warning_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (path, edited) = edited_edge(
        dir.path(),
        "DefaultTTL: 200\n",
        "DefaultTTL: 200\nDefualtTLL: 3\n",
    );
    let out = egd(&["--check", "--config", path.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let expected = format!(
        "{}:{}:1: DefualtTLL:",
        path.display(),
        line_of(&edited, "DefualtTLL")
    );
    assert!(
        stderr.contains(&expected),
        "{stderr:?} should contain {expected:?}"
    );
}

#[test]
fn check_accepts_every_kind_of_upstream_file() {
    for rel in [
        "static_mode/EgNet_edge1.yaml",
        "super_mode/EgNet_super.yaml",
        "super_mode/EgNet_edge100.yaml",
        "p2p_mode/genp2p.yaml",
    ] {
        let out = egd(&["--check", "--config", example(rel).to_str().unwrap()], "");
        assert_eq!(out.status.code(), Some(0), "{rel}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains(": ok ("), "{rel}");
    }
}

#[test]
fn examples_pass_check() {
    for mode in ["edge", "super"] {
        let out = egd(&["--example", "--mode", mode], "");
        assert_eq!(out.status.code(), Some(0));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("example.yaml");
        std::fs::write(&path, &out.stdout).unwrap();
        let check = egd(
            &[
                "--check",
                "--mode",
                mode,
                "--config",
                path.to_str().unwrap(),
            ],
            "",
        );
        assert_eq!(
            check.status.code(),
            Some(0),
            "{mode}: {}",
            text(&check.stderr)
        );
        assert!(
            check.stderr.is_empty(),
            "{mode} example warns: {}",
            text(&check.stderr)
        );
    }
}

#[test]
fn gencfg_without_cfgmode_exits_2_and_writes_nothing() {
    // Every mode runs now; gencfg itself is tested in tests/loopback/gencfg.rs.
    let args = [
        "--mode",
        "gencfg",
        "--config",
        "tests/data/upstream-examples/super_mode/gensuper.yaml",
    ];
    let child = Command::new(EGD)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = finish(child, &args);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("needs --cfgmode"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "no file was written");
}

#[test]
fn missing_or_unreadable_config_exits_2() {
    let out = egd(&["--check", "--config", "/nonexistent/egd.yaml"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("/nonexistent/egd.yaml:0:0: cannot read"));
    assert_eq!(egd(&[], "").status.code(), Some(2));
    assert_eq!(egd(&["--mode", "nonsense"], "").status.code(), Some(2));
}

#[test]
fn genkey_and_pubkey_round_trip() {
    let key = text(&egd(&["genkey"], "").stdout);
    assert_eq!(key.trim().len(), 44);
    let public = egd(&["pubkey"], &key);
    assert_eq!(public.status.code(), Some(0));
    assert_eq!(text(&public.stdout).trim().len(), 44);
    let bad = egd(&["pubkey"], "garbage");
    assert_eq!(bad.status.code(), Some(2));
}

/// `wg` from Debian's wireguard-tools is the reference. `deploy/test.sh`
/// installs it and sets EGD_REQUIRE_TOOLS=1, so there a missing `wg` fails.
#[test]
fn pubkey_equals_wg_pubkey() {
    let wg = |args: &[&str], input: &str| -> Option<String> {
        let mut child = Command::new("wg")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .ok()?;
        child.stdin.take()?.write_all(input.as_bytes()).ok()?;
        let out = child.wait_with_output().ok()?;
        out.status.success().then(|| text(&out.stdout))
    };
    let Some(wg_key) = wg(&["genkey"], "") else {
        assert!(
            std::env::var_os("EGD_REQUIRE_TOOLS").is_none(),
            "wg (wireguard-tools) is required here"
        );
        eprintln!("skipped: `wg` not installed (deploy/test.sh installs wireguard-tools)");
        return;
    };
    for private in [wg_key, text(&egd(&["genkey"], "").stdout)] {
        let ours = text(&egd(&["pubkey"], &private).stdout);
        let theirs = wg(&["pubkey"], &private).unwrap();
        assert_eq!(ours, theirs, "for private key {private:?}");
    }
}

mod solve {
    use super::*;
    use std::collections::BTreeMap;

    fn solve(args: &[&str]) -> Output {
        let mut all = vec!["--mode", "solve"];
        all.extend_from_slice(args);
        egd(&all, "")
    }

    /// `NextHopTable` rows as printed: src → (dst → hop).
    fn tables(yaml: &str) -> BTreeMap<u16, BTreeMap<u16, u16>> {
        let mut out = BTreeMap::new();
        let mut in_table = false;
        let mut src = 0u16;
        for line in yaml.lines() {
            if !line.starts_with(' ') {
                in_table = line.starts_with("NextHopTable:");
                continue;
            }
            if !in_table {
                continue;
            }
            let (k, v) = line.trim().split_once(':').unwrap();
            if line.starts_with("    ") {
                out.entry(src)
                    .or_insert_with(BTreeMap::new)
                    .insert(k.parse().unwrap(), v.trim().parse().unwrap());
            } else {
                src = k.parse().unwrap();
            }
        }
        out
    }

    #[test]
    fn path_txt_gives_the_examples_routes_by_cost() {
        let matrix = example("static_mode/path.txt");
        let out = solve(&["--config", matrix.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.contains("DistanceTable:"), "{stdout}");
        let ours = tables(&stdout);
        // Every hop of the example's own table; ties allowed, so compare the
        // cost of each route: every link costs 0.5, so hop counts must match.
        let loaded =
            egd::config::load_file(&example("static_mode/EgNet_edge1.yaml"), None).unwrap();
        let egd::config::Config::Edge(e) = loaded.config else {
            panic!()
        };
        let hops = |t: &dyn Fn(u16, u16) -> u16, mut a: u16, b: u16| {
            let mut n = 0;
            while a != b {
                a = t(a, b);
                n += 1;
                assert!(n < 10, "loop");
            }
            n
        };
        for (src, row) in &e.next_hop_table {
            for dst in row.keys() {
                let (s, d) = (src.get(), dst.get());
                let theirs = hops(
                    &|a, b| {
                        e.next_hop_table[&egd::NodeId::new(a).unwrap()]
                            [&egd::NodeId::new(b).unwrap()]
                            .get()
                    },
                    s,
                    d,
                );
                let mine = hops(&|a, b| ours[&a][&b], s, d);
                assert_eq!(mine, theirs, "{s}->{d}");
            }
        }
        assert_eq!(ours.len(), 6);
    }

    #[test]
    fn path_prints_the_hop_list() {
        let matrix = example("static_mode/path.txt");
        let out = solve(&["--config", matrix.to_str().unwrap(), "--path", "1", "5"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "1 -> 2 -> 3 -> 5\n");
        let out = solve(&["--config", matrix.to_str().unwrap(), "--path", "1", "9"]);
        assert_eq!(out.status.code(), Some(2));
    }

    #[test]
    fn malformed_matrix_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.txt");
        std::fs::write(&path, "X 1 2\n1 0 0.5\n2 oops 0\n").unwrap();
        let out = solve(&["--config", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        let stderr = text(&out.stderr);
        assert!(
            stderr.starts_with(&format!("{}:3: ", path.display())),
            "{stderr}"
        );
    }

    #[test]
    fn negative_cycle_is_reported_not_clamped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.txt");
        std::fs::write(&path, "X 1 2\n1 0 -2\n2 1 0\n").unwrap();
        let out = solve(&["--config", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            text(&out.stderr).contains("negative cycle"),
            "{}",
            text(&out.stderr)
        );
    }
}

/// `--user` names an unprivileged user that exists; anything else is a
/// usage error (exit 2) before any daemon starts.
#[test]
fn user_must_exist_and_must_not_be_root() {
    let config = example("super_mode/EgNet_super.yaml");
    let config = config.to_str().unwrap();
    for (user, reason) in [
        ("no-such-user-egd", "no such user"),
        ("root", "that is root"),
        ("0", "that is root"),
    ] {
        let out = egd(&["--config", config, "--user", user], "");
        assert_eq!(out.status.code(), Some(2), "--user {user}");
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!("--user {user}")) && err.contains(reason),
            "--user {user}: {err}"
        );
    }
}

/// `--threads` and `EGD_THREADS` take 1 to 256; anything else is a usage
/// error (exit 2) before any interface or socket is opened.
#[test]
fn thread_counts_out_of_range_are_rejected() {
    let cfg = example("static_mode/EgNet_edge1.yaml");
    let cfg = cfg.to_str().unwrap();
    for n in ["0", "257", "two"] {
        let out = egd(&["--threads", n, "--config", cfg], "");
        assert_eq!(
            out.status.code(),
            Some(2),
            "--threads {n}: {}",
            text(&out.stderr)
        );
    }
    for v in ["0", "300", "x"] {
        let child = Command::new(EGD)
            .args(["--config", cfg])
            .env("EGD_THREADS", v)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = finish(child, &["EGD_THREADS"]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "EGD_THREADS={v}: {err}");
        assert!(err.contains("EGD_THREADS"), "{err}");
    }
}
