//! Serving the WireGuard userspace API on `/var/run/wireguard/NAME.sock`
//! (unless `--no-uapi`), so `wg show NAME` works. A thread answers `get=1`
//! from a snapshot the edge loop refreshes about once a second (the data
//! path never waits for it); `set=1` is refused (`errno=1`, EPERM): egd's
//! peers come from its config, its supernode or its P2P neighbours.
//!
//! The socket is created mode 0600 in a 0700 folder (it shows the private
//! key, as `wg showconf` needs) and removed when the handle is dropped.
//!
//! A socket left by a process that is gone (`kill -9`, or a `--user` run:
//! see below) is replaced at start, with a log line; one that still
//! answers belongs to a running process and is left alone (start fails).
//!
//! With `--user`, egd cannot remove the socket when it stops: unlinking
//! needs write access to `/run/wireguard`, a root-owned folder that other
//! WireGuard implementations share, and a directory fd kept from before the
//! drop does not help (`unlinkat` checks the caller's rights at the time of
//! the call). Giving the user that folder would let it replace other
//! interfaces' sockets and read the keys `wg set` sends them, so egd leaves
//! the file and says so; the next start replaces it, and `wg` itself removes
//! a socket nobody answers on (wireguard-tools, `ipc-uapi.h`). The systemd
//! units run as root until after set-up; `ExecStopPost=` there could remove
//! it, but needs the interface name.

use std::io::{BufReader, ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::logging::target;
use crate::node::Node;
use crate::uapi::{RequestEnd, UapiPeer, UapiRequest, read_request, render_get};

const DIR: &str = "/var/run/wireguard";
/// Longest request egd reads (a `get` is one line).
const MAX_REQUEST: usize = 64 * 1024;

/// The running server; dropping it removes the socket.
#[derive(Debug)]
pub struct Uapi {
    path: PathBuf,
    snapshot: Arc<Mutex<String>>,
}

impl Uapi {
    /// Binds `/var/run/wireguard/{name}.sock` and starts answering.
    pub fn start(name: &str) -> std::io::Result<Uapi> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(DIR)?;
        let path = PathBuf::from(DIR).join(format!("{name}.sock"));
        clear_stale(&path)?;
        let listener = UnixListener::bind(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        let snapshot = Arc::new(Mutex::new(String::new()));
        let shared = Arc::clone(&snapshot);
        std::thread::Builder::new()
            .name("egd-uapi".into())
            .spawn(move || {
                for conn in listener.incoming().flatten() {
                    serve(conn, &shared);
                }
            })?;
        Ok(Uapi { path, snapshot })
    }

    /// Refreshes what `get=1` answers.
    pub fn update(
        &self,
        node: &Node,
        private_key: &[u8; 32],
        listen_port: u16,
        fwmark: u32,
        now: Instant,
        unix_now: Duration,
    ) {
        let metrics = node.metrics();
        let peers: Vec<UapiPeer> = node
            .peer_ids()
            .filter_map(|id| {
                let info = node.wg_peer_info(id)?;
                let counters = metrics.peers.get(&id).copied().unwrap_or_default();
                Some(UapiPeer {
                    public_key: info.public_key,
                    preshared_key: info.preshared_key,
                    endpoint: node.endpoint(id),
                    last_handshake: info
                        .last_handshake
                        .map(|t| unix_now.saturating_sub(now.saturating_duration_since(t))),
                    rx_bytes: counters.rx_bytes,
                    tx_bytes: counters.tx_bytes,
                    persistent_keepalive: info.persistent_keepalive,
                })
            })
            .collect();
        let text = render_get(private_key, listen_port, fwmark, &peers);
        if let Ok(mut s) = self.snapshot.lock() {
            *s = text;
        }
    }
}

impl Drop for Uapi {
    fn drop(&mut self) {
        match std::fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                tracing::info!(target: target::INTERNAL, "UAPI socket {} stays: this user may not remove it from {DIR} ({e}); the next start replaces it", self.path.display());
            }
            Err(e) => {
                tracing::debug!(target: target::INTERNAL, "removing {}: {e}", self.path.display());
            }
        }
    }
}

/// Makes room for the socket at `path`: nothing there is fine; a socket
/// nobody answers on (its process is gone) is removed, with a log line; a
/// live one, or anything that is not a socket, is an error.
pub fn clear_stale(path: &Path) -> std::io::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_socket() {
        return Err(std::io::Error::new(
            ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        ));
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(std::io::Error::new(
            ErrorKind::AddrInUse,
            format!(
                "{} answers: another running process serves this interface",
                path.display()
            ),
        )),
        Err(e) => {
            std::fs::remove_file(path)?;
            tracing::warn!(target: target::NORMAL, "replaced a stale UAPI socket {} (nobody answered on it: {e}); its process is gone", path.display());
            Ok(())
        }
    }
}

/// One connection: requests until the client hangs up.
fn serve(conn: UnixStream, snapshot: &Mutex<String>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let Ok(mut out) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    loop {
        let answer = match read_request(&mut reader, MAX_REQUEST) {
            Ok(UapiRequest::Get) => {
                let body = snapshot.lock().map(|s| s.clone()).unwrap_or_default();
                format!("{body}errno=0\n\n")
            }
            Ok(UapiRequest::Set) => "errno=1\n\n".to_owned(),
            Err(RequestEnd::Closed) => return,
            Err(RequestEnd::TooLong | RequestEnd::Unknown) => {
                tracing::debug!(target: target::INTERNAL, "UAPI: unknown request");
                return;
            }
        };
        if out.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}
