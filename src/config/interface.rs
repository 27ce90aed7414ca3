//! The validated `Interface` block (docs/system.md#interfaces): which L2 endpoint frames
//! come from and go to, with the keys each `IType` requires.

use std::net::SocketAddr;
use std::path::PathBuf;

use ipnet::{Ipv4Net, Ipv6Net};

use super::check::{Check, KeyPath};
use super::error::ConfigError;
use super::raw;
use super::types::{MacPrefix, Mtu, ValueError};

/// `Interface.IType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IType {
    Tap,
    Vpp,
    Dummy,
    Stdio,
    UdpSock,
    TcpSock,
    UnixSock,
    UnixGramSock,
    UnixPacketSock,
    Fd,
}

impl IType {
    const ALL: [(&'static str, IType); 10] = [
        ("tap", IType::Tap),
        ("vpp", IType::Vpp),
        ("dummy", IType::Dummy),
        ("stdio", IType::Stdio),
        ("udpsock", IType::UdpSock),
        ("tcpsock", IType::TcpSock),
        ("unixsock", IType::UnixSock),
        ("unixgramsock", IType::UnixGramSock),
        ("unixpacketsock", IType::UnixPacketSock),
        ("fd", IType::Fd),
    ];

    pub fn parse(text: &str) -> Result<Self, ValueError> {
        Self::ALL
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, t)| *t)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|(n, _)| *n).collect();
                ValueError::IType {
                    text: text.to_owned(),
                    names: names.join(", "),
                }
            })
    }

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, t)| *t == self)
            .map_or("?", |(n, _)| n)
    }

    /// The types whose frames travel over `RecvAddr`/`SendAddr`.
    fn uses_sockets(self) -> bool {
        matches!(self, IType::UdpSock | IType::TcpSock) || self.is_unix()
    }

    fn is_unix(self) -> bool {
        matches!(
            self,
            IType::UnixSock | IType::UnixGramSock | IType::UnixPacketSock
        )
    }
}

/// How the `stdio` interface frames its lines (`L2HeaderMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L2HeaderMode {
    /// `nochg`: raw frames.
    NoChange,
    /// `kbdbg`: `b` → broadcast MAC, digit n → AA:BB:CC:DD:EE:0n.
    KeyboardDebug,
    /// `noL2`: strip the Ethernet header on read, add a broadcast one on write.
    NoL2,
}

impl L2HeaderMode {
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        match text {
            "nochg" => Ok(Self::NoChange),
            "kbdbg" => Ok(Self::KeyboardDebug),
            "noL2" => Ok(Self::NoL2),
            _ => Err(ValueError::L2HeaderMode(text.to_owned())),
        }
    }
}

/// A socket address for the socket interface types: `ip:port` for UDP/TCP,
/// a path for unix sockets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketSpec {
    Inet(SocketAddr),
    Unix(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Interface {
    pub itype: IType,
    pub name: String,
    pub vpp_iface_id: u32,
    /// VPP-side configuration: egd prints the `vpp` CLI that bridges the memif.
    pub vpp_bridge_id: u32,
    /// `VPPIFaceSocket`: the memif control socket (default VPP's).
    pub vpp_socket: PathBuf,
    /// `VPPIFaceRole`: `client` (memif slave, default) or `server` (master).
    pub vpp_role: VppRole,
    pub mac_prefix: Option<MacPrefix>,
    pub ipv4: Option<Ipv4Net>,
    pub ipv6: Option<Ipv6Net>,
    pub ipv6_link_local: Option<Ipv6Net>,
    pub mtu: Mtu,
    pub recv_addr: Option<SocketSpec>,
    pub send_addr: Option<SocketSpec>,
    pub l2_header_mode: L2HeaderMode,
}

/// VPP's default memif socket (its socket-id 0).
const DEFAULT_VPP_SOCKET: &str = "/run/vpp/memif.sock";

/// `VPPIFaceRole`: egd's side of the memif.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VppRole {
    /// memif slave: connects to VPP's socket and provides the shared memory.
    Client,
    /// memif master: listens on the socket; VPP connects as slave.
    Server,
}

impl VppRole {
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        match text {
            "client" | "slave" => Ok(VppRole::Client),
            "server" | "master" => Ok(VppRole::Server),
            _ => Err(ValueError::VppRole(text.to_owned())),
        }
    }
}

/// MTU when the key is absent and the type does not require it: the
/// original's examples' value, which keeps an encapsulated frame within 1500.
const DEFAULT_MTU: u16 = 1404;
/// Linux interface names are at most 15 bytes (IFNAMSIZ − 1).
const IFNAME_MAX: usize = 15;

pub fn interface(
    c: Check<'_>,
    raw: Option<&raw::Interface>,
    at: &KeyPath,
) -> Result<Interface, ConfigError> {
    let empty = raw::Interface::default();
    let r = raw.unwrap_or(&empty);
    let itype = c.parse_req(
        &r.IType,
        &at.key("IType"),
        "every edge has an interface",
        IType::parse,
    )?;
    let why = format!("IType {} needs it", itype.name());
    let needs = |key: &str| -> bool {
        match itype {
            IType::Tap => matches!(key, "Name" | "MacAddrPrefix" | "MTU"),
            IType::Vpp => matches!(
                key,
                "Name" | "VPPIFaceID" | "VPPBridgeID" | "MacAddrPrefix" | "MTU"
            ),
            IType::Stdio => matches!(key, "MacAddrPrefix" | "L2HeaderMode"),
            IType::UdpSock => matches!(key, "RecvAddr" | "SendAddr"),
            _ => false,
        }
    };
    let require_present = |key: &str, present: bool| -> Result<(), ConfigError> {
        if needs(key) && !present {
            Err(c.missing(&at.key(key), &why))
        } else {
            Ok(())
        }
    };

    let name = Check::text(&r.Name);
    require_present("Name", !name.trim().is_empty())?;
    if itype == IType::Tap
        && name.len() > IFNAME_MAX
        && let Some(s) = &r.Name
    {
        return Err(c.error(
            s.referenced.into(),
            &at.key("Name"),
            format!("interface name {name:?} is longer than {IFNAME_MAX} bytes"),
        ));
    }
    require_present("VPPIFaceID", r.VPPIFaceID.is_some())?;
    require_present("VPPBridgeID", r.VPPBridgeID.is_some())?;
    let vpp_iface_id = c.u32_or(&r.VPPIFaceID, &at.key("VPPIFaceID"), 0)?;
    let vpp_bridge_id = c.u32_or(&r.VPPBridgeID, &at.key("VPPBridgeID"), 0)?;
    let vpp_socket = c
        .parse_opt(&r.VPPIFaceSocket, &at.key("VPPIFaceSocket"), |s| {
            Ok::<_, std::convert::Infallible>(PathBuf::from(s))
        })?
        .unwrap_or_else(|| PathBuf::from(DEFAULT_VPP_SOCKET));
    let vpp_role = c
        .parse_opt(&r.VPPIFaceRole, &at.key("VPPIFaceRole"), VppRole::parse)?
        .unwrap_or(VppRole::Client);

    let mac_prefix = c.parse_opt(&r.MacAddrPrefix, &at.key("MacAddrPrefix"), MacPrefix::parse)?;
    require_present("MacAddrPrefix", mac_prefix.is_some())?;
    let cidr_err = |s: &str| format!("{s:?} is not a CIDR (address/prefix length)");
    let ipv4 = c.parse_opt(&r.IPv4CIDR, &at.key("IPv4CIDR"), |s| {
        s.parse::<Ipv4Net>().map_err(|_| cidr_err(s))
    })?;
    let ipv6 = c.parse_opt(&r.IPv6CIDR, &at.key("IPv6CIDR"), |s| {
        s.parse::<Ipv6Net>().map_err(|_| cidr_err(s))
    })?;
    let ipv6_link_local = c.parse_opt(&r.IPv6LLPrefix, &at.key("IPv6LLPrefix"), |s| {
        s.parse::<Ipv6Net>().map_err(|_| cidr_err(s))
    })?;
    require_present("MTU", r.MTU.is_some())?;
    let mtu = c.value_or(&r.MTU, &at.key("MTU"), None, |v| Mtu::new(v).map(Some))?;
    let mtu = match mtu {
        Some(m) => m,
        None => Mtu::new(i64::from(DEFAULT_MTU)).map_err(|e| c.error_at_key(&at.key("MTU"), e))?,
    };

    let socket = |key: &str, f: &super::check::Field<String>| {
        if itype.uses_sockets() {
            c.parse_opt(f, &at.key(key), |s| socket_spec(itype, s))
        } else {
            Ok(None)
        }
    };
    let recv_addr = socket("RecvAddr", &r.RecvAddr)?;
    let send_addr = socket("SendAddr", &r.SendAddr)?;
    require_present("RecvAddr", recv_addr.is_some())?;
    require_present("SendAddr", send_addr.is_some())?;
    let is_stream_or_unix = matches!(itype, IType::TcpSock) || itype.is_unix();
    if is_stream_or_unix && recv_addr.is_none() && send_addr.is_none() {
        return Err(c.missing(
            &at.key("RecvAddr"),
            &format!(
                "IType {} needs RecvAddr (listen) or SendAddr (connect)",
                itype.name()
            ),
        ));
    }

    let l2_header_mode = c.parse_opt(
        &r.L2HeaderMode,
        &at.key("L2HeaderMode"),
        L2HeaderMode::parse,
    )?;
    require_present("L2HeaderMode", l2_header_mode.is_some())?;

    Ok(Interface {
        itype,
        name,
        vpp_iface_id,
        vpp_bridge_id,
        vpp_socket,
        vpp_role,
        mac_prefix,
        ipv4,
        ipv6,
        ipv6_link_local,
        mtu,
        recv_addr,
        send_addr,
        l2_header_mode: l2_header_mode.unwrap_or(L2HeaderMode::NoChange),
    })
}

/// Parses `RecvAddr`/`SendAddr` for a socket type. (For the other types the
/// original's examples carry placeholder values, which are not looked at.)
fn socket_spec(itype: IType, text: &str) -> Result<SocketSpec, ValueError> {
    if itype.is_unix() {
        Ok(SocketSpec::Unix(PathBuf::from(text)))
    } else {
        text.parse::<SocketAddr>()
            .map(SocketSpec::Inet)
            .map_err(|_| ValueError::SocketAddr(text.to_owned()))
    }
}

#[cfg(test)]
mod vpp_role_tests {
    use super::VppRole;

    #[test]
    fn roles_in_both_vocabularies() {
        assert_eq!(VppRole::parse("client"), Ok(VppRole::Client));
        assert_eq!(VppRole::parse("slave"), Ok(VppRole::Client));
        assert_eq!(VppRole::parse("server"), Ok(VppRole::Server));
        assert_eq!(VppRole::parse("master"), Ok(VppRole::Server));
        assert!(VppRole::parse("Client").is_err());
    }
}
