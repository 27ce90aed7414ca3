//! egd processes on loopback, outside any namespace (dummy interfaces, so
//! no root): free ports, config files, spawning egd, and an HTTP client for
//! the supernode's and edges' APIs.
//!
//! How to use: take a [`free_port`] for each listener, [`write`] each
//! config into a temporary folder, [`spawn`] egd on it (the processes die
//! with their [`Proc`]), then [`get`] / [`post`] the APIs; [`logs`] gathers
//! every log for a failure message. The YAML of a super-mode network is in
//! [`super::supernode`].

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::procs::{self, Proc};

/// A port free for both UDP and TCP on loopback right now.
pub fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Writes `text` to `dir/file` and returns the path.
pub fn write(dir: &Path, file: &str, text: &str) -> PathBuf {
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    path
}

/// `egd ARGS… --config CONFIG`, killed when the [`Proc`] drops.
pub fn spawn(egd: &str, args: &[&str], config: &Path) -> Proc {
    let mut cmd = Command::new(egd);
    cmd.args(args).arg("--config").arg(config);
    Proc::spawn(cmd)
}

/// The supernode's log and each edge's, for a failure message.
pub fn logs(supernode: &Proc, edges: &[Proc]) -> String {
    format!(
        "supernode:\n{}\nedges:\n{}",
        supernode.log(),
        procs::logs(edges)
    )
}

/// An HTTP client that reports every status instead of failing on it and
/// gives up after 5 s. It ignores proxy settings: every URL is loopback.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .proxy(None)
        .build()
        .new_agent()
}

/// (status, body) of a GET with an optional Bearer secret; status 0 when
/// nothing answered.
pub fn get(url: &str, bearer: Option<&str>) -> (u16, String) {
    let mut req = agent().get(url);
    if let Some(b) = bearer {
        req = req.header("Authorization", format!("Bearer {b}"));
    }
    match req.call() {
        Ok(mut r) => (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        ),
        Err(e) => (0, e.to_string()),
    }
}

/// The body of a GET that answered 200.
pub fn get_ok(url: &str, bearer: Option<&str>) -> Option<String> {
    let (status, body) = get(url, bearer);
    (status == 200).then_some(body)
}

/// (status, body) of a form POST with an optional Bearer secret.
pub fn post(url: &str, bearer: Option<&str>, form: &[(&str, &str)]) -> (u16, String) {
    let mut req = agent().post(url);
    if let Some(b) = bearer {
        req = req.header("Authorization", format!("Bearer {b}"));
    }
    match req.send_form(form.iter().copied()) {
        Ok(mut r) => (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        ),
        Err(e) => (0, e.to_string()),
    }
}
