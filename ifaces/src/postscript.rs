//! `PostScript`: a shell command run once after the node is up. An edge's
//! runs through [`run_post_script_with_env`] (its interface's variables); a
//! supernode has no interface and runs its own through [`run_script`].
//!
//! It runs as `/bin/sh -c SCRIPT` (upstream split the string shell-style and
//! ran it without a shell; `sh -c` runs every such string the same way and
//! also allows pipes and `&&`). Its environment is ours plus upstream's
//! variables ([`post_script_env`]); the daemon adds `EG_NODE_NAME` and
//! `EG_INTERFACE_MAC_PREFIX`, which the spec does not carry, through
//! [`run_post_script_with_env`]. Its stdin is /dev/null and its stdout goes to
//! our stderr, so it can neither eat nor corrupt the frames of a `stdio`
//! interface. The call waits for the script to finish.

use std::io;
use std::os::fd::AsFd;
use std::process::{Command, ExitStatus, Stdio};

use crate::spec::IfaceSpec;

/// Upstream's PostScript variables that follow from the spec (main_edge.go):
/// `EG_MODE`, `EG_NODE_ID_*` (byte 0 is the low byte; INT_HEX lower case,
/// BYTE*_HEX upper case, unpadded, as upstream's `%x` / `%X`),
/// `EG_INTERFACE_NAME`, `EG_INTERFACE_TYPE`, `EG_INTERFACE_MAC_ADDR`.
pub fn post_script_env(spec: &IfaceSpec) -> Vec<(&'static str, String)> {
    let id = spec.node_id;
    let [b0, b1] = id.to_le_bytes();
    let m = spec.mac;
    vec![
        ("EG_MODE", "edge".to_owned()),
        ("EG_NODE_ID_INT_DEC", id.to_string()),
        ("EG_NODE_ID_BYTE0_DEC", b0.to_string()),
        ("EG_NODE_ID_BYTE1_DEC", b1.to_string()),
        ("EG_NODE_ID_INT_HEX", format!("{id:x}")),
        ("EG_NODE_ID_BYTE0_HEX", format!("{b0:X}")),
        ("EG_NODE_ID_BYTE1_HEX", format!("{b1:X}")),
        ("EG_INTERFACE_NAME", spec.name.clone()),
        ("EG_INTERFACE_TYPE", spec.kind.itype().to_owned()),
        (
            "EG_INTERFACE_MAC_ADDR",
            format!(
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                m[0], m[1], m[2], m[3], m[4], m[5]
            ),
        ),
    ]
}

/// Runs `spec.post_script` (success without running anything if there is none).
pub fn run_post_script(spec: &IfaceSpec) -> io::Result<ExitStatus> {
    run_post_script_with_env(spec, &[])
}

/// As [`run_post_script`], with more variables (they override the spec's).
pub fn run_post_script_with_env(
    spec: &IfaceSpec,
    extra_env: &[(&str, &str)],
) -> io::Result<ExitStatus> {
    let Some(script) = &spec.post_script else {
        return Ok(ExitStatus::default());
    };
    let from_spec = post_script_env(spec);
    let env: Vec<(&str, &str)> = from_spec
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .chain(extra_env.iter().copied())
        .collect();
    run_script(script, &env)
}

/// Runs `script` as `/bin/sh -c SCRIPT` with our environment plus `env`
/// (later pairs override earlier ones), stdin /dev/null and stdout on our
/// stderr; waits for it to finish.
pub fn run_script(script: &str, env: &[(&str, &str)]) -> io::Result<ExitStatus> {
    let stderr = io::stderr().as_fd().try_clone_to_owned()?;
    Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::from(stderr))
        .status()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::IfaceKind;

    #[test]
    fn upstream_variables() {
        let spec = IfaceSpec::new(
            IfaceKind::Tap,
            "egd1",
            0x1a2b,
            [0xAA, 0xBB, 0xCC, 0xDD, 0x1A, 0x2B],
        );
        let env = post_script_env(&spec);
        let get = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("EG_INTERFACE_NAME"), Some("egd1"));
        assert_eq!(get("EG_INTERFACE_TYPE"), Some("tap"));
        assert_eq!(get("EG_NODE_ID_INT_DEC"), Some("6699"));
        assert_eq!(get("EG_NODE_ID_BYTE0_DEC"), Some("43"));
        assert_eq!(get("EG_NODE_ID_BYTE1_DEC"), Some("26"));
        assert_eq!(get("EG_NODE_ID_INT_HEX"), Some("1a2b"));
        assert_eq!(get("EG_NODE_ID_BYTE0_HEX"), Some("2B"));
        assert_eq!(get("EG_NODE_ID_BYTE1_HEX"), Some("1A"));
        assert_eq!(get("EG_INTERFACE_MAC_ADDR"), Some("aa:bb:cc:dd:1a:2b"));
        assert_eq!(get("EG_MODE"), Some("edge"));
    }

    #[test]
    fn no_script_is_success() {
        let spec = IfaceSpec::new(IfaceKind::Dummy, "d", 1, [2, 0, 0, 0, 0, 1]);
        assert!(run_post_script(&spec).unwrap().success());
    }
}
