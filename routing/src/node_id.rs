//! `NodeId`: the 16-bit identity of an edge (docs/system.md#data-plane).

use std::fmt;

/// A node's 16-bit identity. The top four values of the u16 space are reserved
/// (docs/system.md#data-plane) and are never a real node; [`NodeId::new`] refuses them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(u16);

impl NodeId {
    /// Every node, in a destination field.
    pub const BROADCAST: u16 = 65535;
    /// P2P flood / "to the supernode".
    pub const SPREAD: u16 = 65534;
    /// The supernode, in a destination or source field (the raw `u16`;
    /// [`NodeId::SUPERNODE`] is the same value as a `NodeId`).
    pub const SUPERNODE_DST: u16 = 65533;
    /// Never valid on the wire.
    pub const INVALID: u16 = 65532;
    /// The smallest reserved value; real nodes are below it.
    pub const FIRST_RESERVED: u16 = Self::INVALID;

    /// The supernode as a node: its own id in its node state (on the wire,
    /// [`NodeId::SUPERNODE_DST`]); on an edge, the local handle of the session
    /// with the supernode's IPv4 key.
    pub const SUPERNODE: NodeId = NodeId(Self::SUPERNODE_DST);
    /// On an edge, the local handle of the session with the supernode's IPv6
    /// key. Never on the wire: it only names a WireGuard peer.
    pub const SUPERNODE_V6_SESSION: NodeId = NodeId(Self::INVALID);

    /// Whether this is one of the two supernode session handles.
    pub const fn is_supernode(self) -> bool {
        self.0 == Self::SUPERNODE_DST || self.0 == Self::INVALID
    }

    /// A real node id, or `None` for the reserved values (≥ 65532).
    pub const fn new(raw: u16) -> Option<Self> {
        if raw >= Self::FIRST_RESERVED {
            None
        } else {
            Some(Self(raw))
        }
    }

    /// The raw u16.
    pub const fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", self.0)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_ids_are_refused() {
        assert_eq!(NodeId::new(0).map(NodeId::get), Some(0));
        assert_eq!(NodeId::new(65531).map(NodeId::get), Some(65531));
        for raw in 65532..=65535 {
            assert!(NodeId::new(raw).is_none(), "{raw} must be reserved");
        }
    }
}
