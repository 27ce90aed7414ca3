//! Choosing a clock offset from SNTP answers (docs/system.md#ntp), pure: the first
//! sync asks every server, later syncs only the `MaxServerUse` with the
//! shortest round trips; the offset applied is the median of the answers
//! (robust against one wrong server). The daemon does the asking
//! (`crate::daemon::ntp`).

use std::time::Duration;

/// One server's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Index into the configured server list.
    pub server: usize,
    /// Server's clock minus ours, ns.
    pub offset_ns: i64,
    pub round_trip: Duration,
}

/// The indices of the `max` servers with the shortest round trips.
pub fn fastest(samples: &[Sample], max: usize) -> Vec<usize> {
    let mut by_rtt: Vec<&Sample> = samples.iter().collect();
    by_rtt.sort_by_key(|s| (s.round_trip, s.server));
    by_rtt.iter().take(max.max(1)).map(|s| s.server).collect()
}

/// The median offset (the mean of the middle two for an even count).
pub fn median_offset(samples: &[Sample]) -> Option<i64> {
    let mut offsets: Vec<i64> = samples.iter().map(|s| s.offset_ns).collect();
    offsets.sort_unstable();
    let n = offsets.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(offsets[n / 2]),
        _ => Some(((i128::from(offsets[n / 2 - 1]) + i128::from(offsets[n / 2])) / 2) as i64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(server: usize, offset_ns: i64, rtt_ms: u64) -> Sample {
        Sample {
            server,
            offset_ns,
            round_trip: Duration::from_millis(rtt_ms),
        }
    }

    #[test]
    fn median_resists_one_wrong_server() {
        assert_eq!(median_offset(&[]), None);
        assert_eq!(median_offset(&[s(0, 5, 1)]), Some(5));
        assert_eq!(
            median_offset(&[s(0, 3, 1), s(1, 1, 1), s(2, 9_000_000_000, 1)]),
            Some(3)
        );
        assert_eq!(median_offset(&[s(0, 2, 1), s(1, 4, 1)]), Some(3));
        assert_eq!(
            median_offset(&[s(0, i64::MAX, 1), s(1, i64::MAX, 1)]),
            Some(i64::MAX)
        );
    }

    #[test]
    fn fastest_servers_by_round_trip() {
        let samples = [s(0, 0, 30), s(1, 0, 5), s(2, 0, 10), s(3, 0, 5)];
        assert_eq!(fastest(&samples, 2), vec![1, 3]);
        assert_eq!(fastest(&samples, 10), vec![1, 3, 2, 0]);
        assert_eq!(fastest(&samples, 0), vec![1], "at least one");
    }
}
