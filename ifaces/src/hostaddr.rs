//! A node's address inside a configured network: the host part is the NodeID.
//!
//! Upstream's rule (`tap/tap.go`, `GetIP`): take the network address (the
//! configured address with the host bits cleared) and add the NodeID. In a
//! network with more than two addresses the all-zero and all-ones hosts are not
//! usable, so NodeID 0 takes the highest usable host (`2^h − 2`) and NodeIDs
//! above that are an error. A /32 (or /128) is used as is, whatever the NodeID.
//! For a /31 (/127) both hosts are usable (RFC 3021), so NodeID 0 and 1 are valid
//! (upstream also let NodeID 2 through and wrapped into the next network; egd
//! refuses it).
//!
//! Examples: 192.168.76.0/24 + node 1 → 192.168.76.1/24; + node 0 →
//! 192.168.76.254/24; fe80::a3df:0/112 + node 1 → fe80::a3df:1.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The NodeID does not fit the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostTooLarge {
    pub network: String,
    pub node_id: u16,
    pub max_node_id: u128,
}

impl fmt::Display for HostTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "NodeID {} does not fit in {} (NodeIDs 0..={} fit)",
            self.node_id, self.network, self.max_node_id
        )
    }
}

impl std::error::Error for HostTooLarge {}

/// The address of `node_id` in `net/prefix_len` (IPv4).
pub fn ipv4_host(net: Ipv4Addr, prefix_len: u8, node_id: u16) -> Result<Ipv4Addr, HostTooLarge> {
    let bits = host_addr(u128::from(u32::from(net)), 32, prefix_len, node_id)
        .map_err(|max| too_large(net, prefix_len, node_id, max))?;
    // The sum stays inside the 32-bit network: host < 2^(32 − prefix_len).
    Ok(Ipv4Addr::from(u32::try_from(bits).unwrap_or(u32::MAX)))
}

/// The address of `node_id` in `net/prefix_len` (IPv6).
pub fn ipv6_host(net: Ipv6Addr, prefix_len: u8, node_id: u16) -> Result<Ipv6Addr, HostTooLarge> {
    host_addr(u128::from(net), 128, prefix_len, node_id)
        .map(Ipv6Addr::from)
        .map_err(|max| too_large(net, prefix_len, node_id, max))
}

fn too_large(net: impl fmt::Display, prefix_len: u8, node_id: u16, max: u128) -> HostTooLarge {
    HostTooLarge {
        network: format!("{net}/{prefix_len}"),
        node_id,
        max_node_id: max,
    }
}

/// `addr` is `width` bits wide; Err carries the largest NodeID that fits.
fn host_addr(addr: u128, width: u32, prefix_len: u8, node_id: u16) -> Result<u128, u128> {
    let prefix_len = u32::from(prefix_len).min(width);
    let host_bits = width - prefix_len;
    if host_bits == 0 {
        return Ok(addr);
    }
    let host_mask = if host_bits >= 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    };
    let network = addr & !host_mask;
    let (max, zero_means) = if host_bits == 1 {
        (1, 0)
    } else {
        // The highest usable host: all ones (broadcast / subnet-router anycast) minus one.
        (host_mask - 1, host_mask - 1)
    };
    let id = u128::from(node_id);
    if id > max {
        return Err(max);
    }
    Ok(network | if id == 0 { zero_means } else { id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_table() {
        let cases: [(&str, u8, u16, Result<&str, u128>); 9] = [
            ("192.168.76.0", 24, 1, Ok("192.168.76.1")),
            ("192.168.76.0", 24, 100, Ok("192.168.76.100")),
            // Host bits in the configured address are ignored, as upstream.
            ("192.168.76.77", 24, 2, Ok("192.168.76.2")),
            ("192.168.76.0", 24, 0, Ok("192.168.76.254")),
            ("192.168.76.0", 24, 254, Ok("192.168.76.254")),
            ("192.168.76.0", 24, 255, Err(254)),
            ("10.0.0.0", 16, 258, Ok("10.0.1.2")),
            ("10.0.0.8", 31, 1, Ok("10.0.0.9")),
            ("10.0.0.8", 32, 7, Ok("10.0.0.8")),
        ];
        for (net, len, id, want) in cases {
            let got = ipv4_host(net.parse().unwrap(), len, id);
            match want {
                Ok(w) => assert_eq!(got, Ok(w.parse().unwrap()), "{net}/{len} + {id}"),
                Err(max) => assert_eq!(got.unwrap_err().max_node_id, max, "{net}/{len} + {id}"),
            }
        }
        assert!(ipv4_host("10.0.0.8".parse().unwrap(), 31, 2).is_err());
        assert!(ipv4_host("10.0.0.0".parse().unwrap(), 30, 3).is_err());
        assert_eq!(
            ipv4_host("10.0.0.0".parse().unwrap(), 30, 2),
            Ok("10.0.0.2".parse().unwrap())
        );
    }

    #[test]
    fn ipv6_table() {
        let cases = [
            ("fe80::a3df:0", 112, 1, "fe80::a3df:1"),
            ("fe80::a3df:0", 112, 0xffff - 1, "fe80::a3df:fffe"),
            ("fe80::a3df:0", 112, 0, "fe80::a3df:fffe"),
            ("fd00:76::", 64, 0x1234, "fd00:76::1234"),
            ("fd00:76::", 64, 0, "fd00:76::ffff:ffff:ffff:fffe"),
            ("::", 0, 5, "::5"),
        ];
        for (net, len, id, want) in cases {
            assert_eq!(
                ipv6_host(net.parse().unwrap(), len, id),
                Ok(want.parse().unwrap()),
                "{net}/{len} + {id}"
            );
        }
        let e = ipv6_host("fd00::".parse().unwrap(), 120, 300).unwrap_err();
        assert_eq!(
            e.to_string(),
            "NodeID 300 does not fit in fd00::/120 (NodeIDs 0..=254 fit)"
        );
    }
}
