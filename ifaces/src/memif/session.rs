//! One control connection and its handshake, for either role: messages in
//! (with their passed fds), answers out, and the [`Link`] once connected.
//!
//! Drive it by calling [`Session::poll`] whenever its socket is readable; it
//! reads every pending message and reports when the link came up or the
//! session ended. A protocol error is answered with DISCONNECT and ends the
//! session; a peer never makes it panic.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::io::Errno;
use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};

use super::link::{ClientLayout, Link, MemifRole, Queue};
use super::msg::{self, ADD_RING_FLAG_C2S, MODE_ETHERNET, MSG_LEN, Msg, VERSION};
use super::shm::Region;

/// What the local side offers or asks for.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub role: MemifRole,
    /// The memif interface id both sides must agree on.
    pub id: u32,
    /// Our interface name (CONNECT / CONNECTED).
    pub if_name: String,
    /// Client: the ring size it asks for. Server: the largest it accepts.
    pub log2_ring_size: u8,
    /// Client: bytes per buffer.
    pub buffer_size: u32,
}

/// The server accepts this many regions (DPDK's clients send one or, with
/// zero-copy, a few).
const MAX_REGIONS: u16 = 16;
/// Largest ring the server accepts (as DPDK's `ETH_MEMIF_MAX_LOG2_RING_SIZE`).
pub(crate) const MAX_LOG2_RING_SIZE: u8 = 14;
/// Name sent in HELLO and INIT.
const APP_NAME: &str = "egd";

/// What [`Session::poll`] saw.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Still handshaking, or up and nothing changed.
    Idle,
    /// The link just came up; the peer named its interface so.
    Up { peer: String },
    /// The session is over (peer closed, sent DISCONNECT, or broke the
    /// protocol); the reason is for a log line.
    Closed(String),
}

/// A ring the client announced, kept until CONNECT.
#[derive(Debug)]
struct RingOffer {
    region: u16,
    offset: u32,
    log2: u8,
    interrupt: OwnedFd,
}

#[derive(Debug)]
enum State {
    /// Client, connected to the socket: waiting for the server's HELLO.
    AwaitHello,
    /// Client: everything sent, waiting for CONNECTED.
    AwaitConnected(Link),
    /// Server: HELLO sent, collecting INIT, regions and rings until CONNECT.
    Setup {
        init: bool,
        regions: Vec<Region>,
        c2s: Option<RingOffer>,
        s2c: Option<RingOffer>,
    },
    Up(Link),
    /// Ended; the owner drops the session.
    Done,
}

#[derive(Debug)]
pub(crate) struct Session {
    sock: OwnedFd,
    state: State,
}

impl Session {
    /// A client session on a freshly connected socket.
    pub(crate) fn client(sock: OwnedFd) -> Self {
        Self {
            sock,
            state: State::AwaitHello,
        }
    }

    /// A server session on an accepted socket: greets with HELLO.
    pub(crate) fn server(sock: OwnedFd) -> io::Result<Self> {
        send(
            &sock,
            &Msg::Hello {
                name: msg::fixed(APP_NAME),
                min_version: VERSION,
                max_version: VERSION,
                max_region: MAX_REGIONS - 1,
                // One queue pair: the highest ring index is 0.
                max_m2s_ring: 0,
                max_s2m_ring: 0,
                max_log2_ring_size: MAX_LOG2_RING_SIZE,
            },
            None,
        )?;
        Ok(Self {
            sock,
            state: State::Setup {
                init: false,
                regions: Vec::new(),
                c2s: None,
                s2c: None,
            },
        })
    }

    pub(crate) fn sock(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }

    pub(crate) fn link(&mut self) -> Option<&mut Link> {
        match &mut self.state {
            State::Up(link) => Some(link),
            _ => None,
        }
    }

    pub(crate) fn is_up(&self) -> bool {
        matches!(self.state, State::Up(_))
    }

    /// Ends the session with DISCONNECT `reason` (best effort).
    pub(crate) fn close(&mut self, reason: &str) {
        if !matches!(self.state, State::Done) {
            let _ = send(&self.sock, &Msg::disconnect(reason), None);
            self.state = State::Done;
        }
        // Read what the peer already queued: closing a unix socket with
        // unread data resets the peer's end, which would then lose our
        // DISCONNECT and its reason. Bounded: a handshake is a few messages.
        for _ in 0..64 {
            if !matches!(recv(&self.sock), Ok(Some(_))) {
                break;
            }
        }
    }

    /// Reads and handles every pending message.
    pub(crate) fn poll(&mut self, cfg: &Settings) -> io::Result<Step> {
        let mut step = Step::Idle;
        loop {
            let (m, fd) = match recv(&self.sock) {
                Ok(Some(got)) => got,
                Ok(None) => return Ok(step),
                Err(e) if is_peer_gone(&e) => {
                    self.state = State::Done;
                    return Ok(Step::Closed(format!("control socket: {e}")));
                }
                Err(e) => return Err(e),
            };
            let Some(m) = m else {
                self.close("Invalid message");
                return Ok(Step::Closed("malformed control message".into()));
            };
            match self.handle(cfg, m, fd) {
                Ok(Some(peer)) => step = Step::Up { peer },
                Ok(None) => {}
                Err(Ended::Local(reason)) => {
                    self.close(&reason);
                    return Ok(Step::Closed(reason));
                }
                Err(Ended::Peer(reason)) => {
                    self.state = State::Done;
                    return Ok(Step::Closed(reason));
                }
            }
        }
    }

    /// One message. Ok(Some(peer name)) when the link just came up.
    fn handle(
        &mut self,
        cfg: &Settings,
        m: Msg,
        fd: Option<OwnedFd>,
    ) -> Result<Option<String>, Ended> {
        let local = |s: &str| Err(Ended::Local(s.to_string()));
        if let Msg::Disconnect { reason, .. } = &m {
            return Err(Ended::Peer(format!(
                "peer disconnected: {}",
                msg::text(reason)
            )));
        }
        match (&mut self.state, m) {
            (
                State::AwaitHello,
                Msg::Hello {
                    min_version,
                    max_version,
                    max_log2_ring_size,
                    ..
                },
            ) => {
                if !(min_version..=max_version).contains(&VERSION) {
                    return local("Incompatible memif version");
                }
                let layout = ClientLayout {
                    log2_ring_size: cfg.log2_ring_size.min(max_log2_ring_size),
                    buffer_size: cfg.buffer_size,
                };
                let link = Link::new_client(layout)
                    .map_err(|e| Ended::Local(format!("shared memory: {e}")))?;
                self.client_handshake(cfg, &link, layout)
                    .map_err(|e| Ended::Local(format!("sending setup: {e}")))?;
                self.state = State::AwaitConnected(link);
                Ok(None)
            }
            (State::AwaitConnected(_), Msg::Ack) => Ok(None),
            (State::AwaitConnected(_), Msg::Connected { if_name }) => {
                let State::AwaitConnected(mut link) =
                    std::mem::replace(&mut self.state, State::Done)
                else {
                    return local("internal state");
                };
                link.client_connected();
                self.state = State::Up(link);
                Ok(Some(msg::text(&if_name)))
            }
            (
                State::Setup { init, .. },
                Msg::Init {
                    version, id, mode, ..
                },
            ) if !*init => {
                if version != VERSION {
                    return local("Incompatible memif version");
                }
                if id != cfg.id {
                    return local("ID not found");
                }
                if mode != MODE_ETHERNET {
                    return local("Only ethernet mode supported");
                }
                *init = true;
                self.ack()
            }
            (
                State::Setup {
                    init: true,
                    regions,
                    ..
                },
                Msg::AddRegion { index, size },
            ) => {
                let Some(fd) = fd else {
                    return local("Missing region fd");
                };
                if usize::from(index) != regions.len() || index >= MAX_REGIONS {
                    return local("Invalid region index");
                }
                let region = Region::adopt(fd, size)
                    .map_err(|e| Ended::Local(format!("Bad region: {e}")))?;
                regions.push(region);
                self.ack()
            }
            (
                State::Setup {
                    init: true,
                    c2s,
                    s2c,
                    ..
                },
                Msg::AddRing {
                    flags,
                    index,
                    region,
                    offset,
                    log2_ring_size,
                    ..
                },
            ) => {
                let Some(interrupt) = fd else {
                    return local("Missing interrupt fd");
                };
                let slot = if flags & ADD_RING_FLAG_C2S != 0 {
                    c2s
                } else {
                    s2c
                };
                if index != 0 || slot.is_some() {
                    return local("Invalid ring index");
                }
                if log2_ring_size > MAX_LOG2_RING_SIZE {
                    return local("Ring too large");
                }
                *slot = Some(RingOffer {
                    region,
                    offset,
                    log2: log2_ring_size,
                    interrupt,
                });
                self.ack()
            }
            (State::Setup { init: true, .. }, Msg::Connect { if_name }) => {
                let State::Setup {
                    regions, c2s, s2c, ..
                } = std::mem::replace(&mut self.state, State::Done)
                else {
                    return local("internal state");
                };
                let (Some(c2s), Some(s2c)) = (c2s, s2c) else {
                    return local("Missing ring");
                };
                let (c2s, s2c) = (queue(&regions, c2s)?, queue(&regions, s2c)?);
                let link = Link::new_server(regions, c2s, s2c)
                    .map_err(|f| Ended::Local(f.0.to_string()))?;
                send(
                    &self.sock,
                    &Msg::Connected {
                        if_name: msg::fixed(&cfg.if_name),
                    },
                    None,
                )
                .map_err(|e| Ended::Local(format!("sending CONNECTED: {e}")))?;
                self.state = State::Up(link);
                Ok(Some(msg::text(&if_name)))
            }
            _ => local("Unexpected message"),
        }
    }

    fn ack(&self) -> Result<Option<String>, Ended> {
        send(&self.sock, &Msg::Ack, None).map_err(|e| Ended::Local(format!("sending ACK: {e}")))?;
        Ok(None)
    }

    /// INIT, ADD_REGION, ADD_RING ×2, CONNECT, all at once (a server answers
    /// each in turn; nothing waits for the ACKs).
    fn client_handshake(
        &self,
        cfg: &Settings,
        link: &Link,
        layout: ClientLayout,
    ) -> io::Result<()> {
        let s = &self.sock;
        send(
            s,
            &Msg::Init {
                version: VERSION,
                id: cfg.id,
                mode: MODE_ETHERNET,
                name: msg::fixed(APP_NAME),
            },
            None,
        )?;
        for (index, region) in link.regions().iter().enumerate() {
            let add = Msg::AddRegion {
                index: index as u16,
                size: region.len() as u64,
            };
            send(s, &add, Some(region.fd()))?;
        }
        let (c2s_fd, s2c_fd) = link.ring_fds();
        for (c2s, fd) in [(true, c2s_fd), (false, s2c_fd)] {
            let add = Msg::AddRing {
                flags: if c2s { ADD_RING_FLAG_C2S } else { 0 },
                index: 0,
                region: 0,
                offset: layout.ring_offset(c2s) as u32,
                log2_ring_size: layout.log2_ring_size,
                private_hdr_size: 0,
            };
            send(s, &add, Some(fd))?;
        }
        send(
            s,
            &Msg::Connect {
                if_name: msg::fixed(&cfg.if_name),
            },
            None,
        )
    }
}

/// How a session ended inside `handle`.
enum Ended {
    /// We end it: tell the peer why.
    Local(String),
    /// The peer ended it.
    Peer(String),
}

/// A ring offer turned into a queue over the client's region.
fn queue(regions: &[Region], offer: RingOffer) -> Result<Queue, Ended> {
    let ring = regions
        .get(usize::from(offer.region))
        .and_then(|r| r.ring(offer.offset as usize, offer.log2))
        .ok_or_else(|| Ended::Local("Ring outside its region".into()))?;
    Ok(Queue {
        ring,
        interrupt: offer.interrupt,
        cursor: 0,
    })
}

fn is_peer_gone(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}

/// Sends one message, with `fd` as SCM_RIGHTS. The socket is non-blocking;
/// control traffic is a handful of 128-byte records, so a full socket buffer
/// means a stuck peer and is an error like any other.
pub(crate) fn send(sock: &OwnedFd, m: &Msg, fd: Option<BorrowedFd<'_>>) -> io::Result<()> {
    send_raw(sock, &m.encode(), fd)
}

/// Sends `bytes` as one record (a fuzzer's peer sends malformed ones too).
pub(crate) fn send_raw(sock: &OwnedFd, bytes: &[u8], fd: Option<BorrowedFd<'_>>) -> io::Result<()> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    let fds;
    if let Some(fd) = fd {
        fds = [fd];
        control.push(SendAncillaryMessage::ScmRights(&fds));
    }
    let n = rustix::net::sendmsg(
        sock,
        &[io::IoSlice::new(bytes)],
        &mut control,
        SendFlags::NOSIGNAL,
    )?;
    if n != bytes.len() {
        return Err(io::ErrorKind::WriteZero.into());
    }
    Ok(())
}

/// Receives one message: Ok(None) when none is pending; the message is None
/// when malformed. Err(UnexpectedEof) when the peer closed.
#[allow(clippy::type_complexity)]
fn recv(sock: &OwnedFd) -> io::Result<Option<(Option<Msg>, Option<OwnedFd>)>> {
    let mut bytes = [0u8; MSG_LEN + 1];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(4))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let got = match rustix::net::recvmsg(
        sock,
        &mut [io::IoSliceMut::new(&mut bytes)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC | RecvFlags::DONTWAIT,
    ) {
        Ok(got) => got,
        Err(Errno::AGAIN) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    // Keep the first passed fd; any others close when `control` drops.
    let mut fd = None;
    for m in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = m {
            for f in fds {
                fd.get_or_insert(f);
            }
        }
    }
    if got.bytes == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    let truncated = got.flags.contains(rustix::net::ReturnFlags::TRUNC);
    let m = if truncated {
        None
    } else {
        Msg::decode(&bytes[..got.bytes])
    };
    Ok(Some((m, fd)))
}
