//! The solver's outputs in the shape of EtherGuard's config keys:
//! [`NextHopTable`] (`NextHopTable[src][dst] = next hop`) and
//! [`DistanceTable`], plus the table's [`StateHash`].
//!
//! Both are sorted maps so iteration, rendering and hashing are
//! deterministic. A static-mode config's `NextHopTable` is loaded into the
//! same type (`FromIterator`) and passes through unchanged.

use crate::{Latency, NodeId};
use std::collections::BTreeMap;
use std::fmt;

/// `next_hop(src, dst)`: where `src` sends a frame for `dst`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NextHopTable {
    rows: BTreeMap<NodeId, BTreeMap<NodeId, NodeId>>,
}

/// One-way distances, `distance(src, dst)`; unreachable pairs are absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DistanceTable {
    rows: BTreeMap<NodeId, BTreeMap<NodeId, Latency>>,
}

/// A digest of a [`NextHopTable`]: any change of any entry changes it (with
/// overwhelming probability). FNV-1a 64 over the sorted entries, so it is
/// stable across runs, processes and platforms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StateHash(pub u64);

impl fmt::Display for StateHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Why a path could not be listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathError {
    /// The node is not in the table.
    UnknownNode(NodeId),
    /// No route from `src` to `dst`.
    Unreachable {
        /// Where the path starts.
        src: NodeId,
        /// Where it should end.
        dst: NodeId,
    },
    /// Following next hops revisits a node (only a hand-written static table
    /// can do this; solved tables are loop-free).
    Loop {
        /// Where the path starts.
        src: NodeId,
        /// Where it should end.
        dst: NodeId,
        /// The node met twice.
        at: NodeId,
    },
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::UnknownNode(id) => write!(f, "node {id} is not in the table"),
            PathError::Unreachable { src, dst } => write!(f, "{dst} is unreachable from {src}"),
            PathError::Loop { src, dst, at } => {
                write!(f, "next hops from {src} to {dst} loop at node {at}")
            }
        }
    }
}

impl std::error::Error for PathError {}

impl NextHopTable {
    /// An empty table.
    pub fn new() -> NextHopTable {
        NextHopTable::default()
    }

    /// Sets `next_hop(src, dst) = next`; entries with `src == dst` are ignored.
    pub fn insert(&mut self, src: NodeId, dst: NodeId, next: NodeId) {
        if src != dst {
            self.rows.entry(src).or_default().insert(dst, next);
        }
    }

    /// Where `src` sends frames for `dst`.
    pub fn next_hop(&self, src: NodeId, dst: NodeId) -> Option<NodeId> {
        self.rows.get(&src)?.get(&dst).copied()
    }

    /// All entries `(src, dst, next)` in ascending `(src, dst)` order.
    pub fn iter(&self) -> impl Iterator<Item = (NodeId, NodeId, NodeId)> + '_ {
        self.rows
            .iter()
            .flat_map(|(&s, row)| row.iter().map(move |(&d, &n)| (s, d, n)))
    }

    /// `src`'s entries `(dst, next)`, ascending.
    pub fn row(&self, src: NodeId) -> impl Iterator<Item = (NodeId, NodeId)> + '_ {
        self.rows
            .get(&src)
            .into_iter()
            .flat_map(|row| row.iter().map(|(&d, &n)| (d, n)))
    }

    /// Every node that has a row.
    pub fn sources(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.rows.keys().copied()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.rows.values().map(BTreeMap::len).sum()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The hop-by-hop path `src, …, dst` that frames actually take.
    pub fn path(&self, src: NodeId, dst: NodeId) -> Result<Vec<NodeId>, PathError> {
        let mut path = vec![src];
        let mut at = src;
        while at != dst {
            let next = self
                .next_hop(at, dst)
                .ok_or(PathError::Unreachable { src, dst })?;
            if path.contains(&next) {
                return Err(PathError::Loop { src, dst, at: next });
            }
            path.push(next);
            at = next;
        }
        Ok(path)
    }

    /// The table's digest; see [`StateHash`].
    pub fn state_hash(&self) -> StateHash {
        let mut h = Fnv1a::new();
        for (s, d, n) in self.iter() {
            for id in [s, d, n] {
                h.write(&id.get().to_le_bytes());
            }
        }
        StateHash(h.finish())
    }
}

impl FromIterator<(NodeId, NodeId, NodeId)> for NextHopTable {
    fn from_iter<I: IntoIterator<Item = (NodeId, NodeId, NodeId)>>(iter: I) -> Self {
        let mut table = NextHopTable::new();
        for (s, d, n) in iter {
            table.insert(s, d, n);
        }
        table
    }
}

impl DistanceTable {
    /// An empty table.
    pub fn new() -> DistanceTable {
        DistanceTable::default()
    }

    /// Sets `distance(src, dst)`.
    pub fn insert(&mut self, src: NodeId, dst: NodeId, distance: Latency) {
        self.rows.entry(src).or_default().insert(dst, distance);
    }

    /// The distance from `src` to `dst`; `None` when unreachable.
    pub fn distance(&self, src: NodeId, dst: NodeId) -> Option<Latency> {
        self.rows.get(&src)?.get(&dst).copied()
    }

    /// All entries `(src, dst, distance)`, ascending.
    pub fn iter(&self) -> impl Iterator<Item = (NodeId, NodeId, Latency)> + '_ {
        self.rows
            .iter()
            .flat_map(|(&s, row)| row.iter().map(move |(&d, &l)| (s, d, l)))
    }
}

/// FNV-1a, 64-bit: tiny, deterministic, good enough to notice a change.
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Fnv1a {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(raw: u16) -> NodeId {
        NodeId::new(raw).unwrap()
    }

    #[test]
    fn any_next_hop_change_changes_the_hash() {
        let table: NextHopTable = [(1, 2, 2), (1, 3, 2), (2, 3, 3), (3, 1, 2)]
            .into_iter()
            .map(|(s, d, n)| (id(s), id(d), id(n)))
            .collect();
        let base = table.state_hash();
        assert_eq!(base, table.clone().state_hash());
        for (s, d, n) in table.iter() {
            let mut changed = table.clone();
            changed.insert(s, d, id(n.get() + 1));
            assert_ne!(changed.state_hash(), base, "changing {s}->{d}");
        }
        let mut extra = table.clone();
        extra.insert(id(2), id(1), id(1));
        assert_ne!(extra.state_hash(), base);
    }

    #[test]
    fn path_follows_hops_and_reports_loops() {
        let mut table = NextHopTable::new();
        table.insert(id(1), id(3), id(2));
        table.insert(id(2), id(3), id(3));
        assert_eq!(table.path(id(1), id(3)), Ok(vec![id(1), id(2), id(3)]));
        assert_eq!(
            table.path(id(3), id(1)),
            Err(PathError::Unreachable {
                src: id(3),
                dst: id(1)
            })
        );
        table.insert(id(2), id(3), id(1));
        table.insert(id(1), id(3), id(2));
        assert_eq!(
            table.path(id(1), id(3)),
            Err(PathError::Loop {
                src: id(1),
                dst: id(3),
                at: id(1)
            })
        );
    }
}
