//! NTP (docs/system.md#ntp): a side thread asks SNTP servers (`NTPConfig`) for the
//! clock offset and publishes it; the edge loop applies it to its ping
//! timestamps. Start-up and the data path never wait for it: names are
//! resolved on this thread and unresolvable ones skipped; with no server
//! reachable the offset stays 0 (logged once) and everything still works.
//!
//! Servers are host names or addresses, optionally with a port
//! (`ntp.example.net`, `192.0.2.1:123`, `[2001:db8::1]:123`).

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use crate::config::NtpSettings;
use crate::logging::target;
use crate::ntp::{Sample, fastest, median_offset};

/// The offset the NTP thread last measured (ns, server minus local).
#[derive(Debug, Clone, Default)]
pub struct NtpOffset(Arc<AtomicI64>);

impl NtpOffset {
    pub fn ns(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Starts the NTP thread (when `UseNTP`).
pub fn start(settings: &NtpSettings) -> Option<NtpOffset> {
    if !settings.enabled {
        return None;
    }
    let offset = NtpOffset::default();
    let shared = offset.clone();
    let settings = settings.clone();
    let spawned = std::thread::Builder::new()
        .name("egd-ntp".into())
        .spawn(move || run(&settings, &shared));
    if let Err(e) = spawned {
        tracing::warn!(target: target::NTP, "NTP thread: {e}; clock offset stays 0");
        return None;
    }
    Some(offset)
}

fn run(settings: &NtpSettings, offset: &NtpOffset) {
    let warned = AtomicBool::new(false);
    // First sync: every server; later: the fastest that answered.
    let mut chosen: Vec<usize> = (0..settings.servers.len()).collect();
    loop {
        let samples = query(settings, &chosen);
        match median_offset(&samples) {
            Some(ns) => {
                offset.0.store(ns, Ordering::Relaxed);
                let max = usize::try_from(settings.max_server_use).unwrap_or(usize::MAX);
                chosen = fastest(&samples, max);
                tracing::info!(target: target::NTP, "clock offset {:.3} ms (median of {} server(s))", ns as f64 / 1e6, samples.len());
            }
            None => {
                if !warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(target: target::NTP, "no NTP server answered; clock offset stays {:.3} ms", offset.ns() as f64 / 1e6);
                }
                // Try them all again next time.
                chosen = (0..settings.servers.len()).collect();
            }
        }
        std::thread::sleep(settings.sync_time_interval.max(Duration::from_secs(1)));
    }
}

/// Asks the servers `which` at once (one short-lived thread each).
fn query(settings: &NtpSettings, which: &[usize]) -> Vec<Sample> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = which
            .iter()
            .filter_map(|&i| {
                let server = settings.servers.get(i)?.clone();
                let timeout = settings.timeout;
                std::thread::Builder::new()
                    .name("egd-ntp-query".into())
                    .spawn_scoped(scope, move || ask(i, &server, timeout))
                    .ok()
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().ok().flatten())
            .collect()
    })
}

fn ask(index: usize, server: &str, timeout: Duration) -> Option<Sample> {
    let addr = resolve(server)?;
    let mut client = rsntp::SntpClient::new();
    client.set_timeout(timeout);
    if addr.is_ipv6() {
        client.set_bind_address(SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0)));
    }
    match client.synchronize(addr) {
        Ok(r) => {
            let secs = r.clock_offset().as_secs_f64();
            let rtt = r.round_trip_delay().as_secs_f64();
            if !secs.is_finite() || !rtt.is_finite() || rtt < 0.0 {
                return None;
            }
            Some(Sample {
                server: index,
                offset_ns: (secs * 1e9) as i64,
                round_trip: Duration::from_secs_f64(rtt.min(60.0)),
            })
        }
        Err(e) => {
            tracing::debug!(target: target::NTP, "{server}: {e}");
            None
        }
    }
}

/// `host`, `host:port`, `[v6]:port` or an address; port 123 by default.
fn resolve(server: &str) -> Option<SocketAddr> {
    if let Ok(a) = server.parse::<SocketAddr>() {
        return Some(a);
    }
    if let Ok(ip) = server.parse::<std::net::IpAddr>() {
        return Some(SocketAddr::new(ip, 123));
    }
    let with_port = if server
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        server.to_owned()
    } else {
        format!("{server}:123")
    };
    match with_port.to_socket_addrs() {
        Ok(mut addrs) => addrs.next(),
        Err(e) => {
            tracing::debug!(target: target::NTP, "{server}: {e}; skipped");
            None
        }
    }
}
