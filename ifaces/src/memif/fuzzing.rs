//! A hostile memif peer for the fuzzer (feature `fuzzing`; `fuzz/` drives
//! [`peer`]). Everything VPP can send is input here: the 128-byte control
//! records (any bytes, truncated ones too), the fds beside them (a memfd of
//! the fuzzer's size and contents, sealed or not, an eventfd, or nothing),
//! and, once a link comes up, the shared memory's rings and descriptors.
//! The session under test must end or come up, never panic, and a link must
//! fault cleanly on whatever the rings say.
//!
//! Input layout: `[role][count][records: 1 control byte + 128 message
//! bytes]…`, `count` of them (at most [`MAX_RECORDS`]), then the rest is
//! the content of every memfd sent (repeated to fill it).
//! Control byte: bits 0–1 the fd (0 none, 1 sealed memfd, 2 eventfd,
//! 3 unsealed memfd), bits 2–6 the memfd's size in pages minus one, bit 7
//! sends the record truncated to 64 bytes.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{MemfdFlags, SealFlags};
use rustix::net::{AddressFamily, SocketFlags, SocketType};

use super::link::{MemifRole, Received};
use super::msg::MSG_LEN;
use super::session::{Session, Settings, Step};

/// Records per input: a handshake is about eight; more only repeats.
pub const MAX_RECORDS: usize = 16;
const RECORD: usize = 1 + MSG_LEN;
const PAGE: usize = 4096;

/// Plays the bytes as the peer of a session (server role if `data[0]` is
/// even, client otherwise). True if the link came up.
pub fn peer(data: &[u8]) -> bool {
    let [role, count, rest @ ..] = data else {
        return false;
    };
    let records = usize::from(*count).min(MAX_RECORDS);
    let split = (records * RECORD).min(rest.len());
    let (records, shm) = rest.split_at(split);
    // Fuzz input, not a test: setup failures (fd limits) just skip it.
    play(*role, records, shm).unwrap_or(false)
}

fn play(role: u8, records: &[u8], shm: &[u8]) -> io::Result<bool> {
    let (ours, theirs) = rustix::net::socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?;
    let role = if role.is_multiple_of(2) {
        MemifRole::Server
    } else {
        MemifRole::Client
    };
    let cfg = Settings {
        role,
        id: 0,
        if_name: "fuzz".into(),
        // Small rings: a client maps its region per input.
        log2_ring_size: 4,
        buffer_size: 256,
    };
    let mut session = match role {
        MemifRole::Server => Session::server(ours)?,
        MemifRole::Client => Session::client(ours),
    };
    let mut up = false;
    for record in records.chunks(RECORD) {
        let Some((&ctl, msg)) = record.split_first() else {
            break;
        };
        let mut bytes = [0u8; MSG_LEN];
        bytes[..msg.len()].copy_from_slice(msg);
        let len = if ctl & 0x80 != 0 {
            MSG_LEN / 2
        } else {
            MSG_LEN
        };
        let fd = attachment(ctl, shm)?;
        // A full socket (we never read our end) ends the input.
        if super::session::send_raw(&theirs, &bytes[..len], fd.as_ref().map(AsFd::as_fd)).is_err() {
            break;
        }
        match session.poll(&cfg) {
            Ok(Step::Closed(_)) | Err(_) => return Ok(up),
            Ok(Step::Idle) => {}
            Ok(Step::Up { .. }) => up = true,
        }
        if let Some(link) = session.link() {
            // The rings live in memory the fuzzer filled: read what they
            // claim, send a frame into them.
            let mut buf = [0u8; 1024];
            for _ in 0..8 {
                match link.recv(&mut buf) {
                    Ok(Received::Empty) | Err(_) => break,
                    Ok(Received::Frame(n)) => assert!(n <= buf.len()),
                    Ok(Received::TooLong) => {}
                }
            }
            let _ = link.send(&buf[..60]);
        }
    }
    Ok(up)
}

/// The fd a control byte asks for.
fn attachment(ctl: u8, shm: &[u8]) -> io::Result<Option<OwnedFd>> {
    let pages = usize::from((ctl >> 2) & 0x1f) + 1;
    Ok(match ctl & 3 {
        0 => None,
        2 => Some(rustix::event::eventfd(
            0,
            rustix::event::EventfdFlags::CLOEXEC | rustix::event::EventfdFlags::NONBLOCK,
        )?),
        kind => {
            let fd =
                rustix::fs::memfd_create("fuzz", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)?;
            let len = pages * PAGE;
            rustix::fs::ftruncate(&fd, len as u64)?;
            if !shm.is_empty() {
                // One write: a short pattern repeated page after page would
                // otherwise cost a syscall each time round.
                let fill: Vec<u8> = shm.iter().copied().cycle().take(len).collect();
                rustix::io::pwrite(&fd, &fill, 0)?;
            }
            if kind == 1 {
                rustix::fs::fcntl_add_seals(&fd, SealFlags::SHRINK)?;
            }
            Some(fd)
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::msg::{ADD_RING_FLAG_C2S, COOKIE, Msg, VERSION, fixed};
    use super::*;

    fn record(ctl: u8, m: &Msg) -> Vec<u8> {
        let mut r = vec![ctl];
        r.extend_from_slice(&m.encode());
        r
    }

    /// The harness reaches a live link (so the fuzzer can too), and a ring
    /// that claims a frame outside its region faults instead of reading it.
    #[test]
    fn a_well_formed_client_brings_the_server_up() {
        let ring = |flags, offset| Msg::AddRing {
            flags,
            index: 0,
            region: 0,
            offset,
            log2_ring_size: 2,
            private_hdr_size: 0,
        };
        let mut input = vec![0u8, 5]; // server role, five records
        let init = Msg::Init {
            version: VERSION,
            id: 0,
            mode: 0,
            name: fixed("vpp"),
        };
        input.extend(record(0, &init));
        input.extend(record(
            1,
            &Msg::AddRegion {
                index: 0,
                size: 4096,
            },
        ));
        input.extend(record(2, &ring(ADD_RING_FLAG_C2S, 0)));
        input.extend(record(2, &ring(0, 512)));
        input.extend(record(
            0,
            &Msg::Connect {
                if_name: fixed("memif0"),
            },
        ));
        // Shared memory, repeated every 512 bytes: both rings start with the
        // cookie, the C2S head (offset 6) says one frame is ready, and its
        // descriptor (offset 128) points far outside the region.
        let mut shm = vec![0u8; 512];
        shm[..4].copy_from_slice(&COOKIE.to_le_bytes());
        shm[6] = 1;
        shm[128 + 4..128 + 8].copy_from_slice(&60u32.to_le_bytes());
        shm[128 + 8..128 + 12].copy_from_slice(&0xffff_0000u32.to_le_bytes());
        input.extend(&shm);
        assert!(peer(&input));
        // Without the cookie the rings are refused.
        let n = input.len();
        input[n - 512..n - 508].fill(0);
        assert!(!peer(&input));
    }
}
