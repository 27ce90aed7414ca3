//! Validated value types shared by every kind of configuration file. Each has a
//! `parse` that takes the text as written in YAML and says in words what is
//! wrong with it.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use crate::NodeId;

/// Why a value as written is refused: the reason part of a
/// [`super::ConfigError`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValueError {
    #[error("{0} does not fit in 16 bits")]
    NodeIdTooBig(u64),
    #[error("{0} is reserved (ids {first} and above are special)", first = NodeId::FIRST_RESERVED)]
    NodeIdReserved(u64),
    #[error("MTU {0} is outside {min}–65535", min = Mtu::MIN)]
    Mtu(i64),
    /// A WireGuard key's text form.
    #[error(transparent)]
    Key(#[from] crate::wg::keys::KeyError),
    #[error("endpoint {0:?} needs host:port")]
    EndpointNoPort(String),
    #[error("endpoint {0:?} has no valid port")]
    EndpointBadPort(String),
    #[error("endpoint {text:?}: {host:?} is neither an IP address nor a host name")]
    EndpointHost { text: String, host: String },
    #[error("{0:?} is neither an IP address nor a host name")]
    Host(String),
    #[error("MAC prefix {text:?} must have 2 to 6 bytes, has {len}")]
    MacLength { text: String, len: usize },
    #[error("MAC prefix {text:?}: {part:?} is not a hex byte")]
    MacByte { text: String, part: String },
    #[error("MAC prefix {0:?} is multicast; a node needs a unicast address")]
    MacMulticast(String),
    #[error("{0} is not a finite number of seconds")]
    NotFinite(f64),
    #[error("interval must not be negative, got {0}")]
    Negative(f64),
    #[error("{0} seconds is too long")]
    TooLong(f64),
    #[error("port {0} is outside 0–65535")]
    Port(i64),
    #[error("must be a fraction in 0..=1, got {0}")]
    Fraction(f64),
    #[error("{0:?} is not an IP address of that family")]
    IpOfFamily(String),
    #[error("{0:?} is not an http:// or https:// URL")]
    NotHttpUrl(String),
    #[error("URL {0:?} has no host")]
    UrlNoHost(String),
    /// `names`: the known types, comma-separated.
    #[error("unknown IType {text:?} (one of {names})")]
    IType { text: String, names: String },
    #[error("unknown L2HeaderMode {0:?} (nochg, kbdbg or noL2)")]
    L2HeaderMode(String),
    #[error("unknown VPPIFaceRole {0:?} (client or server)")]
    VppRole(String),
    #[error("{0:?} is not an ip:port address")]
    SocketAddr(String),
}

/// A node id from a config: a real node (below 65532).
pub fn parse_node_id(raw: u64) -> Result<NodeId, ValueError> {
    let small = u16::try_from(raw).map_err(|_| ValueError::NodeIdTooBig(raw))?;
    NodeId::new(small).ok_or(ValueError::NodeIdReserved(raw))
}

/// Interface MTU, 576–65535 (576 is the smallest IPv4 datagram every host
/// must accept, RFC 791).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mtu(u16);

impl Mtu {
    pub const MIN: u16 = 576;

    pub fn new(raw: i64) -> Result<Self, ValueError> {
        match u16::try_from(raw) {
            Ok(v) if v >= Self::MIN => Ok(Self(v)),
            _ => Err(ValueError::Mtu(raw)),
        }
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

/// A UDP endpoint: an address, or a host name the daemon's resolver thread
/// looks up at start and again every `ResetEndPointInterval`, for dynamic
/// DNS (`daemon::ddns`; sooner after a failed lookup).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Addr(SocketAddr),
    Host { host: String, port: u16 },
}

impl Endpoint {
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        if let Ok(addr) = text.parse::<SocketAddr>() {
            return Ok(Self::Addr(addr));
        }
        let (host, port) = text
            .rsplit_once(':')
            .ok_or_else(|| ValueError::EndpointNoPort(text.to_owned()))?;
        let port: u16 = port
            .parse()
            .map_err(|_| ValueError::EndpointBadPort(text.to_owned()))?;
        if !is_host_name(host) {
            return Err(ValueError::EndpointHost {
                text: text.to_owned(),
                host: host.to_owned(),
            });
        }
        Ok(Self::Host {
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Addr(a) => write!(f, "{a}"),
            Self::Host { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

/// An IP address or a DNS name (RFC 1123 labels).
pub fn parse_host(text: &str) -> Result<String, ValueError> {
    if text.parse::<IpAddr>().is_ok() || is_host_name(text) {
        Ok(text.to_owned())
    } else {
        Err(ValueError::Host(text.to_owned()))
    }
}

fn is_host_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// A MAC address prefix of 2–6 bytes, `6E:B8:1B:68`. The node's MAC is the
/// NodeID written big-endian into the bytes after the prefix; a full 6-byte
/// value is used as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MacPrefix {
    bytes: [u8; 6],
    len: usize,
}

impl MacPrefix {
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        let parts: Vec<&str> = text.split(':').collect();
        if !(2..=6).contains(&parts.len()) {
            return Err(ValueError::MacLength {
                text: text.to_owned(),
                len: parts.len(),
            });
        }
        let mut bytes = [0u8; 6];
        for (slot, part) in bytes.iter_mut().zip(&parts) {
            if part.is_empty() || part.len() > 2 {
                return Err(mac_byte(text, part));
            }
            *slot = u8::from_str_radix(part, 16).map_err(|_| mac_byte(text, part))?;
        }
        if bytes[0] & 1 == 1 {
            return Err(ValueError::MacMulticast(text.to_owned()));
        }
        Ok(Self {
            bytes,
            len: parts.len(),
        })
    }

    /// Whether this is a full 6-byte MAC, used as it is for any NodeID.
    pub fn is_full_mac(&self) -> bool {
        self.len == 6
    }

    /// The MAC of `node`, or `None` if the NodeID does not fit after the prefix.
    /// A full MAC overrides (docs/system.md#interfaces): it is returned
    /// unchanged for every NodeID.
    pub fn mac_for(&self, node: NodeId) -> Option<[u8; 6]> {
        if self.is_full_mac() {
            return Some(self.bytes);
        }
        let free = 6 - self.len;
        if free < 2 && u32::from(node.get()) >= 1u32 << (8 * free) {
            return None;
        }
        let mut mac = [0u8; 6];
        let id = u32::from(node.get()).to_be_bytes();
        mac[2..].copy_from_slice(&id);
        mac[..self.len].copy_from_slice(&self.bytes[..self.len]);
        Some(mac)
    }
}

fn mac_byte(text: &str, part: &str) -> ValueError {
    ValueError::MacByte {
        text: text.to_owned(),
        part: part.to_owned(),
    }
}

impl fmt::Display for MacPrefix {
    /// As written in configs: upper-case hex bytes joined by colons.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.bytes[..self.len].iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

/// A management-API secret. Never printed, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids() {
        assert_eq!(parse_node_id(1).map(NodeId::get), Ok(1));
        assert!(
            parse_node_id(65532)
                .unwrap_err()
                .to_string()
                .contains("reserved")
        );
        assert!(
            parse_node_id(70000)
                .unwrap_err()
                .to_string()
                .contains("16 bits")
        );
    }

    #[test]
    fn mtu_bounds() {
        assert!(Mtu::new(575).is_err());
        assert_eq!(Mtu::new(576).map(Mtu::get), Ok(576));
        assert_eq!(Mtu::new(65535).map(Mtu::get), Ok(65535));
        assert!(Mtu::new(65536).is_err());
        assert!(Mtu::new(-1).is_err());
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            Endpoint::parse("127.0.0.1:3001"),
            Ok(Endpoint::Addr("127.0.0.1:3001".parse().unwrap()))
        );
        assert!(matches!(Endpoint::parse("[::1]:5"), Ok(Endpoint::Addr(_))));
        assert_eq!(
            Endpoint::parse("vpn.example.org:51820"),
            Ok(Endpoint::Host {
                host: "vpn.example.org".into(),
                port: 51820
            })
        );
        for bad in ["127.0.0.1", "host:port", "host:70000", "bad host:1", ":1"] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mac_prefixes() {
        let p = MacPrefix::parse("6E:B8:1B:68").unwrap();
        let n = NodeId::new(0x0102).unwrap();
        assert_eq!(p.mac_for(n), Some([0x6e, 0xb8, 0x1b, 0x68, 1, 2]));
        let five = MacPrefix::parse("6E:B8:1B:68:AA").unwrap();
        assert_eq!(
            five.mac_for(NodeId::new(5).unwrap()),
            Some([0x6e, 0xb8, 0x1b, 0x68, 0xaa, 5])
        );
        assert_eq!(five.mac_for(n), None);
        assert_eq!(p.to_string(), "6E:B8:1B:68");
        assert!(MacPrefix::parse("6F:00").is_err(), "multicast");
        assert!(MacPrefix::parse("6E").is_err());
        assert!(MacPrefix::parse("6E:ZZ").is_err());
    }

    /// docs/system.md#interfaces: MAC = `MacAddrPrefix:NodeID`, a full MAC overrides. Each row is
    /// (prefix, NodeID, expected MAC or None when the NodeID does not fit).
    #[test]
    fn mac_for_table() {
        type Row = (&'static str, u16, Option<[u8; 6]>);
        let rows: &[Row] = &[
            ("6E:B8", 1, Some([0x6e, 0xb8, 0, 0, 0, 1])),
            ("6E:B8", 65000, Some([0x6e, 0xb8, 0, 0, 0xfd, 0xe8])),
            ("6E:B8:1B", 0x0102, Some([0x6e, 0xb8, 0x1b, 0, 1, 2])),
            (
                "6E:B8:1B:68",
                65000,
                Some([0x6e, 0xb8, 0x1b, 0x68, 0xfd, 0xe8]),
            ),
            (
                "6E:B8:1B:68:AA",
                255,
                Some([0x6e, 0xb8, 0x1b, 0x68, 0xaa, 0xff]),
            ),
            ("6E:B8:1B:68:AA", 256, None),
            // A full MAC is used verbatim, whatever the NodeID.
            (
                "6E:B8:1B:68:AA:BB",
                1,
                Some([0x6e, 0xb8, 0x1b, 0x68, 0xaa, 0xbb]),
            ),
            (
                "6E:B8:1B:68:AA:BB",
                256,
                Some([0x6e, 0xb8, 0x1b, 0x68, 0xaa, 0xbb]),
            ),
            (
                "6E:B8:1B:68:AA:BB",
                65000,
                Some([0x6e, 0xb8, 0x1b, 0x68, 0xaa, 0xbb]),
            ),
        ];
        for &(prefix, id, want) in rows {
            let p = MacPrefix::parse(prefix).unwrap();
            assert_eq!(p.is_full_mac(), prefix.len() == 17, "{prefix}");
            assert_eq!(p.mac_for(NodeId::new(id).unwrap()), want, "{prefix} {id}");
        }
    }
}
