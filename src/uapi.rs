//! The WireGuard cross-platform userspace API's `get` answer
//! (<https://www.wireguard.com/xplatform/>), so `wg show NAME` from
//! wireguard-tools can list an egd interface's peers. Pure: the daemon
//! gathers the values and serves the text on `/var/run/wireguard/NAME.sock`.
//!
//! Keys are lowercase hex; times are seconds and nanoseconds since the Unix
//! epoch; an egd interface carries Ethernet, so no peer has `allowed_ip`.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

/// One peer's line group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UapiPeer {
    pub public_key: [u8; 32],
    /// All zero: none.
    pub preshared_key: [u8; 32],
    pub endpoint: Option<SocketAddr>,
    /// Wall-clock time of the last handshake.
    pub last_handshake: Option<Duration>,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub persistent_keepalive: Option<Duration>,
}

/// The body of a `get=1` answer, without the final `errno=0` and blank line.
pub fn render_get(
    private_key: &[u8; 32],
    listen_port: u16,
    fwmark: u32,
    peers: &[UapiPeer],
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "private_key={}", hex(private_key));
    let _ = writeln!(out, "listen_port={listen_port}");
    if fwmark != 0 {
        let _ = writeln!(out, "fwmark={fwmark}");
    }
    for p in peers {
        let _ = writeln!(out, "public_key={}", hex(&p.public_key));
        if p.preshared_key != [0; 32] {
            let _ = writeln!(out, "preshared_key={}", hex(&p.preshared_key));
        }
        let _ = writeln!(out, "protocol_version=1");
        if let Some(e) = p.endpoint {
            let _ = writeln!(out, "endpoint={e}");
        }
        let (sec, nsec) = p
            .last_handshake
            .map_or((0, 0), |t| (t.as_secs(), t.subsec_nanos()));
        let _ = writeln!(out, "last_handshake_time_sec={sec}");
        let _ = writeln!(out, "last_handshake_time_nsec={nsec}");
        let _ = writeln!(out, "tx_bytes={}", p.tx_bytes);
        let _ = writeln!(out, "rx_bytes={}", p.rx_bytes);
        let keepalive = p.persistent_keepalive.map_or(0, |d| d.as_secs());
        let _ = writeln!(out, "persistent_keepalive_interval={keepalive}");
    }
    out
}

fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_answer_has_the_documented_keys_in_order() {
        let peer = UapiPeer {
            public_key: [0xab; 32],
            preshared_key: [0; 32],
            endpoint: Some("192.0.2.1:51820".parse().unwrap_or_else(|_| unreachable!())),
            last_handshake: Some(Duration::new(1_700_000_000, 5)),
            rx_bytes: 10,
            tx_bytes: 20,
            persistent_keepalive: Some(Duration::from_secs(25)),
        };
        let text = render_get(&[1; 32], 3001, 0, &[peer]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], format!("private_key={}", "01".repeat(32)));
        assert_eq!(lines[1], "listen_port=3001");
        assert_eq!(lines[2], format!("public_key={}", "ab".repeat(32)));
        assert_eq!(
            &lines[3..],
            [
                "protocol_version=1",
                "endpoint=192.0.2.1:51820",
                "last_handshake_time_sec=1700000000",
                "last_handshake_time_nsec=5",
                "tx_bytes=20",
                "rx_bytes=10",
                "persistent_keepalive_interval=25",
            ]
        );
    }
}
