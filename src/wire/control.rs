//! Control messages: the bodies of packets whose routing-header kind is not
//! `Frame`. A documented, versioned binary encoding (the original
//! used Go's gob; docs/system.md#differences) — `docs/protocol.md` has the same tables.
//!
//! Every body starts with a common prefix, then the kind's fields. Integers
//! are big-endian; a `str8` is a u8 length then that many UTF-8 bytes, a
//! `str16` the same with a u16 length.
//!
//! | bytes | field   | meaning                                                   |
//! |-------|---------|-----------------------------------------------------------|
//! | 0     | version | 1                                                         |
//! | 1–4   | seq     | sender's sequence number; (header src, seq) identifies a flooded message for de-duplication |
//!
//! Kind fields:
//! - `Ping`: request_id u32, sent_at i64 (sender's wall clock, ns since the
//!   Unix epoch), interval u32 (ms until the sender's next ping; 0 =
//!   unknown), then optionally (until the sender has heard from the
//!   receiver it has nothing to echo) the echo: echo_sent_at i64 (the `sent_at` of the last ping the sender
//!   received from the receiver, verbatim) and echo_hold u32 (µs between
//!   that ping's arrival and this ping's departure). The receiver gets the
//!   round trip as `arrival − echo_sent_at − echo_hold`, all on its own
//!   clock (NTP-style, no clock offset in it).
//!   A `Pong` or `Reports` entry with `valid_for` 0 withdraws the link: it
//!   was found down.
//! - `Pong`: request_id u32, from u16, to u16, one_way i64 (ns; receiver's clock minus the ping's `sent_at`, may be negative), valid_for u32 (ms), additional_cost u32 (µs of `to`),
//!   penalty u32 (µs: jitter and loss terms of the link
//!   cost, added to `one_way` for routing), rtt u32 (µs, the measured
//!   round trip `from`↔`to`; 0 = unknown).
//! - `Register`: version str8, peer_state u64, nh_state u64, params_state u64, post_count u64.
//! - `ServerUpdate`: action u8 ([`ServerAction`]), code i32, params str16.
//! - `QueryPeer`: request_id u32.
//! - `BroadcastPeer`: request_id u32, node u16, public_key [u8; 32], endpoint str8.
//! - `Reports`: additional_cost_us u32 (the sender's), count u8, then `count`
//!   entries of from u16, one_way i64 (ns, as `Pong`), valid_for u32 (ms):
//!   latencies toward the header's source, measured by it; then `count`
//!   extensions of penalty u32 (µs) and rtt u32 (µs), as in `Pong`, one
//!   per entry in the same order.
//!
//! A body shorter than its kind's fields is malformed
//! ([`ControlError::Truncated`]); bytes after them are ignored.
//!
//! Drive it with [`Control::parse`] (untrusted bytes; borrows strings from
//! the input) and [`Control::emit`] (into a caller's buffer).

use super::header::Kind;

/// Control-body version this code speaks.
pub const VERSION: u8 = 1;
/// Length of the common prefix (version, seq).
pub const PREFIX_LEN: usize = 5;

/// What a supernode tells an edge in a `ServerUpdate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ServerAction {
    /// Nothing to do (a state-hash notice: fetch what changed).
    NoAction = 0,
    /// Stop: wrong NodeID, version mismatch, or deleted.
    Shutdown = 1,
    /// Fetch the peer list / next-hop table / parameters again.
    UpdatePeer = 2,
    UpdateNhTable = 3,
    UpdateSuperParams = 4,
}

impl ServerAction {
    fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => ServerAction::NoAction,
            1 => ServerAction::Shutdown,
            2 => ServerAction::UpdatePeer,
            3 => ServerAction::UpdateNhTable,
            4 => ServerAction::UpdateSuperParams,
            _ => return None,
        })
    }
}

/// A decoded control body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body<'a> {
    Ping {
        request_id: u32,
        sent_at_unix_ns: i64,
        /// When the sender pings again (ms; 0: not said), so the receiver
        /// knows when a missing ping means the link is down.
        interval_ms: u32,
        /// The receiver's last ping, echoed (none: not heard from it yet).
        echo: Option<PingEcho>,
    },
    Pong {
        request_id: u32,
        from: u16,
        to: u16,
        one_way_ns: i64,
        valid_for_ms: u32,
        additional_cost_us: u32,
        /// Jitter and loss terms of the link cost (µs, ≥ 0).
        penalty_us: u32,
        /// The round trip `from`↔`to` (µs; 0 = unknown).
        rtt_us: u32,
    },
    Register {
        version: &'a str,
        peer_state: u64,
        nh_state: u64,
        params_state: u64,
        post_count: u64,
    },
    ServerUpdate {
        action: ServerAction,
        code: i32,
        params: &'a str,
    },
    QueryPeer {
        request_id: u32,
    },
    BroadcastPeer {
        request_id: u32,
        node: u16,
        public_key: [u8; 32],
        endpoint: &'a str,
    },
    Reports {
        additional_cost_us: u32,
        /// `count` entries of [`REPORT_ENTRY_LEN`] bytes; read them with
        /// [`report_entries`], write them with [`ReportEntry::emit`].
        entries: &'a [u8],
        /// `count` extensions of [`REPORT_EXTRA_LEN`] bytes, one per entry
        /// ([`ReportEntry::emit_extra`]).
        extras: &'a [u8],
    },
}

/// The echo part of a `Ping` (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PingEcho {
    /// The `sent_at` of the ping being echoed (the receiver's own clock).
    pub sent_at_unix_ns: i64,
    /// How long the echoing node held it before this ping left (µs).
    pub hold_us: u32,
}

impl PingEcho {
    /// The round trip it shows when it arrives at `arrived_ns` (the same
    /// clock as `sent_at_unix_ns`); `None` if that is negative or beyond a
    /// minute (a garbled echo, not a measurement).
    pub fn round_trip_ns(&self, arrived_ns: i64) -> Option<i64> {
        let rtt = arrived_ns
            .checked_sub(self.sent_at_unix_ns)?
            .checked_sub(i64::from(self.hold_us).checked_mul(1000)?)?;
        (0..=60_000_000_000).contains(&rtt).then_some(rtt)
    }
}

/// Bytes of one `Reports` entry.
pub const REPORT_ENTRY_LEN: usize = 14;
/// Bytes of one `Reports` entry's extension (penalty, rtt).
pub const REPORT_EXTRA_LEN: usize = 8;
/// Most entries one `Reports` body carries (fits a node's control slot).
pub const MAX_REPORT_ENTRIES: usize = 32;

/// One latency a `Reports` sender measured: `from` → the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportEntry {
    pub from: u16,
    pub one_way_ns: i64,
    pub valid_for_ms: u32,
    /// Jitter and loss terms (µs, ≥ 0).
    pub penalty_us: u32,
    /// Round trip (µs; 0 = unknown).
    pub rtt_us: u32,
}

impl ReportEntry {
    /// Writes the entry into `out[..REPORT_ENTRY_LEN]`; false if too short.
    pub fn emit(&self, out: &mut [u8]) -> bool {
        let Some(out) = out.get_mut(..REPORT_ENTRY_LEN) else {
            return false;
        };
        out[..2].copy_from_slice(&self.from.to_be_bytes());
        out[2..10].copy_from_slice(&self.one_way_ns.to_be_bytes());
        out[10..].copy_from_slice(&self.valid_for_ms.to_be_bytes());
        true
    }

    /// Writes the entry's extension into `out[..REPORT_EXTRA_LEN]`; false
    /// if too short.
    pub fn emit_extra(&self, out: &mut [u8]) -> bool {
        let Some(out) = out.get_mut(..REPORT_EXTRA_LEN) else {
            return false;
        };
        out[..4].copy_from_slice(&self.penalty_us.to_be_bytes());
        out[4..].copy_from_slice(&self.rtt_us.to_be_bytes());
        true
    }
}

/// The entries of a parsed `Reports` body, each with its extension (a
/// parsed body has one per entry).
pub fn report_entries<'a>(
    entries: &'a [u8],
    extras: &'a [u8],
) -> impl Iterator<Item = ReportEntry> + 'a {
    let extras = extras.chunks_exact(REPORT_EXTRA_LEN);
    entries
        .chunks_exact(REPORT_ENTRY_LEN)
        .zip(extras)
        .map(|(e, x)| {
            let mut from = [0u8; 2];
            let mut ns = [0u8; 8];
            let mut valid = [0u8; 4];
            from.copy_from_slice(&e[..2]);
            ns.copy_from_slice(&e[2..10]);
            valid.copy_from_slice(&e[10..]);
            let (mut penalty, mut rtt) = ([0u8; 4], [0u8; 4]);
            penalty.copy_from_slice(&x[..4]);
            rtt.copy_from_slice(&x[4..]);
            ReportEntry {
                from: u16::from_be_bytes(from),
                one_way_ns: i64::from_be_bytes(ns),
                valid_for_ms: u32::from_be_bytes(valid),
                penalty_us: u32::from_be_bytes(penalty),
                rtt_us: u32::from_be_bytes(rtt),
            }
        })
}

/// A control message: the sender's sequence number and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control<'a> {
    pub seq: u32,
    pub body: Body<'a>,
}

/// Why a control body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlError {
    /// Fewer bytes than the fields need.
    Truncated,
    UnknownVersion,
    /// `Frame` is not a control kind.
    NotControl,
    BadString,
    BadAction,
    /// The output buffer is too small, or a string too long for its length field.
    NoRoom,
}

impl<'a> Control<'a> {
    /// The routing-header kind this body travels under.
    pub fn kind(&self) -> Kind {
        match self.body {
            Body::Ping { .. } => Kind::Ping,
            Body::Pong { .. } => Kind::Pong,
            Body::Register { .. } => Kind::Register,
            Body::ServerUpdate { .. } => Kind::ServerUpdate,
            Body::QueryPeer { .. } => Kind::QueryPeer,
            Body::BroadcastPeer { .. } => Kind::BroadcastPeer,
            Body::Reports { .. } => Kind::Reports,
        }
    }

    /// Decodes a body of `kind` from untrusted bytes. Trailing bytes are
    /// ignored, so later versions may append fields.
    pub fn parse(kind: Kind, bytes: &'a [u8]) -> Result<Self, ControlError> {
        let mut r = Reader { bytes };
        if r.u8()? != VERSION {
            return Err(ControlError::UnknownVersion);
        }
        let seq = r.u32()?;
        let body = match kind {
            Kind::Frame => return Err(ControlError::NotControl),
            Kind::Ping => Body::Ping {
                request_id: r.u32()?,
                sent_at_unix_ns: r.i64()?,
                interval_ms: r.u32()?,
                // No echo yet; a shorter tail is ignored (trailing bytes
                // always are).
                echo: if r.bytes.len() < 12 {
                    None
                } else {
                    Some(PingEcho {
                        sent_at_unix_ns: r.i64()?,
                        hold_us: r.u32()?,
                    })
                },
            },
            Kind::Pong => {
                let (request_id, from, to) = (r.u32()?, r.u16()?, r.u16()?);
                let (one_way_ns, valid_for_ms, additional_cost_us) = (r.i64()?, r.u32()?, r.u32()?);
                let (penalty_us, rtt_us) = (r.u32()?, r.u32()?);
                Body::Pong {
                    request_id,
                    from,
                    to,
                    one_way_ns,
                    valid_for_ms,
                    additional_cost_us,
                    penalty_us,
                    rtt_us,
                }
            }
            Kind::Register => Body::Register {
                version: r.str8()?,
                peer_state: r.u64()?,
                nh_state: r.u64()?,
                params_state: r.u64()?,
                post_count: r.u64()?,
            },
            Kind::ServerUpdate => Body::ServerUpdate {
                action: ServerAction::from_u8(r.u8()?).ok_or(ControlError::BadAction)?,
                code: r.u32()? as i32,
                params: r.str16()?,
            },
            Kind::QueryPeer => Body::QueryPeer {
                request_id: r.u32()?,
            },
            Kind::BroadcastPeer => Body::BroadcastPeer {
                request_id: r.u32()?,
                node: r.u16()?,
                public_key: r.array32()?,
                endpoint: r.str8()?,
            },
            Kind::Reports => {
                let additional_cost_us = r.u32()?;
                let count = usize::from(r.u8()?);
                let entries = r.take(count * REPORT_ENTRY_LEN)?;
                let extras = r.take(count * REPORT_EXTRA_LEN)?;
                Body::Reports {
                    additional_cost_us,
                    entries,
                    extras,
                }
            }
        };
        Ok(Control { seq, body })
    }

    /// Encodes into `out`; returns the number of bytes written.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, ControlError> {
        let mut w = Writer { out, at: 0 };
        w.put(&[VERSION])?;
        w.put(&self.seq.to_be_bytes())?;
        match &self.body {
            Body::Ping {
                request_id,
                sent_at_unix_ns,
                interval_ms,
                echo,
            } => {
                w.put(&request_id.to_be_bytes())?;
                w.put(&sent_at_unix_ns.to_be_bytes())?;
                w.put(&interval_ms.to_be_bytes())?;
                if let Some(e) = echo {
                    w.put(&e.sent_at_unix_ns.to_be_bytes())?;
                    w.put(&e.hold_us.to_be_bytes())?;
                }
            }
            Body::Pong {
                request_id,
                from,
                to,
                one_way_ns,
                valid_for_ms,
                additional_cost_us,
                penalty_us,
                rtt_us,
            } => {
                w.put(&request_id.to_be_bytes())?;
                w.put(&from.to_be_bytes())?;
                w.put(&to.to_be_bytes())?;
                w.put(&one_way_ns.to_be_bytes())?;
                w.put(&valid_for_ms.to_be_bytes())?;
                w.put(&additional_cost_us.to_be_bytes())?;
                w.put(&penalty_us.to_be_bytes())?;
                w.put(&rtt_us.to_be_bytes())?;
            }
            Body::Register {
                version,
                peer_state,
                nh_state,
                params_state,
                post_count,
            } => {
                w.str8(version)?;
                for v in [peer_state, nh_state, params_state, post_count] {
                    w.put(&v.to_be_bytes())?;
                }
            }
            Body::ServerUpdate {
                action,
                code,
                params,
            } => {
                w.put(&[*action as u8])?;
                w.put(&code.to_be_bytes())?;
                w.str16(params)?;
            }
            Body::QueryPeer { request_id } => w.put(&request_id.to_be_bytes())?,
            Body::BroadcastPeer {
                request_id,
                node,
                public_key,
                endpoint,
            } => {
                w.put(&request_id.to_be_bytes())?;
                w.put(&node.to_be_bytes())?;
                w.put(public_key)?;
                w.str8(endpoint)?;
            }
            Body::Reports {
                additional_cost_us,
                entries,
                extras,
            } => {
                let count = entries.len() / REPORT_ENTRY_LEN;
                if entries.len() % REPORT_ENTRY_LEN != 0
                    || count > usize::from(u8::MAX)
                    || extras.len() != count * REPORT_EXTRA_LEN
                {
                    return Err(ControlError::NoRoom);
                }
                w.put(&additional_cost_us.to_be_bytes())?;
                w.put(&[count as u8])?;
                w.put(entries)?;
                w.put(extras)?;
            }
        }
        Ok(w.at)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ControlError> {
        if self.bytes.len() < n {
            return Err(ControlError::Truncated);
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ControlError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, ControlError> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, ControlError> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, ControlError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, ControlError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    fn i64(&mut self) -> Result<i64, ControlError> {
        Ok(i64::from_be_bytes(self.array()?))
    }
    fn array32(&mut self) -> Result<[u8; 32], ControlError> {
        self.array()
    }
    fn str8(&mut self) -> Result<&'a str, ControlError> {
        let n = usize::from(self.u8()?);
        std::str::from_utf8(self.take(n)?).map_err(|_| ControlError::BadString)
    }
    fn str16(&mut self) -> Result<&'a str, ControlError> {
        let n = usize::from(self.u16()?);
        std::str::from_utf8(self.take(n)?).map_err(|_| ControlError::BadString)
    }
}

struct Writer<'o> {
    out: &'o mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), ControlError> {
        let end = self.at + bytes.len();
        self.out
            .get_mut(self.at..end)
            .ok_or(ControlError::NoRoom)?
            .copy_from_slice(bytes);
        self.at = end;
        Ok(())
    }
    fn str8(&mut self, s: &str) -> Result<(), ControlError> {
        let n = u8::try_from(s.len()).map_err(|_| ControlError::NoRoom)?;
        self.put(&[n])?;
        self.put(s.as_bytes())
    }
    fn str16(&mut self, s: &str) -> Result<(), ControlError> {
        let n = u16::try_from(s.len()).map_err(|_| ControlError::NoRoom)?;
        self.put(&n.to_be_bytes())?;
        self.put(s.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Control<'static>> {
        vec![
            Control {
                seq: 1,
                body: Body::Ping {
                    request_id: 7,
                    sent_at_unix_ns: -5,
                    interval_ms: 200,
                    echo: Some(PingEcho {
                        sent_at_unix_ns: 1_700_000_000_000_000_000,
                        hold_us: 150_000,
                    }),
                },
            },
            Control {
                seq: 2,
                body: Body::Pong {
                    request_id: 7,
                    from: 1,
                    to: 2,
                    one_way_ns: -3_000_000_000,
                    valid_for_ms: 70_000,
                    additional_cost_us: 10_000,
                    penalty_us: 1_234,
                    rtt_us: 41_000,
                },
            },
            Control {
                seq: 3,
                body: Body::Register {
                    version: "egd 0.1.0",
                    peer_state: 1,
                    nh_state: 2,
                    params_state: 3,
                    post_count: 4,
                },
            },
            Control {
                seq: 4,
                body: Body::ServerUpdate {
                    action: ServerAction::Shutdown,
                    code: -1,
                    params: "deleted",
                },
            },
            Control {
                seq: 5,
                body: Body::QueryPeer { request_id: 9 },
            },
            Control {
                seq: u32::MAX,
                body: Body::BroadcastPeer {
                    request_id: 9,
                    node: 65531,
                    public_key: [7; 32],
                    endpoint: "[::1]:3001",
                },
            },
        ]
    }

    #[test]
    fn every_kind_round_trips() {
        for msg in samples() {
            let mut buf = [0u8; 256];
            let n = msg.emit(&mut buf).unwrap();
            assert_eq!(Control::parse(msg.kind(), &buf[..n]), Ok(msg.clone()));
            // Every strict prefix is refused, never misread (but a ping
            // without its trailing echo is one that has nothing to echo).
            for cut in 0..n {
                if matches!(msg.body, Body::Ping { .. }) && cut >= n - 12 {
                    assert!(Control::parse(msg.kind(), &buf[..cut]).is_ok());
                    continue;
                }
                assert!(
                    Control::parse(msg.kind(), &buf[..cut]).is_err(),
                    "{msg:?} cut at {cut}"
                );
            }
            // Too small an output buffer is an error, not a panic.
            assert_eq!(msg.emit(&mut buf[..n - 1]), Err(ControlError::NoRoom));
        }
    }

    #[test]
    fn ping_layout_is_as_documented() {
        let msg = Control {
            seq: 0x01020304,
            body: Body::Ping {
                request_id: 5,
                sent_at_unix_ns: 6,
                interval_ms: 7,
                echo: None,
            },
        };
        let mut buf = [0u8; 32];
        let n = msg.emit(&mut buf).unwrap();
        assert_eq!(
            &buf[..n],
            &[
                1, 1, 2, 3, 4, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 7
            ]
        );
        // A ping without its interval is malformed.
        assert_eq!(
            Control::parse(Kind::Ping, &buf[..n - 4]),
            Err(ControlError::Truncated)
        );
    }

    #[test]
    fn echo_gives_the_round_trip_on_one_clock() {
        let e = PingEcho {
            sent_at_unix_ns: 1_000_000_000,
            hold_us: 300_000,
        };
        // Sent at 1 s, held 300 ms over there, back at 1.34 s: 40 ms.
        assert_eq!(e.round_trip_ns(1_340_000_000), Some(40_000_000));
        assert_eq!(e.round_trip_ns(1_200_000_000), None, "negative");
        assert_eq!(e.round_trip_ns(i64::MIN), None, "no overflow");
    }

    #[test]
    fn reports_carry_one_extension_per_entry() {
        let want = [
            ReportEntry {
                from: 3,
                one_way_ns: -7,
                valid_for_ms: 10_000,
                penalty_us: 500,
                rtt_us: 30_000,
            },
            ReportEntry {
                from: 4,
                one_way_ns: 9,
                valid_for_ms: 0,
                penalty_us: 0,
                rtt_us: 0,
            },
        ];
        let mut e = [0u8; 2 * REPORT_ENTRY_LEN];
        let mut x = [0u8; 2 * REPORT_EXTRA_LEN];
        for (i, r) in want.iter().enumerate() {
            assert!(r.emit(&mut e[i * REPORT_ENTRY_LEN..]));
            assert!(r.emit_extra(&mut x[i * REPORT_EXTRA_LEN..]));
        }
        let msg = Control {
            seq: 1,
            body: Body::Reports {
                additional_cost_us: 1000,
                entries: &e,
                extras: &x,
            },
        };
        let mut buf = [0u8; 128];
        let n = msg.emit(&mut buf).unwrap();
        let entries_of = |body: &[u8]| -> Vec<ReportEntry> {
            let Ok(Control {
                body: Body::Reports {
                    entries, extras, ..
                },
                ..
            }) = Control::parse(Kind::Reports, body)
            else {
                panic!("parses")
            };
            report_entries(entries, extras).collect()
        };
        assert_eq!(entries_of(&buf[..n]), want);
        // A body without the extensions, or with only some, is malformed.
        for cut in [n - x.len(), n - REPORT_EXTRA_LEN] {
            assert_eq!(
                Control::parse(Kind::Reports, &buf[..cut]),
                Err(ControlError::Truncated)
            );
        }
        // Extensions that do not match the entries are refused on emit.
        let bad = Control {
            seq: 1,
            body: Body::Reports {
                additional_cost_us: 0,
                entries: &e,
                extras: &x[..REPORT_EXTRA_LEN],
            },
        };
        assert_eq!(bad.emit(&mut buf), Err(ControlError::NoRoom));
    }

    #[test]
    fn bad_input_is_refused() {
        assert_eq!(
            Control::parse(Kind::Ping, &[2, 0, 0, 0, 0]),
            Err(ControlError::UnknownVersion)
        );
        assert_eq!(
            Control::parse(Kind::Frame, &[1, 0, 0, 0, 0]),
            Err(ControlError::NotControl)
        );
        let bad_utf8 = [1, 0, 0, 0, 0, 1, 0xff];
        assert_eq!(
            Control::parse(Kind::Register, &bad_utf8),
            Err(ControlError::BadString)
        );
        let bad_action = [1, 0, 0, 0, 0, 99, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            Control::parse(Kind::ServerUpdate, &bad_action),
            Err(ControlError::BadAction)
        );
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(kind in 0u8..8, bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..128)) {
            if let Some(k) = Kind::from_u8(kind) {
                let _ = Control::parse(k, &bytes);
            }
        }
    }
}
