//! The std backend: non-blocking sockets and level-triggered epoll. Portable
//! to any Linux (and to sandboxes that forbid io_uring), same trait, same
//! batching and GSO rules as the io_uring backend; sends are synchronous
//! `sendmsg` calls, so `flush` returns with the pool empty.
//!
//! `wait`: epoll_wait until the deadline (rounded up to whole ms) → for a
//! readable socket, `recvmsg` up to `RECV_BUDGET` times into one buffer, each
//! datagram lent to the callback (a GRO receive split into its datagrams) → for a watched fd, `Readable` → `Timeout` once
//! the deadline has passed. Level-triggered, so whatever the budget left in a
//! socket is reported again by the next wait.

mod io;

use crate::clock;
use crate::config::ReactorConfig;
use crate::features::Features;
use crate::ids::{GENERATION_MASK, SocketId, Token, WatchId};
use crate::send_arena::SendArena;
use crate::sockaddr::NameBuf;
use crate::stats::Stats;
use crate::sys::{self, cvt};
use crate::{Completion, Reactor};
use std::io as stdio;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Instant;

/// epoll events taken per epoll_wait.
const EVENTS: usize = 64;
/// Datagrams read from one socket per readiness report (fairness between
/// sockets and watched fds).
const RECV_BUDGET: usize = 64;

/// Control space for `recvmsg`, aligned like a `cmsghdr`.
#[repr(C, align(8))]
struct ControlBuf([u8; crate::gro::CONTROL_LEN]);

struct StdSocket {
    socket: UdpSocket,
    v6: bool,
    gso: bool,
}

struct WatchSlot {
    fd: RawFd,
    generation: u32,
    active: bool,
}

pub(crate) struct StdReactor {
    epoll: OwnedFd,
    sockets: Vec<StdSocket>,
    watches: Vec<WatchSlot>,
    free_watches: Vec<u32>,
    events: Box<[libc::epoll_event]>,
    recv_buf: Box<[u8]>,
    name: Box<NameBuf>,
    /// Control space of each `recvmsg` (the `UDP_GRO` segment size).
    control: Box<ControlBuf>,
    arena: SendArena,
    send_buffer_len: usize,
    /// Per-socket settings applied by `add_udp`.
    cfg: ReactorConfig,
    features: Features,
    stats: Stats,
}

impl StdReactor {
    pub(crate) fn new(cfg: &ReactorConfig) -> stdio::Result<StdReactor> {
        // SAFETY: plain syscall; the result is checked and owned below.
        let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        let epoll = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(StdReactor {
            epoll,
            sockets: Vec::new(),
            watches: Vec::new(),
            free_watches: Vec::new(),
            events: vec![libc::epoll_event { events: 0, u64: 0 }; EVENTS].into_boxed_slice(),
            recv_buf: vec![0; cfg.recv_buffer_len].into_boxed_slice(),
            name: Box::new(NameBuf([0; crate::sockaddr::NAME_LEN])),
            control: Box::new(ControlBuf([0; crate::gro::CONTROL_LEN])),
            arena: SendArena::new(cfg.send_batch, cfg.send_buffer_len)?,
            send_buffer_len: cfg.send_buffer_len,
            cfg: cfg.clone(),
            features: Features::std(
                sys::probe_gso(),
                cfg.recv_buffer_len >= crate::GRO_BUFFER_LEN && sys::probe_gro(),
                cfg.recv_buffer_len,
                cfg.send_batch,
            ),
            stats: Stats::default(),
        })
    }

    fn epoll_ctl(&self, op: libc::c_int, fd: RawFd, token: Token) -> stdio::Result<()> {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token.encode(),
        };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call.
        cvt(unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut ev) }).map(drop)
    }
}

impl Reactor for StdReactor {
    fn features(&self) -> &Features {
        &self.features
    }

    fn add_udp(&mut self, socket: UdpSocket) -> stdio::Result<SocketId> {
        let v6 = socket.local_addr()?.is_ipv6();
        socket.set_nonblocking(true)?;
        crate::sockopt::prepare(
            socket.as_raw_fd(),
            &self.cfg,
            &mut self.features,
            &mut self.stats,
        );
        let index = u32::try_from(self.sockets.len())
            .map_err(|_| stdio::Error::new(stdio::ErrorKind::InvalidInput, "too many sockets"))?;
        self.epoll_ctl(
            libc::EPOLL_CTL_ADD,
            socket.as_raw_fd(),
            Token::Recv { socket: index },
        )?;
        self.sockets.push(StdSocket {
            socket,
            v6,
            gso: self.features.gso,
        });
        Ok(SocketId(index))
    }

    fn watch_readable(&mut self, fd: RawFd) -> stdio::Result<WatchId> {
        let slot = match self.free_watches.pop() {
            Some(s) => s,
            None => {
                let s = u32::try_from(self.watches.len()).map_err(|_| {
                    stdio::Error::new(stdio::ErrorKind::InvalidInput, "too many watches")
                })?;
                self.watches.push(WatchSlot {
                    fd,
                    generation: 0,
                    active: false,
                });
                s
            }
        };
        let generation = self.watches[slot as usize].generation;
        if let Err(e) = self.epoll_ctl(libc::EPOLL_CTL_ADD, fd, Token::Watch { slot, generation }) {
            self.free_watches.push(slot);
            return Err(e);
        }
        let w = &mut self.watches[slot as usize];
        w.fd = fd;
        w.active = true;
        Ok(WatchId { slot, generation })
    }

    fn unwatch(&mut self, id: WatchId) {
        let Some(w) = self.watches.get_mut(id.slot as usize) else {
            return;
        };
        if !w.active || w.generation != id.generation {
            return;
        }
        w.active = false;
        w.generation = (w.generation + 1) & GENERATION_MASK;
        let fd = w.fd;
        self.free_watches.push(id.slot);
        // Fails harmlessly (EBADF/ENOENT) if the caller closed the fd first:
        // closing removes it from the epoll set.
        let _ = self.epoll_ctl(libc::EPOLL_CTL_DEL, fd, Token::Ignored);
    }

    fn queue_send(
        &mut self,
        socket: SocketId,
        dst: SocketAddr,
        payload: &[u8],
    ) -> stdio::Result<()> {
        if socket.index() >= self.sockets.len() {
            return Err(stdio::Error::new(
                stdio::ErrorKind::InvalidInput,
                "unknown socket",
            ));
        }
        if payload.len() > self.send_buffer_len {
            return Err(stdio::Error::new(
                stdio::ErrorKind::InvalidInput,
                "datagram longer than send_buffer_len",
            ));
        }
        if self.arena.is_full() {
            self.flush()?;
        }
        if !self.arena.push(socket, dst, payload) {
            return Err(stdio::ErrorKind::WouldBlock.into());
        }
        if self.arena.is_full() {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> stdio::Result<()> {
        if self.arena.len() == 0 {
            return Ok(());
        }
        let sockets = &self.sockets;
        let ops = self.arena.plan(|s| {
            sockets
                .get(s.index())
                .map_or((false, false), |x| (x.gso, x.v6))
        });
        for op in ops {
            self.send_op(op);
        }
        self.arena.clear();
        Ok(())
    }

    fn wait(
        &mut self,
        deadline: Option<Instant>,
        f: &mut dyn FnMut(Completion<'_>),
    ) -> stdio::Result<()> {
        loop {
            let timeout_ms = match deadline {
                None => -1,
                // Round up: waking a little late is fine, early is a spin.
                Some(d) => clock::remaining(d)
                    .as_micros()
                    .div_ceil(1000)
                    .min(i32::MAX as u128) as i32,
            };
            // SAFETY: `events` is valid for writes of its length.
            let n = unsafe {
                libc::epoll_wait(
                    self.epoll.as_raw_fd(),
                    self.events.as_mut_ptr(),
                    self.events.len() as i32,
                    timeout_ms,
                )
            };
            let interrupted = match cvt(n) {
                Ok(_) => false,
                Err(e) if e.kind() == stdio::ErrorKind::Interrupted => true,
                Err(e) => return Err(e),
            };
            let mut delivered = 0;
            for i in 0..usize::try_from(n).unwrap_or(0) {
                // Copy out: epoll_event is packed on x86_64.
                let data = self.events[i].u64;
                delivered += match Token::decode(data) {
                    Token::Recv { socket } => self.recv_socket(socket, f),
                    Token::Watch { slot, generation } => self.on_watch(slot, generation, f),
                    _ => 0,
                };
            }
            if deadline.is_some_and(|d| clock::remaining(d).is_zero()) {
                self.stats.timeouts += 1;
                f(Completion::Timeout);
                delivered += 1;
            }
            if delivered > 0 || interrupted {
                return Ok(());
            }
        }
    }

    fn stats(&self) -> Stats {
        let drops = self.sockets.iter().map(|s| s.socket.as_raw_fd());
        Stats {
            socket_drops: crate::stats::socket_drops(drops),
            ..self.stats
        }
    }

    fn local_addr(&self, socket: SocketId) -> stdio::Result<SocketAddr> {
        match self.sockets.get(socket.index()) {
            Some(s) => s.socket.local_addr(),
            None => Err(stdio::Error::new(
                stdio::ErrorKind::InvalidInput,
                "unknown socket",
            )),
        }
    }
}

impl StdReactor {
    fn on_watch(&mut self, slot: u32, generation: u32, f: &mut dyn FnMut(Completion<'_>)) -> usize {
        match self.watches.get(slot as usize) {
            Some(w) if w.active && w.generation == generation => {
                f(Completion::Readable(WatchId { slot, generation }));
                1
            }
            _ => 0,
        }
    }
}
