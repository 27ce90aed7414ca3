//! The daemon's clocks: monotonic time for the core's timers and the wall
//! clock for timestamps. The core never reads either; the daemon reads them
//! once per loop iteration and passes them in.
//!
//! Test hook: `EGD_TEST_CLOCK_OFFSET_MS` (signed integer milliseconds, read
//! once) shifts the wall clock this process reports, so a test can run
//! edges whose clocks disagree by seconds (docs/system.md#one-way-latency) on one machine.

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

/// Monotonic now.
pub fn now() -> Instant {
    Instant::now()
}

/// Wall-clock time since the Unix epoch (0 if the clock is before 1970,
/// which no working host has), plus the test offset if one is set.
pub fn unix_now() -> Duration {
    let t = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let offset = test_offset_ms();
    let shift = Duration::from_millis(offset.unsigned_abs());
    if offset < 0 {
        t.saturating_sub(shift)
    } else {
        t + shift
    }
}

/// `EGD_TEST_CLOCK_OFFSET_MS`, or 0 (also when unparsable: logged once).
pub fn test_offset_ms() -> i64 {
    static OFFSET: OnceLock<i64> = OnceLock::new();
    *OFFSET.get_or_init(|| {
        let Ok(raw) = std::env::var("EGD_TEST_CLOCK_OFFSET_MS") else {
            return 0;
        };
        match raw.trim().parse::<i64>() {
            Ok(v) => {
                tracing::warn!(target: crate::logging::target::NTP, "test clock offset: wall clock shifted by {v} ms (EGD_TEST_CLOCK_OFFSET_MS)");
                v.clamp(-86_400_000, 86_400_000)
            }
            Err(_) => {
                tracing::warn!(target: crate::logging::target::NTP, "EGD_TEST_CLOCK_OFFSET_MS={raw:?} is not an integer; ignored");
                0
            }
        }
    })
}
