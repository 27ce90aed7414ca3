//! Which offloads a tap accepted (`TUNSETOFFLOAD` flags, include/uapi/linux/if_tun.h).

use std::fmt;

/// The offloads enabled on a tap. A tap with `IFF_VNET_HDR` but none of
/// these still works: every header is then plain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features {
    /// `TUN_F_CSUM`: frames may carry a partial checksum (`NEEDS_CSUM`).
    pub csum: bool,
    /// `TUN_F_TSO4` / `TUN_F_TSO6`: TCP GSO frames.
    pub tso4: bool,
    pub tso6: bool,
    /// `TUN_F_TSO_ECN`: TSO frames may carry CWR.
    pub tso_ecn: bool,
    /// `TUN_F_USO4` / `TUN_F_USO6` (Linux ≥ 6.2): UDP GSO frames.
    pub uso4: bool,
    pub uso6: bool,
}

const CSUM: u32 = 0x01;
const TSO4: u32 = 0x02;
const TSO6: u32 = 0x04;
const TSO_ECN: u32 = 0x08;
const USO4: u32 = 0x20;
const USO6: u32 = 0x40;

impl Features {
    /// Everything this crate can segment.
    pub const ALL: Features = Features {
        csum: true,
        tso4: true,
        tso6: true,
        tso_ecn: true,
        uso4: true,
        uso6: true,
    };

    /// The same without USO (kernels before 6.2 refuse the whole set).
    pub fn without_uso(self) -> Features {
        Features {
            uso4: false,
            uso6: false,
            ..self
        }
    }

    /// The `TUNSETOFFLOAD` argument.
    pub fn tun_flags(self) -> u32 {
        [
            (self.csum, CSUM),
            (self.tso4, TSO4),
            (self.tso6, TSO6),
            (self.tso_ecn, TSO_ECN),
            (self.uso4, USO4),
            (self.uso6, USO6),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .fold(0, |acc, (_, bit)| acc | bit)
    }
}

impl fmt::Display for Features {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (self.csum, "csum"),
            (self.tso4, "tso4"),
            (self.tso6, "tso6"),
            (self.tso_ecn, "tso-ecn"),
            (self.uso4, "uso4"),
            (self.uso6, "uso6"),
        ];
        let mut first = true;
        for (_, name) in names.into_iter().filter(|(on, _)| *on) {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(name)?;
            first = false;
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_match_if_tun_h() {
        assert_eq!(Features::ALL.tun_flags(), 0x6f);
        assert_eq!(Features::ALL.without_uso().tun_flags(), 0x0f);
        assert_eq!(libc::TUN_F_USO6, USO6);
        assert_eq!(libc::TUN_F_TSO_ECN, TSO_ECN);
        assert_eq!(
            Features::ALL.without_uso().to_string(),
            "csum tso4 tso6 tso-ecn"
        );
        assert_eq!(Features::default().to_string(), "none");
    }
}
