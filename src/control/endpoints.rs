//! Which endpoint addresses an edge may use and in which order, and when a
//! host-name endpoint is looked up again — pure rules, no I/O.
//!
//! - [`FamilyPolicy`] (`DisabledAf`, `AfPrefer`): [`FamilyPolicy::order`]
//!   drops the families this edge disabled (it has no socket for them) and
//!   moves the preferred family first, keeping the given order otherwise
//!   (upstream tries the preferred family's candidates first the same way).
//! - [`Want`] + [`pick`]: the one address a name stands for — the
//!   supernode's `EndpointV4` only ever an IPv4 address (its V4 session
//!   belongs on the V4 socket), `EndpointV6` only IPv6, a peer's `EndPoint`
//!   the first address the policy allows.
//! - [`retry_delay`]: after a successful lookup the next one is due every
//!   `ResetEndPointInterval`; after failures sooner, 1 s, 2 s, 4 s … up to
//!   that interval, so a name that fails at boot is found quickly once DNS
//!   answers without hammering a resolver that is down.

use std::net::SocketAddr;
use std::time::Duration;

use crate::config::{AddressFamilies, AfPrefer};

/// `DisabledAf` and `AfPrefer` of one edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilyPolicy {
    pub ipv4: bool,
    pub ipv6: bool,
    pub prefer: AfPrefer,
}

impl Default for FamilyPolicy {
    /// Both families, no preference.
    fn default() -> Self {
        Self {
            ipv4: true,
            ipv6: true,
            prefer: AfPrefer::Any,
        }
    }
}

impl FamilyPolicy {
    pub fn new(af: &AddressFamilies, prefer: AfPrefer) -> Self {
        Self {
            ipv4: af.ipv4,
            ipv6: af.ipv6,
            prefer,
        }
    }

    /// Whether this edge can send to `addr` at all.
    pub fn allows(&self, addr: &SocketAddr) -> bool {
        if addr.is_ipv4() { self.ipv4 } else { self.ipv6 }
    }

    /// Drops disallowed addresses, then puts the preferred family first
    /// (a stable sort: within a family the given order stays).
    pub fn order(&self, addrs: &mut Vec<SocketAddr>) {
        addrs.retain(|a| self.allows(a));
        match self.prefer {
            AfPrefer::Any => {}
            AfPrefer::V4 => addrs.sort_by_key(|a| !a.is_ipv4()),
            AfPrefer::V6 => addrs.sort_by_key(|a| !a.is_ipv6()),
        }
    }
}

/// What a configured host name may resolve to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// `EndpointV4` of the supernode: A records only.
    V4,
    /// `EndpointV6` of the supernode: AAAA records only.
    V6,
    /// A peer's `EndPoint`: what the policy allows, preferred family first.
    Any(FamilyPolicy),
}

/// The address to use out of what a name resolved to, if any fits.
pub fn pick(addrs: &[SocketAddr], want: Want) -> Option<SocketAddr> {
    match want {
        Want::V4 => addrs.iter().find(|a| a.is_ipv4()).copied(),
        Want::V6 => addrs.iter().find(|a| a.is_ipv6()).copied(),
        Want::Any(policy) => {
            let mut ordered = addrs.to_vec();
            policy.order(&mut ordered);
            ordered.first().copied()
        }
    }
}

/// The first retry after a failed lookup.
pub const FIRST_RETRY: Duration = Duration::from_secs(1);
/// The longest wait between retries when `ResetEndPointInterval` is 0
/// (re-resolution off): a name that never resolved is still looked for.
pub const MAX_RETRY_WITHOUT_INTERVAL: Duration = Duration::from_secs(600);

/// When the next lookup of a name is due, after `failures` failed lookups
/// in a row (0: the last one succeeded). `None`: never again (it resolved
/// and `interval`, `ResetEndPointInterval`, is 0).
pub fn retry_delay(failures: u32, interval: Duration) -> Option<Duration> {
    if failures == 0 {
        return (!interval.is_zero()).then_some(interval);
    }
    let cap = if interval.is_zero() {
        MAX_RETRY_WITHOUT_INTERVAL
    } else {
        interval
    };
    // 1 s · 2^(failures-1), without overflowing for long outages.
    let shift = (failures - 1).min(30);
    Some(FIRST_RETRY.saturating_mul(1 << shift).min(cap))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn policy(ipv4: bool, ipv6: bool, prefer: AfPrefer) -> FamilyPolicy {
        FamilyPolicy { ipv4, ipv6, prefer }
    }

    /// The supernode's order: external v4, external v6, then local ones.
    fn supernode_list() -> Vec<SocketAddr> {
        [
            "198.51.100.2:1",
            "[2001:db8::2]:1",
            "192.168.1.2:1",
            "[fd00::2]:1",
        ]
        .map(a)
        .to_vec()
    }

    #[test]
    fn no_preference_keeps_the_order_and_disabled_families_go() {
        let mut l = supernode_list();
        policy(true, true, AfPrefer::Any).order(&mut l);
        assert_eq!(l, supernode_list());
        let mut l = supernode_list();
        policy(true, false, AfPrefer::Any).order(&mut l);
        assert_eq!(l, ["198.51.100.2:1", "192.168.1.2:1"].map(a).to_vec());
        let mut l = supernode_list();
        policy(false, true, AfPrefer::V4).order(&mut l);
        assert_eq!(
            l,
            ["[2001:db8::2]:1", "[fd00::2]:1"].map(a).to_vec(),
            "a preference for a disabled family changes nothing else"
        );
    }

    #[test]
    fn the_preferred_family_comes_first_in_its_own_order() {
        let mut l = supernode_list();
        policy(true, true, AfPrefer::V6).order(&mut l);
        let want = [
            "[2001:db8::2]:1",
            "[fd00::2]:1",
            "198.51.100.2:1",
            "192.168.1.2:1",
        ];
        assert_eq!(l, want.map(a).to_vec());
        let mut l = supernode_list();
        policy(true, true, AfPrefer::V4).order(&mut l);
        let want = [
            "198.51.100.2:1",
            "192.168.1.2:1",
            "[2001:db8::2]:1",
            "[fd00::2]:1",
        ];
        assert_eq!(l, want.map(a).to_vec());
    }

    #[test]
    fn pick_honours_the_family_of_the_key() {
        // What `localhost` or a dual-stack name typically resolves to.
        let both = ["[::1]:5", "127.0.0.1:5"].map(a);
        assert_eq!(pick(&both, Want::V4), Some(a("127.0.0.1:5")));
        assert_eq!(pick(&both, Want::V6), Some(a("[::1]:5")));
        assert_eq!(pick(&both[1..], Want::V6), None, "no AAAA: nothing");
        assert_eq!(pick(&both[..1], Want::V4), None, "no A: nothing");
        let any = Want::Any(policy(true, true, AfPrefer::Any));
        assert_eq!(pick(&both, any), Some(a("[::1]:5")), "resolver order");
        let v4 = Want::Any(policy(true, true, AfPrefer::V4));
        assert_eq!(pick(&both, v4), Some(a("127.0.0.1:5")));
        let no_v6 = Want::Any(policy(true, false, AfPrefer::V6));
        assert_eq!(pick(&both, no_v6), Some(a("127.0.0.1:5")));
        assert_eq!(pick(&[], any), None);
    }

    #[test]
    fn retries_back_off_to_the_interval() {
        let s = Duration::from_secs;
        let ten_min = s(600);
        let got: Vec<_> = (0..=12).map(|f| retry_delay(f, ten_min)).collect();
        let want: Vec<_> = [600, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]
            .map(|v| Some(s(v)))
            .to_vec();
        assert_eq!(got, want);
        assert_eq!(retry_delay(u32::MAX, ten_min), Some(ten_min), "no overflow");
        // A short interval caps the first retries too.
        assert_eq!(retry_delay(3, s(3)), Some(s(3)));
        // Interval 0: resolved names are not looked up again, failed ones are.
        assert_eq!(retry_delay(0, Duration::ZERO), None);
        assert_eq!(retry_delay(1, Duration::ZERO), Some(s(1)));
        assert_eq!(
            retry_delay(40, Duration::ZERO),
            Some(MAX_RETRY_WITHOUT_INTERVAL)
        );
    }
}
