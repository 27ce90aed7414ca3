//! Serving the WireGuard userspace API on `/var/run/wireguard/NAME.sock`
//! (unless `--no-uapi`), so `wg show NAME` works. A thread answers `get=1`
//! from a snapshot the edge loop refreshes about once a second (the data
//! path never waits for it); `set=1` is refused (`errno=1`, EPERM): egd's
//! peers come from its config, its supernode or its P2P neighbours.
//!
//! The socket is created mode 0600 in a 0700 folder (it shows the private
//! key, as `wg showconf` needs) and removed when the handle is dropped.

use std::io::{BufReader, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
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
        // A stale socket of a crashed run: nobody answers on it.
        if UnixStream::connect(&path).is_err() {
            let _ = std::fs::remove_file(&path);
        }
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
        let _ = std::fs::remove_file(&self.path);
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
