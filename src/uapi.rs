//! The WireGuard cross-platform userspace API's `get` answer
//! (<https://www.wireguard.com/xplatform/>), so `wg show NAME` from
//! wireguard-tools can list an egd interface's peers. Pure: the daemon
//! gathers the values and serves the text on `/var/run/wireguard/NAME.sock`.
//!
//! Keys are lowercase hex; times are seconds and nanoseconds since the Unix
//! epoch; an egd interface carries Ethernet, so no peer has `allowed_ip`.
//!
//! Requests: [`read_request`] reads one (`get=1` or `set=1` and their lines,
//! up to a blank line) from the connection, within a byte budget.

use std::fmt::Write as _;
use std::io::{BufRead, Read as _};
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

/// What a client asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UapiRequest {
    Get,
    Set,
}

/// Why no request came: each ends the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestEnd {
    /// The client hung up or the read failed (timed out).
    Closed,
    /// More than the budget before the blank line.
    TooLong,
    /// Neither `get=1` nor `set=1`.
    Unknown,
}

/// Reads one request: lines up to a blank one, at most `max` bytes in all
/// (a line without an end is cut at the budget, not read whole).
pub fn read_request(reader: &mut impl BufRead, max: usize) -> Result<UapiRequest, RequestEnd> {
    let mut request = String::new();
    loop {
        let mut line = String::new();
        // One byte past the budget tells "too long" from "exactly full".
        let budget = (max - request.len()) as u64 + 1;
        match reader.by_ref().take(budget).read_line(&mut line) {
            Ok(0) | Err(_) => return Err(RequestEnd::Closed),
            Ok(_) if line == "\n" => break,
            Ok(_) => {
                if request.len() + line.len() > max {
                    return Err(RequestEnd::TooLong);
                }
                request.push_str(&line);
            }
        }
    }
    match request.lines().next() {
        Some("get=1") => Ok(UapiRequest::Get),
        Some("set=1") => Ok(UapiRequest::Set),
        _ => Err(RequestEnd::Unknown),
    }
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
    fn requests_are_read_within_the_budget() {
        let mut r = "get=1\n\nset=1\nx=y\n\nfoo=1\n\nget=1\n".as_bytes();
        assert_eq!(read_request(&mut r, 64), Ok(UapiRequest::Get));
        assert_eq!(read_request(&mut r, 64), Ok(UapiRequest::Set));
        assert_eq!(read_request(&mut r, 64), Err(RequestEnd::Unknown));
        // No blank line: the client hung up mid-request.
        assert_eq!(read_request(&mut r, 64), Err(RequestEnd::Closed));
        let long = format!("get=1\n{}\n\n", "a".repeat(100));
        assert_eq!(
            read_request(&mut long.as_bytes(), 64),
            Err(RequestEnd::TooLong)
        );
        // A line without an end is not read past the budget.
        let endless = "g".repeat(1 << 20);
        assert_eq!(
            read_request(&mut endless.as_bytes(), 64),
            Err(RequestEnd::TooLong)
        );
        assert_eq!(
            read_request(&mut "get=1\n\n".as_bytes(), 7),
            Ok(UapiRequest::Get)
        );
        assert_eq!(
            read_request(&mut "get=1\n\n".as_bytes(), 5),
            Err(RequestEnd::TooLong)
        );
    }

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
