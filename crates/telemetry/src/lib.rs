//! Telemetry: every metric Switchyard exports is declared here, with labels from enums or from
//! configuration names (never from error strings or client input), and the log subscriber set-up.

pub mod metrics;
pub use metrics::*;

/// Installs the global log subscriber: human-readable lines on stderr, filtered by
/// `SWITCHYARD_LOG` (or `RUST_LOG`), default `info`.
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("SWITCHYARD_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .and_then(|s| EnvFilter::try_new(s).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal: not in files, journald or a container's log.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}
