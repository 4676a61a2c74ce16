//! Structured logs to standard error, as text or JSON lines. The filter comes from `FERRY_LOG`
//! (or `RUST_LOG`), default `info`. Nothing logged anywhere in Ferry carries a password, a
//! session ID or a token (sessions appear as their one-way tag).

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Installs the global subscriber. `default_filter` applies when neither variable is set:
/// the server logs at `info`, the administrative commands only at `warn` so that their output
/// stays what the command printed.
pub fn init(format: LogFormat, default_filter: &str) {
    let filter = std::env::var("FERRY_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
