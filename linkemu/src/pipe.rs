//! [`Pipe`]: one direction of the link, as two threads around a
//! [`DelayQueue`].
//!
//! How to drive it: [`Pipe::start`] with the socket to read, the socket to
//! send from and where to send; change its [`Direction`] at any time with
//! [`Pipe::set_direction`]; read [`Pipe::stats`]. Dropping it (or
//! [`Pipe::signal_stop`] then drop) stops and joins both threads.
//!
//! Why two threads: std has no portable way to wait on a socket and a
//! deadline at once without `unsafe` or a poll dependency, and a blocked
//! `recv` must not hold back a due datagram. So the receiver blocks in
//! `recv_from`, stamps the arrival time at once, decides the datagram's fate
//! and queues it; the sender sleeps on a condition variable exactly until
//! the next due time (woken early when an earlier datagram is queued) and
//! sends whatever is due. The delay is measured from the kernel's receive
//! timestamp ([`StampedSocket`]), so the receiver's wake-up latency adds no
//! error as long as it is shorter than the delay; both threads ask for
//! real-time scheduling (`crate::realtime`) so that their wake-up latency
//! stays small on a busy machine.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::direction::Direction;
use crate::queue::{DelayQueue, QueueLimit};
use crate::realtime::{Priority, try_realtime};
use crate::rng::SplitMix64;
use crate::stamp::StampedSocket;
use crate::stats::{Counters, DirectionStats};

/// How often a receiver blocked in `recv_from` looks at the stop flag: the
/// longest a dropped link takes to join its threads.
const STOP_POLL: Duration = Duration::from_millis(20);

/// Large enough for any UDP payload (IPv4 or IPv6 without jumbograms).
const MAX_DATAGRAM: usize = 65_536;

/// Where the b→a direction sends: the address that last sent to `a_listen`,
/// as a NAT or a WireGuard peer would learn it.
#[derive(Debug, Default)]
pub(crate) struct ReturnAddress(Mutex<Option<SocketAddr>>);

impl ReturnAddress {
    fn learn(&self, from: SocketAddr) {
        *lock(&self.0) = Some(from);
    }

    pub(crate) fn get(&self) -> Option<SocketAddr> {
        *lock(&self.0)
    }
}

/// Where a pipe's sender sends.
#[derive(Clone, Debug)]
pub(crate) enum Destination {
    Fixed(SocketAddr),
    Learned(Arc<ReturnAddress>),
}

/// The sockets and addresses of one direction.
#[derive(Debug)]
pub(crate) struct Ends {
    /// Arrivals are read here.
    pub(crate) rx: UdpSocket,
    /// Departures leave from here.
    pub(crate) tx: UdpSocket,
    pub(crate) destination: Destination,
    /// If set, every arrival's source is learned as the return address.
    pub(crate) learn: Option<Arc<ReturnAddress>>,
}

/// One running direction.
#[derive(Debug)]
pub(crate) struct Pipe {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    /// Both threads run under `SCHED_FIFO`.
    realtime: bool,
}

impl Pipe {
    /// Starts the receiver and sender threads; `name` (`a_to_b`) names them.
    pub(crate) fn start(
        name: &str,
        direction: Direction,
        limit: QueueLimit,
        ends: Ends,
        seed: u64,
    ) -> io::Result<Self> {
        let shared = Arc::new(Shared {
            direction: Mutex::new(direction),
            flight: Mutex::new(Flight {
                queue: DelayQueue::new(limit),
                stopped: false,
            }),
            due_changed: Condvar::new(),
            counters: Counters::default(),
            stop: AtomicBool::new(false),
        });
        // A partly started pipe is dropped on error, which stops what runs.
        let mut pipe = Self {
            shared: Arc::clone(&shared),
            threads: Vec::new(),
            realtime: false,
        };
        ends.rx.set_read_timeout(Some(STOP_POLL))?;
        let receiver = Receiver {
            shared: Arc::clone(&shared),
            socket: StampedSocket::new(ends.rx)?,
            learn: ends.learn,
            rng: SplitMix64::new(seed),
        };
        let sender = Sender {
            shared,
            socket: ends.tx,
            destination: ends.destination,
        };
        let rx_realtime = pipe.spawn(
            format!("linkemu {name} rx"),
            Priority::Receiver,
            move || receiver.run(),
        )?;
        let tx_realtime =
            pipe.spawn(format!("linkemu {name} tx"), Priority::Sender, move || {
                sender.run()
            })?;
        pipe.realtime = rx_realtime && tx_realtime;
        Ok(pipe)
    }

    /// True if both threads run under `SCHED_FIFO`.
    pub(crate) fn realtime(&self) -> bool {
        self.realtime
    }

    /// Starts a thread that first asks for real-time `priority`; waits for
    /// that answer, so [`Pipe::realtime`] is known when `start` returns.
    fn spawn(
        &mut self,
        name: String,
        priority: Priority,
        body: impl FnOnce() + Send + 'static,
    ) -> io::Result<bool> {
        let (answer, realtime) = mpsc::channel();
        self.threads
            .push(thread::Builder::new().name(name).spawn(move || {
                // `spawn` waits for this below, so the receiving end is there.
                let _ = answer.send(try_realtime(priority));
                body();
            })?);
        Ok(realtime.recv().unwrap_or(false))
    }

    pub(crate) fn direction(&self) -> Direction {
        *lock(&self.shared.direction)
    }

    /// Applies to arrivals from now on; queued datagrams keep their due time.
    pub(crate) fn set_direction(&self, direction: Direction) {
        *lock(&self.shared.direction) = direction;
    }

    pub(crate) fn stats(&self) -> DirectionStats {
        let mut stats = self.shared.counters.snapshot();
        let flight = lock(&self.shared.flight);
        stats.queued = flight.queue.len() as u64;
        stats.queued_bytes = flight.queue.bytes() as u64;
        stats.peak_queued = flight.queue.peak_len() as u64;
        stats
    }

    /// Tells both threads to stop without waiting for them, so that two
    /// pipes stop in parallel; dropping the pipe joins them.
    pub(crate) fn signal_stop(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        // Under the lock, so a sender between its check and its wait cannot
        // miss the notification.
        lock(&self.shared.flight).stopped = true;
        self.shared.due_changed.notify_all();
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        self.signal_stop();
        for thread in self.threads.drain(..) {
            // A thread that panicked has nothing left to clean up; its panic
            // message is already on stderr.
            let _ = thread.join();
        }
    }
}

/// What both threads of a pipe share.
#[derive(Debug)]
struct Shared {
    direction: Mutex<Direction>,
    flight: Mutex<Flight>,
    /// Signalled when the earliest due time moves earlier, or on stop.
    due_changed: Condvar,
    counters: Counters,
    /// Read by the receiver between `recv_from` calls.
    stop: AtomicBool,
}

#[derive(Debug)]
struct Flight {
    queue: DelayQueue,
    stopped: bool,
}

struct Receiver {
    shared: Arc<Shared>,
    socket: StampedSocket,
    learn: Option<Arc<ReturnAddress>>,
    rng: SplitMix64,
}

impl Receiver {
    fn run(mut self) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        while !self.shared.stop.load(Ordering::Relaxed) {
            match self.socket.recv_from(&mut buf) {
                Ok((len, from, arrived)) => self.handle(arrived, from, &buf[..len]),
                // The read timeout: time to look at the stop flag.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Nothing else is expected from an unconnected UDP socket;
                // pause so a persistent error cannot spin a core.
                Err(_) => thread::sleep(STOP_POLL),
            }
        }
    }

    fn handle(&mut self, arrived: Instant, from: SocketAddr, payload: &[u8]) {
        let counters = &self.shared.counters;
        Counters::bump(&counters.received);
        if let Some(learn) = &self.learn {
            learn.learn(from);
        }
        let direction = *lock(&self.shared.direction);
        // Always two draws per datagram, whatever the settings, so with a
        // given seed the n-th arrival always meets the same luck.
        let loss_draw = self.rng.unit();
        let jitter_draw = self.rng.unit();
        if !direction.up {
            return Counters::bump(&counters.down);
        }
        if direction.mtu.is_some_and(|mtu| payload.len() > mtu) {
            return Counters::bump(&counters.too_big);
        }
        if loss_draw < direction.loss {
            return Counters::bump(&counters.lost);
        }
        let due = arrived + direction.sample_delay(jitter_draw);
        let mut flight = lock(&self.shared.flight);
        let head_before = flight.queue.next_due();
        if flight
            .queue
            .push(due, direction.reorder, payload.to_vec())
            .is_err()
        {
            return Counters::bump(&counters.overflow);
        }
        // Wake the sender only if it now has an earlier deadline than the one
        // it sleeps towards.
        if flight.queue.next_due() != head_before {
            self.shared.due_changed.notify_one();
        }
    }
}

struct Sender {
    shared: Arc<Shared>,
    socket: UdpSocket,
    destination: Destination,
}

impl Sender {
    fn run(self) {
        let mut due_now = Vec::new();
        let mut flight = lock(&self.shared.flight);
        while !flight.stopped {
            let now = Instant::now();
            due_now.extend(std::iter::from_fn(|| flight.queue.pop_due(now)));
            if !due_now.is_empty() {
                // Send without the lock, so arrivals are not held up.
                drop(flight);
                for payload in due_now.drain(..) {
                    self.send(&payload);
                }
                flight = lock(&self.shared.flight);
                continue;
            }
            flight = match flight.queue.next_due() {
                Some(due) => self
                    .shared
                    .due_changed
                    .wait_timeout(flight, due.saturating_duration_since(now))
                    .map_or_else(|poisoned| poisoned.into_inner().0, |(guard, _)| guard),
                None => self
                    .shared
                    .due_changed
                    .wait(flight)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
    }

    fn send(&self, payload: &[u8]) {
        let counters = &self.shared.counters;
        let to = match &self.destination {
            Destination::Fixed(to) => *to,
            Destination::Learned(learned) => match learned.get() {
                Some(to) => to,
                None => return Counters::bump(&counters.no_peer),
            },
        };
        match self.socket.send_to(payload, to) {
            Ok(_) => Counters::bump(&counters.forwarded),
            Err(_) => Counters::bump(&counters.send_errors),
        }
    }
}

/// A poisoned lock means another emulator thread panicked; the data it
/// guards (settings, a queue, an address) is still whole, so carry on.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
