//! [`Link`]: a running emulated link between side A and side B.
//!
//! How to drive it: fill a [`LinkConfig`] (ports may be 0; read the bound
//! ones from [`Link::local_addrs`]), call [`Link::spawn`], point one end of
//! the UDP path at `a_listen`, and let B's peer talk to `b_listen`. Change a
//! direction at any time with [`Link::set_a_to_b`] / [`Link::set_b_to_a`];
//! read [`Link::stats`]. Dropping the `Link` stops it and joins its threads.

use std::fmt;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;

use crate::direction::{Direction, InvalidDirection};
use crate::pipe::{Destination, Ends, Pipe, ReturnAddress};
use crate::queue::QueueLimit;
use crate::stats::LinkStats;

/// Everything a [`Link`] needs.
///
/// Datagrams arriving on `a_listen` go out from `b_listen` to `b_peer` after
/// the `a_to_b` treatment; datagrams arriving on `b_listen` go out from
/// `a_listen` after the `b_to_a` treatment, to `a_peer` if it is set, else to
/// the address that last sent anything to `a_listen` (learned on every
/// arrival, even one the link then drops, as a NAT mapping would be).
#[derive(Clone, Debug)]
pub struct LinkConfig {
    /// Side A's socket: what the A end of the path sends to.
    pub a_listen: SocketAddr,
    /// A fixed return address for b→a; `None` learns it (see above).
    pub a_peer: Option<SocketAddr>,
    /// Side B's socket: what B's peer sees as the A end's address.
    pub b_listen: SocketAddr,
    /// Where a→b datagrams go.
    pub b_peer: SocketAddr,
    pub a_to_b: Direction,
    pub b_to_a: Direction,
    /// Seeds loss and jitter; the same seed and arrival order give the same
    /// drops and delays.
    pub seed: u64,
    /// The in-flight bound of each direction.
    pub queue_limit: QueueLimit,
}

impl LinkConfig {
    /// An ideal link (see [`Direction::default`]) with the default queue
    /// bound and seed 0; set the directions with struct update syntax.
    pub fn new(a_listen: SocketAddr, b_listen: SocketAddr, b_peer: SocketAddr) -> Self {
        Self {
            a_listen,
            a_peer: None,
            b_listen,
            b_peer,
            a_to_b: Direction::default(),
            b_to_a: Direction::default(),
            seed: 0,
            queue_limit: QueueLimit::DEFAULT,
        }
    }
}

/// The bound addresses of a running link (the real ports when the config
/// asked for port 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalAddrs {
    pub a: SocketAddr,
    pub b: SocketAddr,
}

/// A running link; stops on drop.
#[derive(Debug)]
pub struct Link {
    a_to_b: Pipe,
    b_to_a: Pipe,
    local: LocalAddrs,
    return_address: Arc<ReturnAddress>,
    a_peer: Option<SocketAddr>,
}

impl Link {
    /// Binds both sockets and starts four threads (a receiver and a sender
    /// per direction), which ask for real-time scheduling (see
    /// [`Link::realtime`]).
    pub fn spawn(config: LinkConfig) -> Result<Self, SpawnError> {
        config.a_to_b.validate().map_err(SpawnError::AToB)?;
        config.b_to_a.validate().map_err(SpawnError::BToA)?;
        let bind = |addr: SocketAddr, side: &'static str| {
            UdpSocket::bind(addr).map_err(|error| SpawnError::Bind { side, addr, error })
        };
        let a = bind(config.a_listen, "a_listen")?;
        let b = bind(config.b_listen, "b_listen")?;
        let local = LocalAddrs {
            a: a.local_addr()?,
            b: b.local_addr()?,
        };
        let return_address = Arc::new(ReturnAddress::default());
        let (learn, b_to_a_destination) = match config.a_peer {
            Some(a_peer) => (None, Destination::Fixed(a_peer)),
            None => (
                Some(Arc::clone(&return_address)),
                Destination::Learned(Arc::clone(&return_address)),
            ),
        };
        let a_to_b_ends = Ends {
            rx: a.try_clone()?,
            tx: b.try_clone()?,
            destination: Destination::Fixed(config.b_peer),
            learn,
        };
        let b_to_a_ends = Ends {
            rx: b,
            tx: a,
            destination: b_to_a_destination,
            learn: None,
        };
        // Different streams per direction, so their luck is independent.
        let a_to_b = Pipe::start(
            "a_to_b",
            config.a_to_b,
            config.queue_limit,
            a_to_b_ends,
            config.seed,
        )?;
        let b_to_a = Pipe::start(
            "b_to_a",
            config.b_to_a,
            config.queue_limit,
            b_to_a_ends,
            config.seed ^ 0x5DEE_CE66_D1CE_B00C,
        )?;
        Ok(Self {
            a_to_b,
            b_to_a,
            local,
            return_address,
            a_peer: config.a_peer,
        })
    }

    /// The a→b settings now.
    pub fn a_to_b(&self) -> Direction {
        self.a_to_b.direction()
    }

    /// The b→a settings now.
    pub fn b_to_a(&self) -> Direction {
        self.b_to_a.direction()
    }

    /// New a→b settings for datagrams that arrive from now on (those in
    /// flight keep their due time).
    pub fn set_a_to_b(&self, direction: Direction) -> Result<(), InvalidDirection> {
        direction.validate()?;
        self.a_to_b.set_direction(direction);
        Ok(())
    }

    /// New b→a settings for datagrams that arrive from now on.
    pub fn set_b_to_a(&self, direction: Direction) -> Result<(), InvalidDirection> {
        direction.validate()?;
        self.b_to_a.set_direction(direction);
        Ok(())
    }

    pub fn stats(&self) -> LinkStats {
        LinkStats {
            a_to_b: self.a_to_b.stats(),
            b_to_a: self.b_to_a.stats(),
        }
    }

    /// True if all four threads got real-time scheduling (`SCHED_FIFO`,
    /// which needs root or `CAP_SYS_NICE`). Without it the delays are still
    /// right on an idle machine, but on a busy one datagrams leave late:
    /// check this before trusting tight timing on a loaded host.
    pub fn realtime(&self) -> bool {
        self.a_to_b.realtime() && self.b_to_a.realtime()
    }

    pub fn local_addrs(&self) -> LocalAddrs {
        self.local
    }

    /// Where b→a datagrams go now: `a_peer`, or the last sender to
    /// `a_listen`, or `None` before anything arrived there.
    pub fn return_address(&self) -> Option<SocketAddr> {
        self.a_peer.or_else(|| self.return_address.get())
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // Both at once, then each pipe's drop joins its threads.
        self.a_to_b.signal_stop();
        self.b_to_a.signal_stop();
    }
}

/// Why [`Link::spawn`] failed.
#[derive(Debug)]
pub enum SpawnError {
    /// A listening address could not be bound; `side` is `a_listen` or
    /// `b_listen`.
    Bind {
        side: &'static str,
        addr: SocketAddr,
        error: io::Error,
    },
    AToB(InvalidDirection),
    BToA(InvalidDirection),
    /// Reading an address back, cloning a socket or starting a thread.
    Io(io::Error),
}

impl From<io::Error> for SpawnError {
    fn from(error: io::Error) -> Self {
        Self::Io(error)
    }
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bind { side, addr, error } => write!(f, "{side}: cannot bind {addr}: {error}"),
            Self::AToB(e) => write!(f, "a_to_b: {e}"),
            Self::BToA(e) => write!(f, "b_to_a: {e}"),
            Self::Io(e) => write!(f, "starting the link: {e}"),
        }
    }
}

impl std::error::Error for SpawnError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Bind { error, .. } | Self::Io(error) => Some(error),
            Self::AToB(e) | Self::BToA(e) => Some(e),
        }
    }
}
