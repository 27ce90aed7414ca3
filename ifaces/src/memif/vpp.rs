//! The VPP side of a memif, as `vppctl` lines for the operator: egd does not
//! talk to VPP's API, so the interface, its state and its bridge domain
//! (`VPPBridgeID`) are VPP-side configuration that egd prints at start.

use std::path::Path;

use super::{DEFAULT_SOCKET, MemifRole};

/// The `vpp` CLI lines that create VPP's end of this memif and put it in
/// bridge domain `bridge_id` (no bridge line when it is 0, as upstream).
/// VPP takes the opposite role to ours; socket-id 0 is VPP's default
/// socket, any other path gets socket-id 1.
pub fn cli_lines(
    socket: &Path,
    id: u32,
    our_role: MemifRole,
    bridge_id: u32,
    mtu: u16,
) -> Vec<String> {
    let mut lines = Vec::new();
    let socket_id = if socket == Path::new(DEFAULT_SOCKET) {
        0
    } else {
        lines.push(format!(
            "create memif socket id 1 filename {}",
            socket.display()
        ));
        1
    };
    let vpp_role = match our_role {
        MemifRole::Client => "master",
        MemifRole::Server => "slave",
    };
    let ifname = format!("memif{socket_id}/{id}");
    lines.push(format!(
        "create interface memif id {id} socket-id {socket_id} {vpp_role}"
    ));
    lines.push(format!("set interface mtu packet {mtu} {ifname}"));
    lines.push(format!("set interface state {ifname} up"));
    if bridge_id != 0 {
        lines.push(format!("set interface l2 bridge {ifname} {bridge_id}"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_for_default_and_custom_sockets() {
        assert_eq!(
            cli_lines(Path::new(DEFAULT_SOCKET), 5, MemifRole::Client, 4242, 1404),
            [
                "create interface memif id 5 socket-id 0 master",
                "set interface mtu packet 1404 memif0/5",
                "set interface state memif0/5 up",
                "set interface l2 bridge memif0/5 4242",
            ]
        );
        let l = cli_lines(Path::new("/tmp/x.sock"), 1, MemifRole::Server, 0, 1500);
        assert_eq!(l[0], "create memif socket id 1 filename /tmp/x.sock");
        assert_eq!(l[1], "create interface memif id 1 socket-id 1 slave");
        assert_eq!(l.len(), 4, "no bridge line for bridge 0");
    }
}
