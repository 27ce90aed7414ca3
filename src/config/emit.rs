//! Validated values back to the original's YAML shapes: the `Peers:` entries
//! of a supernode and of an edge, with upstream's key names, key order and
//! types (yaml.v2 writes every key, empty strings as `""`), so a file egd
//! rewrites still loads in EtherGuard.
#![allow(non_snake_case)]

use std::time::Duration;

use serde::{Serialize, Serializer};

use super::edge::EdgePeer;
use super::super_node::SuperPeer;

/// A number of milliseconds or seconds written back exactly: an integer when
/// it is one (upstream's `uint32` fields need that), else the decimal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Number {
    nanos: u128,
    unit_nanos: u128,
}

impl Number {
    pub fn millis(d: Duration) -> Self {
        Self {
            nanos: d.as_nanos(),
            unit_nanos: 1_000_000,
        }
    }

    pub fn seconds(d: Duration) -> Self {
        Self {
            nanos: d.as_nanos(),
            unit_nanos: 1_000_000_000,
        }
    }
}

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let whole = self.nanos / self.unit_nanos;
        match u64::try_from(whole) {
            Ok(w) if self.nanos.is_multiple_of(self.unit_nanos) => s.serialize_u64(w),
            // Both values are below 2^64·10^9, far inside f64's range; the
            // loader turns the nearest f64 back into the same nanoseconds.
            _ => s.serialize_f64(self.nanos as f64 / self.unit_nanos as f64),
        }
    }
}

/// One supernode `Peers:` entry (upstream `SuperPeerInfo`).
#[derive(Debug, Serialize)]
pub struct SuperPeerOut {
    NodeID: u16,
    Name: String,
    PubKey: String,
    PSKey: String,
    AdditionalCost: Number,
    SkipLocalIP: bool,
    EndPoint: String,
    ExternalIP: String,
}

impl From<&SuperPeer> for SuperPeerOut {
    fn from(p: &SuperPeer) -> Self {
        Self {
            NodeID: p.node_id.get(),
            Name: p.name.clone(),
            PubKey: p.public_key.to_base64(),
            PSKey: p
                .preshared_key
                .as_ref()
                .map(|k| k.to_base64())
                .unwrap_or_default(),
            AdditionalCost: Number::millis(p.additional_cost),
            SkipLocalIP: p.skip_local_ip,
            EndPoint: p
                .endpoint
                .as_ref()
                .map(|e| e.to_string())
                .unwrap_or_default(),
            ExternalIP: p.external_ip.map(|ip| ip.to_string()).unwrap_or_default(),
        }
    }
}

/// One edge `Peers:` entry (upstream `PeerInfo`).
#[derive(Debug, Serialize)]
pub struct EdgePeerOut {
    NodeID: u16,
    PubKey: String,
    PSKey: String,
    EndPoint: String,
    PersistentKeepalive: Number,
    Static: bool,
}

impl From<&EdgePeer> for EdgePeerOut {
    fn from(p: &EdgePeer) -> Self {
        Self {
            NodeID: p.node_id.get(),
            PubKey: p.public_key.to_base64(),
            PSKey: p
                .preshared_key
                .as_ref()
                .map(|k| k.to_base64())
                .unwrap_or_default(),
            EndPoint: p
                .endpoint
                .as_ref()
                .map(|e| e.to_string())
                .unwrap_or_default(),
            PersistentKeepalive: Number::seconds(p.persistent_keepalive.unwrap_or_default()),
            Static: p.is_static,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_integers_when_they_can_be() {
        let y = |n: Number| serde_saphyr::to_string(&n).unwrap();
        assert_eq!(y(Number::millis(Duration::from_millis(10))), "10\n");
        assert_eq!(y(Number::millis(Duration::from_micros(10_500))), "10.5\n");
        assert_eq!(y(Number::seconds(Duration::from_secs(25))), "25\n");
        assert_eq!(y(Number::seconds(Duration::ZERO)), "0\n");
    }
}
