//! Creating the ring: the best setup flags this kernel accepts, then a check
//! that every opcode the reactor issues is supported.
//!
//! `io_uring_setup` fails with EINVAL for flags a kernel does not know
//! (SINGLE_ISSUER and DEFER_TASKRUN need 6.0/6.1), so we retry with fewer. Any
//! other error (EPERM from `kernel.io_uring_disabled` or a seccomp filter,
//! ENOSYS, ENOMEM from a memlock limit) means io_uring is not for us.

use io_uring::{IoUring, Probe, opcode};
use std::io;

/// Which setup flags the ring got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SetupFlags {
    pub(crate) single_issuer: bool,
    pub(crate) defer_taskrun: bool,
    pub(crate) coop_taskrun: bool,
}

/// Attempts, best first. DEFER_TASKRUN requires SINGLE_ISSUER, and the two
/// taskrun modes exclude each other.
const ATTEMPTS: [SetupFlags; 4] = [
    SetupFlags {
        single_issuer: true,
        defer_taskrun: true,
        coop_taskrun: false,
    },
    SetupFlags {
        single_issuer: true,
        defer_taskrun: false,
        coop_taskrun: true,
    },
    SetupFlags {
        single_issuer: false,
        defer_taskrun: false,
        coop_taskrun: true,
    },
    SetupFlags {
        single_issuer: false,
        defer_taskrun: false,
        coop_taskrun: false,
    },
];

pub(crate) fn build(sq_entries: u32, cq_entries: u32) -> io::Result<(IoUring, SetupFlags)> {
    let mut last = io::Error::from_raw_os_error(libc::EINVAL);
    for flags in ATTEMPTS {
        let mut b = IoUring::builder();
        b.setup_cqsize(cq_entries);
        if flags.single_issuer {
            b.setup_single_issuer();
        }
        if flags.defer_taskrun {
            b.setup_defer_taskrun();
        }
        if flags.coop_taskrun {
            b.setup_coop_taskrun();
        }
        match b.build(sq_entries) {
            Ok(ring) => return Ok((ring, flags)),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// Fail unless the kernel supports every opcode the reactor needs; returns
/// whether it has the optional `SENDMSG_ZC` (Linux 6.1).
pub(crate) fn check_opcodes(ring: &IoUring) -> io::Result<bool> {
    let mut probe = Probe::new();
    ring.submitter().register_probe(&mut probe)?;
    let needed = [
        (opcode::RecvMsg::CODE, "RecvMsg"),
        (opcode::SendMsg::CODE, "SendMsg"),
        (opcode::PollAdd::CODE, "PollAdd"),
        (opcode::PollRemove::CODE, "PollRemove"),
        (opcode::Timeout::CODE, "Timeout"),
        (opcode::TimeoutRemove::CODE, "TimeoutRemove"),
    ];
    for (code, name) in needed {
        if !probe.is_supported(code) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("io_uring lacks opcode {name}"),
            ));
        }
    }
    Ok(probe.is_supported(opcode::SendMsgZc::CODE))
}
