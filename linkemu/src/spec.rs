//! The text form of a [`Direction`], shared by the command line
//! (`--a-to-b delay=30ms,jitter=2ms,loss=0.05`) and the control channel
//! (`set a_to_b delay=10ms loss=0`).
//!
//! How to drive it: `"delay=30ms".parse::<Direction>()` starts from
//! [`Direction::default()`]; [`Direction::updated`] changes only the keys the
//! text names, which is what a run-time `set` wants. `Display` prints every
//! key in the same form, so printing and parsing round-trip.
//!
//! The grammar is on [`Direction::updated`], where rustdoc shows it.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::direction::Direction;

/// Why a direction spec was refused; names the offending item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError(String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

impl FromStr for Direction {
    type Err = SpecError;

    /// A spec over [`Direction::default()`].
    fn from_str(text: &str) -> Result<Self, SpecError> {
        Direction::default().updated(text)
    }
}

impl Direction {
    /// This direction with the keys named in `text` changed; the result is
    /// validated (a `loss` outside `[0, 1]` is refused here, with its key).
    ///
    /// Grammar: `key=value` items separated by commas and/or whitespace.
    ///
    /// | key | value |
    /// |---|---|
    /// | `delay`, `jitter` | a duration: decimal number and unit `ns`, `us`/`µs`, `ms`, `s` (`30ms`, `1.5s`); a bare `0` |
    /// | `loss` | a probability `0.05`, or a percentage `5%` |
    /// | `reorder`, `up` | `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`) |
    /// | `mtu` | a payload size in bytes, or `none` |
    pub fn updated(mut self, text: &str) -> Result<Self, SpecError> {
        let items = text.split(|c: char| c == ',' || c.is_whitespace());
        for item in items.filter(|item| !item.is_empty()) {
            let Some((key, value)) = item.split_once('=') else {
                return Err(SpecError(format!(
                    "`{item}` is not key=value (keys: delay, jitter, loss, reorder, mtu, up)"
                )));
            };
            let bad = |what: &str| SpecError(format!("{key}: `{value}` is not {what}"));
            match key {
                "delay" => {
                    self.delay = parse_duration(value).ok_or_else(|| bad(DURATION_HINT))?;
                }
                "jitter" => {
                    self.jitter = parse_duration(value).ok_or_else(|| bad(DURATION_HINT))?;
                }
                "loss" => {
                    self.loss = parse_probability(value)
                        .ok_or_else(|| bad("a probability in [0, 1] (like 0.05 or 5%)"))?;
                }
                "reorder" => {
                    self.reorder = parse_bool(value).ok_or_else(|| bad("true or false"))?
                }
                "up" => self.up = parse_bool(value).ok_or_else(|| bad("true or false"))?,
                "mtu" => {
                    self.mtu = parse_mtu(value).ok_or_else(|| bad("a size in bytes or none"))?;
                }
                _ => {
                    return Err(SpecError(format!(
                        "unknown key `{key}` (keys: delay, jitter, loss, reorder, mtu, up)"
                    )));
                }
            }
        }
        self.validate().map_err(|e| SpecError(e.to_string()))?;
        Ok(self)
    }
}

impl fmt::Display for Direction {
    /// Every key, comma-separated, in the form [`Direction::updated`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "delay={},jitter={},loss={},reorder={},mtu=",
            DurationText(self.delay),
            DurationText(self.jitter),
            self.loss,
            self.reorder
        )?;
        match self.mtu {
            Some(mtu) => write!(f, "{mtu}")?,
            None => f.write_str("none")?,
        }
        write!(f, ",up={}", self.up)
    }
}

const DURATION_HINT: &str = "a duration (like 30ms, 1.5s, 200us or 0)";

/// A duration printed exactly in the largest unit that divides it, ASCII only
/// (`1500us`, not `1.5ms` or `1.5µs`), so it parses back to the same value.
struct DurationText(Duration);

impl fmt::Display for DurationText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.as_nanos();
        if nanos == 0 {
            return f.write_str("0");
        }
        for (unit, per) in [("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)] {
            if nanos.is_multiple_of(per) {
                return write!(f, "{}{unit}", nanos / per);
            }
        }
        write!(f, "{nanos}ns")
    }
}

/// `30ms`, `1.5s`, `200us`, `0`. Exact decimal arithmetic (no floats), so
/// `0.1s` is 100 ms exactly; digits below a nanosecond are cut off.
fn parse_duration(text: &str) -> Option<Duration> {
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = text.split_at(split);
    let nanos_per_unit: u128 = match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        _ => return None,
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let digits = |s: &str| s.is_empty() || s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) || fraction.len() > 18 {
        return None;
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut nanos = whole.checked_mul(nanos_per_unit)?;
    if !fraction.is_empty() {
        let scale = 10u128.pow(u32::try_from(fraction.len()).ok()?);
        let fraction: u128 = fraction.parse().ok()?;
        nanos = nanos.checked_add(fraction * nanos_per_unit / scale)?;
    }
    let secs = u64::try_from(nanos / 1_000_000_000).ok()?;
    // The remainder of a division by 10⁹ always fits a u32.
    let sub = u32::try_from(nanos % 1_000_000_000).ok()?;
    Some(Duration::new(secs, sub))
}

/// `0.05` or `5%`, within `[0, 1]`.
fn parse_probability(text: &str) -> Option<f64> {
    let value = match text.strip_suffix('%') {
        Some(percent) => percent.parse::<f64>().ok()? / 100.0,
        None => text.parse::<f64>().ok()?,
    };
    (0.0..=1.0).contains(&value).then_some(value)
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn parse_mtu(text: &str) -> Option<Option<usize>> {
    match text {
        "none" | "off" => Some(None),
        _ => text.parse().ok().map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn durations_parse_exactly() {
        let table = [
            ("0", Duration::ZERO),
            ("30ms", ms(30)),
            ("1.5s", ms(1500)),
            ("0.1s", ms(100)),
            ("200us", Duration::from_micros(200)),
            ("200µs", Duration::from_micros(200)),
            ("7ns", Duration::from_nanos(7)),
            (".5ms", Duration::from_micros(500)),
            ("2.ms", ms(2)),
        ];
        for (text, want) in table {
            assert_eq!(parse_duration(text), Some(want), "{text}");
        }
        for bad in [
            "", "30", "ms", ".ms", "3x", "-1ms", "1.2.3ms", "1e3ms", "30 ms", "1 s",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?} accepted");
        }
    }

    #[test]
    fn spec_sets_named_keys_and_keeps_the_rest() {
        let d: Direction = "delay=30ms,jitter=2ms,loss=0.05".parse().unwrap();
        assert_eq!(d.delay, ms(30));
        assert_eq!(d.jitter, ms(2));
        assert_eq!(d.loss, 0.05);
        assert!(d.up && !d.reorder && d.mtu.is_none());
        let d = d
            .updated("delay=10ms loss=5%  up=false, mtu=1400 reorder=on")
            .unwrap();
        assert_eq!(d.delay, ms(10));
        assert_eq!(d.jitter, ms(2), "jitter kept");
        assert_eq!(d.loss, 0.05);
        assert_eq!(d.mtu, Some(1400));
        assert!(!d.up && d.reorder);
        assert_eq!(d.updated("mtu=none").unwrap().mtu, None);
        assert_eq!(d.updated("").unwrap(), d, "empty spec changes nothing");
    }

    #[test]
    fn errors_name_the_bad_item() {
        let err = |text: &str| text.parse::<Direction>().unwrap_err().to_string();
        assert!(
            err("delay=abc").contains("delay: `abc`"),
            "{}",
            err("delay=abc")
        );
        assert!(err("loss=1.5").contains("loss: `1.5`"));
        assert!(err("loss=NaN").contains("loss"));
        assert!(err("speed=1").contains("unknown key `speed`"));
        assert!(err("delay").contains("`delay` is not key=value"));
        assert!(err("up=maybe").contains("up: `maybe`"));
        assert!(err("mtu=-1").contains("mtu: `-1`"));
    }

    #[test]
    fn display_round_trips() {
        let d = Direction {
            delay: Duration::from_micros(1500),
            jitter: Duration::from_nanos(3),
            loss: 0.125,
            reorder: true,
            mtu: Some(1280),
            up: false,
        };
        let text = d.to_string();
        assert_eq!(
            text,
            "delay=1500us,jitter=3ns,loss=0.125,reorder=true,mtu=1280,up=false"
        );
        assert_eq!(text.parse::<Direction>().unwrap(), d);
        let plain = Direction::default();
        assert_eq!(plain.to_string().parse::<Direction>().unwrap(), plain);
        assert_eq!(DurationText(Duration::from_secs(2)).to_string(), "2s");
    }
}
