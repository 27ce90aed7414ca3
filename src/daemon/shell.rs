//! The process skeleton both daemons (edge and supernode) share: signal
//! handlers, the reactor, the `/metrics` listener, the privilege drop, the
//! systemd notifications (`ready`, `reloading`/`reloaded` around a SIGHUP
//! reload, `status`, `stopping`) and the publish and status ticks.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use egd_uring::{Backend, Reactor, ReactorConfig};

use super::error::RunError;
use super::signals::Signals;
use super::{metrics, privdrop, systemd};
use crate::config::MetricsConfig;
use crate::logging::target;

/// How often the counters are copied to the metrics registry.
const PUBLISH_PERIOD: Duration = Duration::from_secs(1);

/// One daemon process: its signals and its two ticks.
#[derive(Debug)]
pub struct Shell {
    signals: Signals,
    status_period: Duration,
    next_publish: Instant,
    next_status: Instant,
}

/// What is due in one loop round (see [`Shell::tick`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticks {
    /// Copy the counters to the metrics registry (every second).
    pub publish: bool,
    /// Tell systemd how the process is doing (every `status_period`).
    pub status: bool,
}

impl Shell {
    /// Installs the signal handlers; `status_period` is how often
    /// [`Ticks::status`] comes round.
    pub fn start(status_period: Duration, now: Instant) -> Result<Self, RunError> {
        let signals = Signals::install().map_err(RunError::Signals)?;
        Ok(Self {
            signals,
            status_period,
            next_publish: now,
            next_status: now,
        })
    }

    /// Tells systemd the process is up; both ticks are due from `now`.
    pub fn ready(&mut self, now: Instant, status: &str) {
        self.next_publish = now;
        self.next_status = now;
        systemd::ready(status);
    }

    /// True until SIGTERM or SIGINT.
    pub fn running(&self) -> bool {
        !self.signals.stop_requested()
    }

    /// On SIGHUP with a config file: runs `reload` on it between systemd's
    /// `RELOADING=1` and `READY=1`; `reload` returns the new status line.
    pub fn take_reload(&self, config: Option<&Path>, reload: impl FnOnce(&Path) -> String) {
        if self.signals.take_reload()
            && let Some(path) = config
        {
            systemd::reloading();
            let status = reload(path);
            systemd::reloaded(&status);
        }
    }

    /// What is due at `now`; each tick, once reported, comes round again
    /// one period later.
    pub fn tick(&mut self, now: Instant) -> Ticks {
        let publish = now >= self.next_publish;
        if publish {
            self.next_publish = now + PUBLISH_PERIOD;
        }
        let status = now >= self.next_status;
        if status {
            self.next_status = now + self.status_period;
        }
        Ticks { publish, status }
    }

    /// Tells systemd and the log that the process is on its way out.
    pub fn stopping(&self) {
        systemd::stopping();
        tracing::info!(target: target::NORMAL, "stopping");
    }
}

/// A `systemctl status` line.
pub fn status(line: &str) {
    systemd::status(line);
}

/// The reactor `backend` asks for (or the one that replaced it, with a
/// warning in the log).
pub fn reactor(backend: Backend) -> Result<Box<dyn Reactor>, RunError> {
    let (reactor, warning) =
        egd_uring::new_reactor(backend, ReactorConfig::default()).map_err(RunError::Reactor)?;
    if let Some(w) = warning {
        tracing::warn!(target: target::INTERNAL, "{w}");
    }
    Ok(reactor)
}

/// Serves `/metrics` on the command line's address, else the config's.
pub fn serve_metrics(cli: Option<SocketAddr>, cfg: Option<MetricsConfig>) -> Result<(), RunError> {
    if let Some(listen) = cli.or(cfg.map(|m| m.listen)) {
        metrics::install(listen).map_err(RunError::Metrics)?;
        tracing::info!(target: target::NORMAL, "metrics on http://{listen}/metrics");
    }
    Ok(())
}

/// Drops the privileges `role` does not need once setup is done.
pub fn drop_privileges(role: privdrop::Role) -> Result<(), RunError> {
    privdrop::after_setup(role).map_err(RunError::Privdrop)
}
