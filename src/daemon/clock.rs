//! The daemon's clocks: monotonic time for the core's timers and the wall
//! clock for timestamps. The core never reads either; the daemon reads them
//! once per loop iteration and passes them in.

use std::time::{Duration, Instant, SystemTime};

/// Monotonic now.
pub fn now() -> Instant {
    Instant::now()
}

/// Wall-clock time since the Unix epoch (0 if the clock is before 1970,
/// which no working host has).
pub fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
}
