//! `PostScript`: run through /bin/sh with the interface's variables.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use egd_ifaces::{IfaceKind, IfaceSpec, run_post_script, run_post_script_with_env, run_script};

#[test]
fn post_script_sees_the_interface_in_its_environment() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("env.txt");
    let mut spec = IfaceSpec::new(
        IfaceKind::Tap,
        "egd-ps",
        258,
        [0xaa, 0xbb, 0xcc, 0xdd, 0x01, 0x02],
    );
    spec.post_script = Some(format!(
        "printf '%s|%s|%s|%s|%s|%s' \"$EG_INTERFACE_NAME\" \"$EG_INTERFACE_TYPE\" \"$EG_NODE_ID_INT_DEC\" \
         \"$EG_INTERFACE_MAC_ADDR\" \"$EG_NODE_NAME\" \"$EG_MODE\" > '{}'",
        out.display()
    ));
    let status = run_post_script_with_env(&spec, &[("EG_NODE_NAME", "node258")]).unwrap();
    assert!(status.success());
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "egd-ps|tap|258|aa:bb:cc:dd:01:02|node258|edge"
    );
}

#[test]
fn post_script_exit_status_and_isolation() {
    let mut spec = common::spec(IfaceKind::Dummy, "d");
    spec.post_script = Some("exit 3".to_owned());
    assert_eq!(run_post_script(&spec).unwrap().code(), Some(3));
    // Stdin is /dev/null: a script reading it ends at once instead of eating frames.
    spec.post_script = Some("cat; test -t 0 && exit 9; exit 0".to_owned());
    assert!(run_post_script(&spec).unwrap().success());
}

/// A script without an interface (the supernode's) gets only the variables
/// it is given, later ones winning, and the same isolation.
#[test]
fn a_bare_script_sees_its_variables() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("env.txt");
    let script = format!(
        "cat; printf '%s|%s|%s' \"$EG_MODE\" \"$EG_NODE_NAME\" \"${{EG_INTERFACE_NAME-unset}}\" > '{}'",
        out.display()
    );
    let env = [
        ("EG_MODE", "edge"),
        ("EG_MODE", "super"),
        ("EG_NODE_NAME", "sn1"),
    ];
    assert!(run_script(&script, &env).unwrap().success());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "super|sn1|unset");
    assert_eq!(run_script("exit 4", &[]).unwrap().code(), Some(4));
}
