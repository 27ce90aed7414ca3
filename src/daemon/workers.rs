//! The data-path threads beyond the first: each builds its own reactor on
//! its thread (an io_uring ring is single-issuer), takes its UDP sockets
//! and its tap queue, and runs [`DataPath`] until told to stop. Timers,
//! control, metrics and reloads stay on the daemon's main thread (which
//! runs data path 0 as well); a worker wakes it when the node has events.
//!
//! ```text
//! let workers = Workers::start(setups, backend, node, wake, max_frame, slot_len)?;
//! loop {
//!     workers.check()?;              // a dead worker stops the daemon
//!     let stats = workers.stats();   // summed into the metrics
//! }
//! drop(workers);                     // stops and joins the threads
//! ```
//!
//! Threads are named `egd-dp-N` (N from 1; the main thread is data path 0),
//! as `/proc/PID/task/*/comm` shows them.

use std::io;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use egd_ifaces::L2Interface;
use egd_uring::{Backend, ReactorConfig};

use super::batch_lock::lock;
use super::clock;
use super::datapath::{DataPath, PathIo, PathStats};
use super::error::RunError;
use super::wake::WakeHandle;
use crate::logging::target;
use crate::node::Node;

/// Longest a worker sleeps, so a stop request is noticed promptly.
const MAX_SLEEP: Duration = Duration::from_millis(200);
/// How often a worker copies its counters for the metrics.
const STATS_PERIOD: Duration = Duration::from_secs(1);

/// What one worker thread is given.
pub struct WorkerIo {
    pub iface: Box<dyn L2Interface>,
    /// See [`DataPath::new`].
    pub writer: Option<Box<dyn L2Interface>>,
    pub v4: Option<UdpSocket>,
    pub v6: Option<UdpSocket>,
}

impl std::fmt::Debug for WorkerIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerIo")
            .field("iface", &self.iface.name())
            .finish()
    }
}

/// The running worker threads.
pub struct Workers {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    stats: Arc<Mutex<Vec<PathStats>>>,
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workers")
            .field("threads", &self.threads.len())
            .finish()
    }
}

impl Workers {
    /// Starts one thread per `WorkerIo`; returns once each has its reactor
    /// (or the first error).
    pub fn start(
        ios: Vec<WorkerIo>,
        backend: Backend,
        node: &Arc<Mutex<Node>>,
        wake: &WakeHandle,
        max_frame: usize,
        slot_len: usize,
    ) -> Result<Workers, RunError> {
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Mutex::new(vec![PathStats::default(); ios.len()]));
        let mut workers = Workers {
            stop: Arc::clone(&stop),
            threads: Vec::new(),
            stats: Arc::clone(&stats),
        };
        for (i, io) in ios.into_iter().enumerate() {
            let (ready_tx, ready_rx) = mpsc::sync_channel(1);
            let (stop, stats, node, wake) = (
                Arc::clone(&stop),
                Arc::clone(&stats),
                Arc::clone(node),
                wake.clone(),
            );
            let thread = std::thread::Builder::new()
                .name(format!("egd-dp-{}", i + 1))
                .spawn(move || {
                    let path = match build(io, backend, max_frame, slot_len, wake) {
                        Ok(p) => {
                            let _ = ready_tx.send(Ok(()));
                            p
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    run(path, &node, &stop, &stats, i);
                })
                .map_err(RunError::Thread)?;
            workers.threads.push(thread);
            match ready_rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(source)) => {
                    return Err(RunError::DataPath {
                        thread: i + 1,
                        source,
                    });
                }
                Err(_) => return Err(RunError::DataPathDied(i + 1)),
            }
        }
        Ok(workers)
    }

    /// Err once any worker has stopped (it logged why).
    pub fn check(&self) -> Result<(), RunError> {
        match self.threads.iter().position(JoinHandle::is_finished) {
            Some(i) => Err(RunError::DataPathStopped(i + 1)),
            None => Ok(()),
        }
    }

    /// The workers' counters as of their last copy (at most a second old).
    pub fn stats(&self) -> Vec<PathStats> {
        lock(&self.stats).clone()
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn build(
    io: WorkerIo,
    backend: Backend,
    max_frame: usize,
    slot_len: usize,
    wake: WakeHandle,
) -> io::Result<DataPath> {
    let (mut reactor, warning) = egd_uring::new_reactor(backend, ReactorConfig::default())?;
    if let Some(w) = warning {
        tracing::warn!(target: target::INTERNAL, "{w}");
    }
    let v4 = io.v4.map(|s| reactor.add_udp(s)).transpose();
    let v6 = io.v6.map(|s| reactor.add_udp(s)).transpose();
    let (v4, v6) = (v4?, v6?);
    let io = PathIo {
        reactor,
        v4,
        v6,
        iface: io.iface,
        writer: io.writer,
    };
    DataPath::new(io, max_frame, slot_len, Some(wake))
}

fn run(
    mut path: DataPath,
    node: &Mutex<Node>,
    stop: &AtomicBool,
    stats: &Mutex<Vec<PathStats>>,
    index: usize,
) {
    let mut next_stats = clock::now();
    while !stop.load(Ordering::Relaxed) {
        let deadline = clock::now() + MAX_SLEEP;
        if let Err(e) = path.wait(node, Some(deadline), &mut |_| {}) {
            tracing::error!(target: target::INTERNAL, "data path thread {}: reactor wait: {e}", index + 1);
            return;
        }
        path.read_iface(node);
        let now = clock::now();
        if now >= next_stats {
            if let Some(slot) = lock(stats).get_mut(index) {
                *slot = path.stats();
            }
            next_stats = now + STATS_PERIOD;
        }
    }
}
