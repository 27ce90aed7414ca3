//! Installs the process-wide `tracing` subscriber: plain lines on stderr,
//! without colours, and without timestamps when journald is the reader
//! (it stamps lines itself; `JOURNAL_STREAM` tells).

use tracing_subscriber::EnvFilter;

use crate::config::LogSettings;

/// Sets up logging once; `RUST_LOG` overrides the config's `LogLevel` block.
pub fn init(settings: Option<&LogSettings>) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => EnvFilter::new(v),
        _ => EnvFilter::new(
            settings
                .map(crate::logging::directives)
                .unwrap_or_else(|| "warn".to_owned()),
        ),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    // A second call (tests) keeps the first subscriber; that is fine.
    let _ = if std::env::var_os("JOURNAL_STREAM").is_some() {
        builder.without_time().try_init()
    } else {
        builder.try_init()
    };
}
