//! Per-socket setup done by `add_udp` in both backends: UDP GRO and the
//! kernel socket buffers.
//!
//! Buffers: `SO_RCVBUFFORCE`/`SO_SNDBUFFORCE` (need CAP_NET_ADMIN, ignore
//! `net.core.rmem_max`/`wmem_max`), else `SO_RCVBUF`/`SO_SNDBUF` (capped at
//! those sysctls, 208 KiB by default). Buffers already larger are left alone.
//! The kernel doubles the request for its bookkeeping; what it reads back
//! (the effective size) goes into `Features`.

use crate::config::ReactorConfig;
use crate::features::Features;
use crate::gro;
use crate::stats::Stats;
use crate::sys;
use std::os::fd::RawFd;

/// Enable GRO (when `features.gro`) and raise the buffers of a socket being
/// registered; records refusals in `stats` (logged once per reactor) and the
/// effective buffer sizes in `features` (the smallest over all sockets).
pub(crate) fn prepare(fd: RawFd, cfg: &ReactorConfig, features: &mut Features, stats: &mut Stats) {
    let socket_buffer = cfg.socket_buffer;
    if features.gro && (cfg.refuse_gro_for_tests || !gro::enable(fd)) {
        stats.gro_refused += 1;
        if stats.gro_refused == 1 {
            tracing::warn!(
                errno = std::io::Error::last_os_error().raw_os_error(),
                "kernel refused UDP_GRO on a socket; it receives datagram by datagram"
            );
        }
    }
    if socket_buffer == 0 {
        return;
    }
    let rcv = raise(fd, libc::SO_RCVBUFFORCE, libc::SO_RCVBUF, socket_buffer);
    let snd = raise(fd, libc::SO_SNDBUFFORCE, libc::SO_SNDBUF, socket_buffer);
    let first = features.recv_socket_buffer == 0 && features.send_socket_buffer == 0;
    let smallest = |old: usize, new: usize| if first { new } else { old.min(new) };
    features.recv_socket_buffer = smallest(features.recv_socket_buffer, rcv.0);
    features.send_socket_buffer = smallest(features.send_socket_buffer, snd.0);
    // "forced" only when every size of every socket could be forced.
    features.socket_buffers_forced = (first || features.socket_buffers_forced) && rcv.1 && snd.1;
}

/// Ask for `bytes` with `force`, else with `plain`; returns the effective
/// size and whether the limit-ignoring option worked (or was not needed).
fn raise(fd: RawFd, force: libc::c_int, plain: libc::c_int, bytes: usize) -> (usize, bool) {
    let effective = || {
        sys::int_option(fd, libc::SOL_SOCKET, plain)
            .ok()
            .and_then(|v| usize::try_from(v).ok())
            .unwrap_or(0)
    };
    if effective() >= bytes.saturating_mul(2) {
        return (effective(), true);
    }
    let request = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    let forced = sys::set_int_option(fd, libc::SOL_SOCKET, force, request).is_ok();
    if !forced {
        // Best effort: the sysctl cap applies; the effective size says.
        let _ = sys::set_int_option(fd, libc::SOL_SOCKET, plain, request);
    }
    (effective(), forced)
}
