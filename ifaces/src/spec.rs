//! What to open: the settings of the config's `Interface` block, already
//! validated by the daemon and converted into plain types.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use crate::memif::MemifSpec;

/// The settings for one L2 endpoint. Build it with [`IfaceSpec::new`] and set
/// the fields the chosen [`IfaceKind`] needs (see each kind).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfaceSpec {
    pub kind: IfaceKind,
    /// `Interface.Name`: the tap device's name; for the other kinds only a label.
    pub name: String,
    /// This node's NodeID: the host part of the tap's addresses.
    pub node_id: u16,
    /// This node's MAC (`MacAddrPrefix` + NodeID, or a full MAC), computed by the caller.
    pub mac: [u8; 6],
    pub mtu: u16,
    /// `IPv4CIDR`: the network; the tap gets host `node_id` in it.
    pub ipv4: Option<(Ipv4Addr, u8)>,
    /// `IPv6CIDR`: the network; the tap gets host `node_id` in it.
    pub ipv6: Option<(Ipv6Addr, u8)>,
    /// `IPv6LLPrefix`: the link-local prefix; the tap gets host `node_id` in it
    /// (as a /64, like upstream) instead of the kernel's EUI-64 address.
    pub ipv6_link_local: Option<(Ipv6Addr, u8)>,
    /// `RecvAddr`: where socket kinds listen (stream) or bind (datagram).
    pub recv_addr: Option<SockSpec>,
    /// `SendAddr`: where socket kinds connect (stream) or send (datagram).
    pub send_addr: Option<SockSpec>,
    /// `L2HeaderMode`: only `stdio` uses it.
    pub l2_header_mode: L2HeaderMode,
    /// `PostScript`: run by [`crate::run_post_script`], never by [`crate::open`].
    pub post_script: Option<String>,
    /// Tap queues (`IFF_MULTI_QUEUE` when > 1). [`crate::open`] opens the first;
    /// [`crate::Tap::open_queue`] attaches the others.
    pub queues: usize,
    /// Tap only: open with `IFF_VNET_HDR` and enable the checksum and
    /// segmentation offloads the kernel accepts (see [`crate::offload`]).
    /// Ignored by the other kinds.
    pub offload: bool,
    /// `vpp`: socket, interface id and role of the memif.
    pub memif: MemifSpec,
}

impl IfaceSpec {
    /// A spec with MTU 1500, one queue, no offloads, no addresses, no sockets,
    /// `nochg`, no script.
    pub fn new(kind: IfaceKind, name: impl Into<String>, node_id: u16, mac: [u8; 6]) -> Self {
        Self {
            kind,
            name: name.into(),
            node_id,
            mac,
            mtu: 1500,
            ipv4: None,
            ipv6: None,
            ipv6_link_local: None,
            recv_addr: None,
            send_addr: None,
            l2_header_mode: L2HeaderMode::NoChange,
            post_script: None,
            queues: 1,
            offload: false,
            memif: MemifSpec::default(),
        }
    }
}

/// `Interface.IType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IfaceKind {
    Tap,
    Dummy,
    Stdio,
    UdpSock,
    TcpSock,
    UnixSock,
    UnixGramSock,
    UnixPacketSock,
    Fd,
    /// A memif (VPP, DPDK): see [`crate::memif`].
    Vpp,
}

impl IfaceKind {
    /// Every kind, in config order.
    pub const ALL: [IfaceKind; 10] = [
        IfaceKind::Tap,
        IfaceKind::Dummy,
        IfaceKind::Stdio,
        IfaceKind::UdpSock,
        IfaceKind::TcpSock,
        IfaceKind::UnixSock,
        IfaceKind::UnixGramSock,
        IfaceKind::UnixPacketSock,
        IfaceKind::Fd,
        IfaceKind::Vpp,
    ];

    /// The config's `IType` spelling (also `EG_INTERFACE_TYPE` for the PostScript).
    pub fn itype(self) -> &'static str {
        match self {
            IfaceKind::Tap => "tap",
            IfaceKind::Dummy => "dummy",
            IfaceKind::Stdio => "stdio",
            IfaceKind::UdpSock => "udpsock",
            IfaceKind::TcpSock => "tcpsock",
            IfaceKind::UnixSock => "unixsock",
            IfaceKind::UnixGramSock => "unixgramsock",
            IfaceKind::UnixPacketSock => "unixpacketsock",
            IfaceKind::Fd => "fd",
            IfaceKind::Vpp => "vpp",
        }
    }

    /// Parses an `IType` (exact spelling, as upstream).
    pub fn from_itype(itype: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.itype() == itype)
    }
}

/// A socket address from `RecvAddr` / `SendAddr`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SockSpec {
    Inet(SocketAddr),
    /// A filesystem path, or an abstract name written `@name` (Go's convention,
    /// which upstream configs inherit).
    Unix(PathBuf),
}

/// `L2HeaderMode` of the `stdio` kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum L2HeaderMode {
    /// `nochg`: raw frames; one read is one frame.
    #[default]
    NoChange,
    /// `kbdbg`: one typed line is one frame; see [`crate::stdio`].
    KeyboardDebug,
    /// `noL2`: input bytes get a broadcast Ethernet header; output loses it.
    NoL2,
}

impl L2HeaderMode {
    /// The config's spelling.
    pub fn config_name(self) -> &'static str {
        match self {
            L2HeaderMode::NoChange => "nochg",
            L2HeaderMode::KeyboardDebug => "kbdbg",
            L2HeaderMode::NoL2 => "noL2",
        }
    }

    /// Parses the config's spelling (exact, as upstream).
    pub fn from_config_name(name: &str) -> Option<Self> {
        [Self::NoChange, Self::KeyboardDebug, Self::NoL2]
            .into_iter()
            .find(|m| m.config_name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn itype_round_trips() {
        for kind in IfaceKind::ALL {
            assert_eq!(IfaceKind::from_itype(kind.itype()), Some(kind));
        }
        assert_eq!(IfaceKind::from_itype("vpp"), Some(IfaceKind::Vpp));
        assert_eq!(IfaceKind::from_itype("TAP"), None);
    }

    #[test]
    fn l2_mode_names() {
        assert_eq!(
            L2HeaderMode::from_config_name("noL2"),
            Some(L2HeaderMode::NoL2)
        );
        assert_eq!(
            L2HeaderMode::from_config_name("kbdbg"),
            Some(L2HeaderMode::KeyboardDebug)
        );
        assert_eq!(
            L2HeaderMode::from_config_name("nochg"),
            Some(L2HeaderMode::NoChange)
        );
        assert_eq!(L2HeaderMode::from_config_name("nol2"), None);
    }
}
