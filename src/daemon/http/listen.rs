//! Binding the API listeners before the server thread starts, so a taken
//! port or a bad address is reported to the caller at once.

use std::net::{SocketAddr, TcpListener};

use socket2::{Domain, Protocol, Socket, Type};

use super::error::ServeError;
use crate::logging::target;

/// Pending connections the kernel queues per listener.
const BACKLOG: i32 = 128;

/// Binds one non-blocking listener per address. An IPv6 wildcard on a host
/// without IPv6 is skipped with a warning; every other failure is an error
/// naming the address.
pub(super) fn bind_all(addrs: &[SocketAddr]) -> Result<Vec<TcpListener>, ServeError> {
    let mut out = Vec::with_capacity(addrs.len());
    for addr in addrs {
        match bind(*addr) {
            Ok(l) => out.push(l),
            Err(e) if skippable(addr, &e) => {
                tracing::warn!(target: target::NORMAL, "HTTP API: not listening on {addr}: {e}");
            }
            Err(source) => {
                return Err(ServeError::Bind {
                    addr: *addr,
                    source,
                });
            }
        }
    }
    if out.is_empty() && !addrs.is_empty() {
        return Err(ServeError::NoneBound(addrs.to_vec()));
    }
    Ok(out)
}

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        // The IPv4 wildcard gets its own socket; keep the families apart so
        // both can bind the same port.
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// IPv6 disabled in the kernel (or no IPv6 address at all) only matters
/// when the operator named an IPv6 address.
fn skippable(addr: &SocketAddr, e: &std::io::Error) -> bool {
    addr.is_ipv6()
        && addr.ip().is_unspecified()
        && matches!(
            e.raw_os_error(),
            Some(libc::EAFNOSUPPORT) | Some(libc::EADDRNOTAVAIL)
        )
}
