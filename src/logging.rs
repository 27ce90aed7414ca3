//! Log filtering: the original's `LogLevel` block as `tracing` directives.
//!
//! Each of the original's categories is a tracing target: `LogTransit` →
//! `egd::transit`, `LogNormal` → `egd::normal`, `LogControl` →
//! `egd::control`, `LogInternal` → `egd::internal`, `LogNTP` → `egd::ntp`.
//! `LogLevel` sets the floor for everything; a category's flag raises its
//! target to `info` (or `debug` when the level is `verbose`). `RUST_LOG`, when
//! set, replaces all of this (the daemon decides; see `daemon::logging`).

use crate::config::{LogLevel, LogSettings};

/// The tracing target of each of the original's log categories.
pub mod target {
    pub const TRANSIT: &str = "egd::transit";
    pub const NORMAL: &str = "egd::normal";
    pub const CONTROL: &str = "egd::control";
    pub const INTERNAL: &str = "egd::internal";
    pub const NTP: &str = "egd::ntp";
}

/// An `EnvFilter` directive string for `settings`.
pub fn directives(settings: &LogSettings) -> String {
    let floor = match settings.level {
        LogLevel::Silent => return "off".to_owned(),
        LogLevel::Error => "error",
        LogLevel::Info => "info",
        LogLevel::Verbose => "debug",
    };
    let raised = if settings.level == LogLevel::Verbose {
        "debug"
    } else {
        "info"
    };
    let mut out = String::from(floor);
    for (on, t) in [
        (settings.transit, target::TRANSIT),
        (settings.normal, target::NORMAL),
        (settings.control, target::CONTROL),
        (settings.internal, target::INTERNAL),
        (settings.ntp, target::NTP),
    ] {
        out.push(',');
        out.push_str(t);
        out.push('=');
        out.push_str(if on { raised } else { floor });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(level: LogLevel, flags: bool) -> LogSettings {
        LogSettings {
            level,
            transit: flags,
            normal: flags,
            dump_normal: false,
            control: flags,
            internal: false,
            ntp: flags,
        }
    }

    #[test]
    fn level_and_categories_map_to_targets() {
        assert_eq!(
            directives(&settings(LogLevel::Error, true)),
            "error,egd::transit=info,egd::normal=info,egd::control=info,\
             egd::internal=error,egd::ntp=info"
        );
        assert_eq!(
            directives(&settings(LogLevel::Verbose, true)),
            "debug,egd::transit=debug,egd::normal=debug,egd::control=debug,\
             egd::internal=debug,egd::ntp=debug"
        );
        assert_eq!(directives(&settings(LogLevel::Silent, true)), "off");
    }
}
