//! `vpp`: a memif interface, our own implementation of the shared-memory
//! packet interface of VPP, libmemif and DPDK's `net_memif` (protocol 2.0).
//!
//! [`MemifIface`] is either side of one memif: the client ("slave",
//! default) connects to the socket of a server such as VPP and provides the
//! shared memory; the server ("master") listens and maps its client's
//! memory. One queue pair; frames up to any length (longer than one buffer
//! they span chained slots). Files: `msg.rs` (control messages), `session.rs`
//! (the handshake), `link.rs` (rings and frame copies), `shm.rs` (memfd
//! regions, ring layout; all `unsafe`), `vpp.rs` (the operator's VPP CLI).
//!
//! How to drive it (the crate's usual loop, see [`crate::L2Interface`]):
//! `read_fd()` is an epoll fd over the control socket (or the listener) and
//! the receive ring's eventfd, stable for the endpoint's life. When it is
//! readable, or every [`maintain_interval`](crate::L2Interface::maintain_interval),
//! call `maintain()` (handshake steps, accepting, reconnecting one second
//! after the peer went away), then `read_frame` until `Ok(None)`.
//! `write_frame` copies into the ring and kicks the peer's eventfd; with no
//! peer, or a full ring, the frame is dropped and counted.
//!
//! VPP's side is configured there (see [`vpp::cli_lines`]): the interface
//! id must match `VPPIFaceID`, and `VPPBridgeID` is the VPP bridge domain
//! the memif joins — egd only prints the lines, it does not talk to VPP's API.

#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod link;
mod msg;
mod session;
mod shm;
pub mod vpp;

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rustix::event::epoll::{self, CreateFlags, EventData, EventFlags};
use rustix::io::Errno;
use rustix::net::{SocketFlags, SocketType};

pub use link::MemifRole;
use link::{Received, Sent};
use session::{Session, Settings, Step};

use crate::error::Context;
use crate::sockaddr::{Addr, BoundPath};
use crate::{IfaceError, IfaceSpec, IfaceStats, L2Interface};

/// VPP's default memif socket (its socket-id 0).
pub const DEFAULT_SOCKET: &str = "/run/vpp/memif.sock";
/// 1024 slots per ring, as VPP's and libmemif's default.
pub const LOG2_RING_SIZE: u8 = 10;
/// Bytes per buffer, as VPP's default; longer frames span several.
pub const BUFFER_SIZE: u32 = 2048;
/// How long a client waits before connecting again.
const RECONNECT_INTERVAL: Duration = Duration::from_secs(1);
/// A handshake not finished in this time is abandoned (a stuck peer).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// The memif settings of an `Interface` block with `IType: vpp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemifSpec {
    /// The control socket (`VPPIFaceSocket`); `@name` is an abstract name.
    pub socket: PathBuf,
    /// The memif interface id (`VPPIFaceID`).
    pub id: u32,
    /// Our side (`VPPIFaceRole`).
    pub role: MemifRole,
}

impl Default for MemifSpec {
    fn default() -> Self {
        Self {
            socket: PathBuf::from(DEFAULT_SOCKET),
            id: 0,
            role: MemifRole::Client,
        }
    }
}

const TOKEN_LISTENER: u64 = 0;
const TOKEN_SESSION: u64 = 1;
const TOKEN_RX: u64 = 2;

/// One memif endpoint (either role). See the module docs for how to drive it.
#[derive(Debug)]
pub struct MemifIface {
    name: String,
    cfg: Settings,
    addr: Addr,
    epoll: OwnedFd,
    /// Server: the listening socket (and the socket file, removed on drop).
    listener: Option<(OwnedFd, Option<BoundPath>)>,
    session: Option<Live>,
    /// Client: when to try connecting next.
    retry_at: Option<Instant>,
    /// Why the last session ended, for the daemon's log.
    last_error: Option<String>,
    peer_name: Option<String>,
    stats: IfaceStats,
}

/// A session and when it started (for the handshake timeout).
#[derive(Debug)]
struct Live {
    session: Session,
    since: Instant,
    rx_watched: bool,
}

impl MemifIface {
    /// Opens `spec` (kind `vpp`): a server binds and listens now; a client
    /// connects in `maintain` (at once on the first call), so a missing
    /// server is not an error.
    pub fn open(spec: &IfaceSpec) -> Result<Self, IfaceError> {
        let m = &spec.memif;
        let what = format!("vpp {}", spec.name);
        let addr = Addr::unix(&m.socket)
            .ctx(format_args!("socket {}", m.socket.display()))
            .map_err(|e| e.context(&what))?;
        let epoll = epoll::create(CreateFlags::CLOEXEC)
            .ctx("epoll_create")
            .map_err(|e| e.context(&what))?;
        let listener = match m.role {
            MemifRole::Client => None,
            MemifRole::Server => {
                let open = || -> io::Result<(OwnedFd, Option<BoundPath>)> {
                    let fd = addr.socket(SocketType::SEQPACKET)?;
                    let bound = addr.bind(&fd, SocketType::SEQPACKET)?;
                    rustix::net::listen(&fd, 8)?;
                    epoll::add(
                        &epoll,
                        &fd,
                        EventData::new_u64(TOKEN_LISTENER),
                        EventFlags::IN,
                    )?;
                    Ok((fd, bound))
                };
                Some(
                    open()
                        .ctx(format_args!("listen on {}", m.socket.display()))
                        .map_err(|e| e.context(&what))?,
                )
            }
        };
        Ok(Self {
            name: spec.name.clone(),
            cfg: Settings {
                role: m.role,
                id: m.id,
                if_name: spec.name.clone(),
                log2_ring_size: LOG2_RING_SIZE,
                buffer_size: BUFFER_SIZE,
            },
            addr,
            epoll,
            listener,
            session: None,
            retry_at: None,
            last_error: None,
            peer_name: None,
            stats: IfaceStats::default(),
        })
    }

    /// Whether the shared-memory link is up (frames can flow).
    pub fn is_connected(&self) -> bool {
        self.session.as_ref().is_some_and(|l| l.session.is_up())
    }

    /// The peer's interface name, once connected.
    pub fn peer_name(&self) -> Option<&str> {
        self.peer_name.as_deref()
    }

    /// Why the last session ended (taken: each reason is reported once).
    pub fn take_last_error(&mut self) -> Option<String> {
        self.last_error.take()
    }

    fn end_session(&mut self, reason: String) {
        if let Some(mut live) = self.session.take() {
            // Explicit removal: the peer holds copies of these fds, so
            // closing ours would not remove them from the epoll set.
            if live.rx_watched
                && let Some(link) = live.session.link()
            {
                let _ = epoll::delete(&self.epoll, link.rx_fd());
            }
            let _ = epoll::delete(&self.epoll, live.session.sock());
            live.session.close(&reason);
        }
        self.peer_name = None;
        self.last_error = Some(reason);
        if self.cfg.role == MemifRole::Client {
            self.retry_at = Some(clock() + RECONNECT_INTERVAL);
        }
    }

    fn start_session(&mut self, session: Session) -> io::Result<()> {
        epoll::add(
            &self.epoll,
            session.sock(),
            EventData::new_u64(TOKEN_SESSION),
            EventFlags::IN,
        )?;
        self.session = Some(Live {
            session,
            since: clock(),
            rx_watched: false,
        });
        Ok(())
    }

    fn poll_session(&mut self) -> io::Result<()> {
        let Some(live) = &mut self.session else {
            return Ok(());
        };
        match live.session.poll(&self.cfg)? {
            Step::Idle => {
                if !live.session.is_up() && live.since.elapsed() > HANDSHAKE_TIMEOUT {
                    self.end_session("handshake timed out".into());
                }
            }
            Step::Up { peer } => {
                if let Some(link) = live.session.link() {
                    epoll::add(
                        &self.epoll,
                        link.rx_fd(),
                        EventData::new_u64(TOKEN_RX),
                        EventFlags::IN,
                    )?;
                    live.rx_watched = true;
                }
                self.stats.connections += 1;
                self.peer_name = Some(peer);
            }
            Step::Closed(reason) => self.end_session(reason),
        }
        Ok(())
    }

    fn accept_all(&mut self) -> io::Result<()> {
        loop {
            let Some((listener, _)) = &self.listener else {
                return Ok(());
            };
            let sock = match rustix::net::accept_with(
                listener,
                SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
            ) {
                Ok(sock) => sock,
                Err(Errno::AGAIN) => return Ok(()),
                Err(Errno::CONNABORTED | Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            };
            if self.session.is_some() {
                // One client at a time, as VPP's and DPDK's servers do.
                let _ = session::send(&sock, &msg::Msg::disconnect("Already connected"), None);
                continue;
            }
            match Session::server(sock) {
                Ok(s) => self.start_session(s)?,
                Err(_) => self.stats.connect_errors += 1,
            }
        }
    }

    fn dial(&mut self) -> io::Result<()> {
        if self.session.is_some() || self.retry_at.is_some_and(|t| clock() < t) {
            return Ok(());
        }
        let fd = self.addr.socket(SocketType::SEQPACKET)?;
        match rustix::net::connect(&fd, &self.addr.any()) {
            Ok(()) => self.start_session(Session::client(fd)),
            // Missing socket, nobody listening, backlog full: try later.
            Err(e) => {
                self.stats.connect_errors += 1;
                self.last_error = Some(format!("connect: {e}"));
                self.retry_at = Some(clock() + RECONNECT_INTERVAL);
                Ok(())
            }
        }
    }
}

impl L2Interface for MemifIface {
    fn name(&self) -> &str {
        &self.name
    }

    fn read_fd(&self) -> Option<RawFd> {
        Some(self.epoll.as_fd().as_raw_fd())
    }

    fn read_frame(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            let Some(link) = self.session.as_mut().and_then(|l| l.session.link()) else {
                return Ok(None);
            };
            match link.recv(buf) {
                Ok(Received::Frame(n)) => {
                    self.stats.rx(n);
                    return Ok(Some(n));
                }
                Ok(Received::TooLong) => self.stats.dropped_too_long += 1,
                Ok(Received::Empty) => return Ok(None),
                Err(fault) => {
                    self.stats.rx_errors += 1;
                    self.end_session(fault.0.to_string());
                    return Ok(None);
                }
            }
        }
    }

    fn write_frame(&mut self, frame: &[u8]) -> io::Result<()> {
        let Some(link) = self.session.as_mut().and_then(|l| l.session.link()) else {
            self.stats.dropped_disconnected += 1;
            return Ok(());
        };
        match link.send(frame) {
            Ok(Sent::Yes) => self.stats.tx(frame.len()),
            Ok(Sent::Full) => self.stats.dropped_would_block += 1,
            Err(fault) => {
                self.stats.tx_errors += 1;
                self.end_session(fault.0.to_string());
            }
        }
        Ok(())
    }

    fn maintain(&mut self) -> io::Result<()> {
        // The current session first: a restarted client's old socket must
        // be seen closed before its new connection is accepted.
        self.poll_session()?;
        match self.cfg.role {
            MemifRole::Server => self.accept_all()?,
            MemifRole::Client => self.dial()?,
        }
        // A session started just now may already have its first message.
        self.poll_session()
    }

    fn maintain_interval(&self) -> Option<Duration> {
        Some(Duration::from_millis(250))
    }

    fn stats(&self) -> IfaceStats {
        self.stats
    }
}

impl Drop for MemifIface {
    fn drop(&mut self) {
        if let Some(mut live) = self.session.take() {
            live.session.close("interface closed");
        }
    }
}

/// The clock for reconnect timing: this crate sits below the daemon, and the
/// trait's `maintain` takes no time argument.
#[allow(clippy::disallowed_methods)]
fn clock() -> Instant {
    Instant::now()
}
