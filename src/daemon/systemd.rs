//! systemd service notifications (`Type=notify`, sd_notify(3)): `READY=1`
//! once the interface and sockets are up, `STATUS=` lines while running,
//! `RELOADING=1` around a SIGHUP reload, `STOPPING=1` on the way out.
//! Without `NOTIFY_SOCKET` (not under systemd) every call does nothing.

use std::sync::atomic::{AtomicBool, Ordering};

use sd_notify::NotifyState;

use crate::logging::target;

fn send(states: &[NotifyState<'_>]) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if let Err(e) = sd_notify::notify(states)
        && !WARNED.swap(true, Ordering::Relaxed)
    {
        tracing::warn!(target: target::INTERNAL, "systemd notification failed: {e}");
    }
}

/// The service is up; `status` says what it runs.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// A one-line status for `systemctl status`.
pub fn status(status: &str) {
    send(&[NotifyState::Status(status)]);
}

/// A reload begins (systemd wants the monotonic time with it).
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

/// A reload finished.
pub fn reloaded(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}
