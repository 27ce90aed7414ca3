//! `tcpsock`, `unixsock` (byte streams) and `unixpacketsock` (SOCK_SEQPACKET).
//!
//! Framing: on `tcpsock` and `unixsock` every frame is one record, a 2-byte
//! big-endian length and then the frame ([`record`]); frames longer than
//! 65 535 bytes cannot be sent. On `unixpacketsock` every frame is one packet.
//!
//! Connections:
//! - `RecvAddr` set: listen there and accept one client at a time; a new client
//!   replaces the old one; when the client closes, the next one is accepted.
//! - `SendAddr` set: connect there; when the connection fails or the peer
//!   closes, connect again from `maintain` (at most one attempt per second).
//! - Both set (as upstream allows): frames are read from both connections and
//!   written to the `SendAddr` one.
//!
//! Frames written while no connection is up are dropped and counted as
//! disconnected. A partly written record is finished before the next frame
//! is taken; until then new frames are dropped (counted as would-block).
//!
//! Driving it: [`L2Interface::read_fd`] is an epoll fd over the listening and
//! connected sockets and never changes. When it is readable call `maintain`
//! (accepts, finishes connects, sends pending record tails) and `read_frame`
//! until `Ok(None)`; also call `maintain` every [`L2Interface::maintain_interval`]
//! (one second when `SendAddr` is set, for reconnecting).

mod conn;
pub mod record;

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use rustix::event::epoll::{self, CreateFlags, EventData, EventFlags};
use rustix::io::Errno;
use rustix::net::sockopt::{set_tcp_nodelay, socket_error};
use rustix::net::{SocketFlags, SocketType, accept_with, connect, getpeername, listen};

use self::conn::{Conn, Framing, Got};
use crate::dgram::describe;
use crate::error::{Context, IfaceError};
use crate::sockaddr::{Addr, BoundPath};
use crate::spec::{IfaceKind, IfaceSpec, SockSpec};
use crate::{IfaceStats, L2Interface};

/// How often the connecting side retries.
pub const RECONNECT_INTERVAL: Duration = Duration::from_secs(1);
/// A connection attempt that has not completed by then is abandoned.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const LISTEN_BACKLOG: i32 = 16;

const TOKEN_LISTENER: u64 = 0;
const TOKEN_ACCEPTED: u64 = 1;
const TOKEN_DIALED: u64 = 2;

/// A stream or seqpacket endpoint.
#[derive(Debug)]
pub struct StreamIface {
    name: String,
    epoll: OwnedFd,
    ty: SocketType,
    framing: Framing,
    tcp: bool,
    listener: Option<Listener>,
    accepted: Option<Conn>,
    dial: Option<Dial>,
    stats: IfaceStats,
}

#[derive(Debug)]
struct Listener {
    fd: OwnedFd,
    _bound: Option<BoundPath>,
}

#[derive(Debug)]
struct Dial {
    addr: Addr,
    state: DialState,
}

#[derive(Debug)]
enum DialState {
    /// Not connected; try again at `retry_at` (None: at the next chance).
    Idle {
        retry_at: Option<Instant>,
    },
    Connecting {
        fd: OwnedFd,
        since: Instant,
    },
    Up(Conn),
}

impl StreamIface {
    /// Opens a `tcpsock`, `unixsock` or `unixpacketsock` endpoint. A first
    /// connection attempt to `SendAddr` is made here; if it fails, `maintain`
    /// retries (a missing peer is not an error at start-up).
    pub fn open(spec: &IfaceSpec) -> Result<Self, IfaceError> {
        Self::open_inner(spec)
            .map_err(|e| e.context(format_args!("{} {}", spec.kind.itype(), spec.name)))
    }

    fn open_inner(spec: &IfaceSpec) -> Result<Self, IfaceError> {
        let (ty, framing, tcp) = match spec.kind {
            IfaceKind::TcpSock => (SocketType::STREAM, Framing::Records, true),
            IfaceKind::UnixSock => (SocketType::STREAM, Framing::Records, false),
            IfaceKind::UnixPacketSock => (SocketType::SEQPACKET, Framing::Packets, false),
            other => {
                return Err(IfaceError::msg(format!(
                    "not a stream kind: {}",
                    other.itype()
                )));
            }
        };
        if spec.recv_addr.is_none() && spec.send_addr.is_none() {
            return Err(IfaceError::msg("needs RecvAddr or SendAddr"));
        }
        let epoll = epoll::create(CreateFlags::CLOEXEC).ctx("epoll_create")?;
        let mut me = Self {
            name: spec.name.clone(),
            epoll,
            ty,
            framing,
            tcp,
            listener: None,
            accepted: None,
            dial: None,
            stats: IfaceStats::default(),
        };
        if let Some(recv) = &spec.recv_addr {
            let addr = resolve(recv, tcp, "RecvAddr")?;
            let fd = addr.socket(ty).ctx("socket")?;
            let bound = addr
                .bind(&fd, ty)
                .ctx(format_args!("bind {}", describe(&addr)))?;
            listen(&fd, LISTEN_BACKLOG).ctx(format_args!("listen {}", describe(&addr)))?;
            epoll::add(
                &me.epoll,
                &fd,
                EventData::new_u64(TOKEN_LISTENER),
                EventFlags::IN,
            )
            .ctx("epoll_ctl")?;
            me.listener = Some(Listener { fd, _bound: bound });
        }
        if let Some(send) = &spec.send_addr {
            let addr = resolve(send, tcp, "SendAddr")?;
            me.dial = Some(Dial {
                addr,
                state: DialState::Idle { retry_at: None },
            });
            me.progress_dial().ctx("connect")?;
        }
        Ok(me)
    }

    /// The listening IP address (useful after binding port 0); None without
    /// a listener or for a unix socket.
    pub fn listen_addr(&self) -> io::Result<Option<std::net::SocketAddr>> {
        let Some(listener) = &self.listener else {
            return Ok(None);
        };
        Ok(std::net::SocketAddr::try_from(rustix::net::getsockname(&listener.fd)?).ok())
    }

    /// Whether a connection is up to write frames to.
    pub fn is_connected(&self) -> bool {
        match &self.dial {
            Some(d) => matches!(d.state, DialState::Up(_)),
            None => self.accepted.is_some(),
        }
    }

    fn accept_all(&mut self) -> io::Result<()> {
        let Some(listener) = &self.listener else {
            return Ok(());
        };
        loop {
            match accept_with(&listener.fd, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC) {
                Ok(fd) => {
                    if self.tcp {
                        // As on the connecting side (best effort).
                        let _ = set_tcp_nodelay(&fd, true);
                    }
                    // The previous client, if any, is closed: one client at a time.
                    self.accepted = None;
                    epoll::add(
                        &self.epoll,
                        &fd,
                        EventData::new_u64(TOKEN_ACCEPTED),
                        EventFlags::IN,
                    )?;
                    self.accepted = Some(Conn::new(fd, self.framing));
                    self.stats.connections += 1;
                }
                Err(Errno::AGAIN) => return Ok(()),
                Err(Errno::INTR | Errno::CONNABORTED) => {}
                Err(e @ (Errno::BADF | Errno::FAULT | Errno::NOTSOCK | Errno::INVAL)) => {
                    return Err(e.into());
                }
                // EMFILE, ENOBUFS, …: try again at the next maintain.
                Err(_) => {
                    self.stats.connect_errors += 1;
                    return Ok(());
                }
            }
        }
    }

    /// Advances the connecting side: start an attempt when due, finish one in
    /// progress. Each new socket is added to epoll once; a finished connect
    /// switches its interest from writability to readability.
    fn progress_dial(&mut self) -> io::Result<()> {
        let Some(dial) = &mut self.dial else {
            return Ok(());
        };
        let framing = self.framing;
        dial.state = match std::mem::replace(&mut dial.state, DialState::Idle { retry_at: None }) {
            DialState::Up(conn) => DialState::Up(conn),
            DialState::Idle { retry_at } => {
                let now = clock();
                if retry_at.is_some_and(|at| now < at) {
                    DialState::Idle { retry_at }
                } else {
                    let next = start_connect(&dial.addr, self.ty, framing, now, &mut self.stats)?;
                    match &next {
                        DialState::Up(conn) => watch_new(&self.epoll, &conn.fd, EventFlags::IN)?,
                        DialState::Connecting { fd, .. } => {
                            watch_new(&self.epoll, fd, EventFlags::OUT)?
                        }
                        DialState::Idle { .. } => {}
                    }
                    next
                }
            }
            DialState::Connecting { fd, since } => {
                let next = finish_connect(fd, since, framing, &mut self.stats)?;
                if let DialState::Up(conn) = &next {
                    epoll::modify(
                        &self.epoll,
                        &conn.fd,
                        EventData::new_u64(TOKEN_DIALED),
                        EventFlags::IN,
                    )?;
                }
                next
            }
        };
        Ok(())
    }

    /// Flushes pending record tails and watches for writability while one is left.
    fn flush_all(&mut self) -> io::Result<()> {
        if let Some(conn) = &mut self.accepted
            && !conn.flush(&mut self.stats)?
        {
            self.accepted = None;
        }
        if let Some(Dial { state, .. }) = &mut self.dial
            && let DialState::Up(conn) = state
            && !conn.flush(&mut self.stats)?
        {
            *state = DialState::Idle { retry_at: None };
        }
        self.rewatch()
    }

    /// Keeps epoll's interest in writability in step with pending output.
    fn rewatch(&mut self) -> io::Result<()> {
        let epoll = &self.epoll;
        let dialed = match &mut self.dial {
            Some(Dial {
                state: DialState::Up(conn),
                ..
            }) => Some((conn, TOKEN_DIALED)),
            _ => None,
        };
        let accepted = self.accepted.as_mut().map(|c| (c, TOKEN_ACCEPTED));
        for (conn, token) in accepted.into_iter().chain(dialed) {
            let want = conn.wants_out();
            if want != conn.watching_out {
                let flags = if want {
                    EventFlags::IN | EventFlags::OUT
                } else {
                    EventFlags::IN
                };
                epoll::modify(epoll, &conn.fd, EventData::new_u64(token), flags)?;
                conn.watching_out = want;
            }
        }
        Ok(())
    }
}

/// The one clock read of this module: reconnect pacing. `ifaces` is an I/O
/// crate (like the daemon), and the trait's `maintain` takes no time argument.
#[allow(clippy::disallowed_methods)]
fn clock() -> Instant {
    Instant::now()
}

/// Registers a freshly created dialing socket.
fn watch_new(epoll: &OwnedFd, fd: &OwnedFd, flags: EventFlags) -> io::Result<()> {
    Ok(epoll::add(
        epoll,
        fd,
        EventData::new_u64(TOKEN_DIALED),
        flags,
    )?)
}

fn start_connect(
    addr: &Addr,
    ty: SocketType,
    framing: Framing,
    now: Instant,
    stats: &mut IfaceStats,
) -> io::Result<DialState> {
    let fd = addr.socket(ty)?;
    if matches!(addr, Addr::Inet(_)) {
        // Frames are latency-sensitive; never wait to coalesce. (Best effort.)
        let _ = set_tcp_nodelay(&fd, true);
    }
    match connect(&fd, &addr.any()) {
        Ok(()) => {
            stats.connections += 1;
            Ok(DialState::Up(Conn::new(fd, framing)))
        }
        Err(Errno::INPROGRESS) => Ok(DialState::Connecting { fd, since: now }),
        Err(Errno::INTR) => Ok(DialState::Connecting { fd, since: now }),
        Err(e @ (Errno::BADF | Errno::FAULT | Errno::NOTSOCK)) => Err(e.into()),
        // Refused, no such path, unreachable, backlog full (AGAIN on unix), …
        Err(_) => {
            stats.connect_errors += 1;
            Ok(DialState::Idle {
                retry_at: Some(now + RECONNECT_INTERVAL),
            })
        }
    }
}

fn finish_connect(
    fd: OwnedFd,
    since: Instant,
    framing: Framing,
    stats: &mut IfaceStats,
) -> io::Result<DialState> {
    match getpeername(&fd) {
        Ok(_) => {
            stats.connections += 1;
            return Ok(DialState::Up(Conn::new(fd, framing)));
        }
        Err(Errno::NOTCONN) => {}
        Err(e) => return Err(e.into()),
    }
    let now = clock();
    let failed = socket_error(&fd)?.is_err();
    if failed || now.duration_since(since) > CONNECT_TIMEOUT {
        stats.connect_errors += 1;
        return Ok(DialState::Idle {
            retry_at: Some(now + RECONNECT_INTERVAL),
        });
    }
    Ok(DialState::Connecting { fd, since })
}

fn resolve(spec: &SockSpec, tcp: bool, key: &str) -> Result<Addr, IfaceError> {
    match (spec, tcp) {
        (SockSpec::Inet(a), true) => Ok(Addr::inet(*a)),
        (SockSpec::Unix(p), false) => Addr::unix(p).ctx(format_args!("{key} {}", p.display())),
        (SockSpec::Inet(a), false) => Err(IfaceError::msg(format!(
            "{key} {a} is not a unix socket path"
        ))),
        (SockSpec::Unix(p), true) => Err(IfaceError::msg(format!(
            "{key} {} is not an IP address",
            p.display()
        ))),
    }
}

impl L2Interface for StreamIface {
    fn name(&self) -> &str {
        &self.name
    }

    fn read_fd(&self) -> Option<RawFd> {
        Some(self.epoll.as_fd().as_raw_fd())
    }

    fn read_frame(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        if let Some(conn) = &mut self.accepted {
            match conn.read(buf, &mut self.stats)? {
                Got::Frame(n) => return Ok(Some(n)),
                Got::Nothing => {}
                Got::Closed => self.accepted = None,
            }
        }
        if let Some(Dial { state, .. }) = &mut self.dial
            && let DialState::Up(conn) = state
        {
            match conn.read(buf, &mut self.stats)? {
                Got::Frame(n) => return Ok(Some(n)),
                Got::Nothing => {}
                // Reconnect at the next maintain.
                Got::Closed => *state = DialState::Idle { retry_at: None },
            }
        }
        Ok(None)
    }

    fn write_frame(&mut self, frame: &[u8]) -> io::Result<()> {
        let alive = match &mut self.dial {
            Some(Dial {
                state: DialState::Up(conn),
                ..
            }) => conn.write(frame, &mut self.stats)?,
            Some(_) => {
                self.stats.dropped_disconnected += 1;
                return Ok(());
            }
            None => match &mut self.accepted {
                Some(conn) => conn.write(frame, &mut self.stats)?,
                None => {
                    self.stats.dropped_disconnected += 1;
                    return Ok(());
                }
            },
        };
        if !alive {
            match &mut self.dial {
                Some(d) => d.state = DialState::Idle { retry_at: None },
                None => self.accepted = None,
            }
        }
        self.rewatch()
    }

    fn maintain(&mut self) -> io::Result<()> {
        self.accept_all()?;
        self.progress_dial()?;
        self.flush_all()
    }

    fn maintain_interval(&self) -> Option<Duration> {
        self.dial.as_ref().map(|_| RECONNECT_INTERVAL)
    }

    fn stats(&self) -> IfaceStats {
        self.stats
    }
}
