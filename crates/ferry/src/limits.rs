//! The node's connection limits and request timeouts (`[limits]`): every listener admits
//! connections through a gate with its own per-address limit and one node-wide limit, set
//! below the open-file limit so that a flood of silent connections can never take the
//! descriptors that listeners, the database and content files need.

use std::sync::Arc;
use std::time::Duration;

use ferry_core::connection_limit::NodeLimit;
use serde::Deserialize;

/// `[limits]` of the configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    /// Connections on this node, every protocol together; default: from the open-file limit.
    pub max_connections: Option<usize>,
    /// HTTP connections from one address (trusted proxies are exempt).
    pub http_connections_per_ip: Option<usize>,
    /// Time for a request's headers to arrive.
    pub header_read_timeout_seconds: Option<u64>,
    /// Longest pause inside a request body.
    pub body_read_timeout_seconds: Option<u64>,
    /// SFTP and FTPS connections must sign in within this.
    pub sign_in_timeout_seconds: Option<u64>,
    /// Uploads one user may have in progress at once on this node, every protocol together.
    pub uploads_per_user: Option<usize>,
}

/// Descriptors kept out of the connection budget: listeners, the database, logs, and the
/// files of transfers in progress beyond one per connection.
const HEADROOM: u64 = 256;
/// Descriptors one connection may need at once (a socket, a content file, an FTPS data
/// connection and its passive listener).
const PER_CONNECTION: u64 = 4;

/// The resolved limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The node-wide connection limit.
    pub node: Arc<NodeLimit>,
    /// HTTP connections per address.
    pub http_per_ip: usize,
    /// HTTP request timeouts.
    pub http: ferry_http::server::HttpTimeouts,
    /// SFTP and FTPS sign-in deadline.
    pub sign_in_timeout: Duration,
}

impl LimitsSection {
    /// The limits, raising the soft open-file limit to the hard one first (the default of
    /// 1,024 on many systems would hold a few hundred connections).
    pub fn resolve(&self) -> Limits {
        let open_files = raise_open_file_limit();
        let from_descriptors =
            (open_files.saturating_sub(HEADROOM) / PER_CONNECTION).clamp(16, 1 << 20) as usize;
        let node = self.max_connections.unwrap_or(from_descriptors).max(1);
        tracing::info!(open_files, max_connections = node, "connection limit set");
        let defaults = ferry_http::server::HttpTimeouts::default();
        Limits {
            node: NodeLimit::new(node),
            http_per_ip: self.http_connections_per_ip.unwrap_or(256).max(1),
            http: ferry_http::server::HttpTimeouts {
                header_read: self
                    .header_read_timeout_seconds
                    .map_or(defaults.header_read, |s| Duration::from_secs(s.max(1))),
                body_read: self
                    .body_read_timeout_seconds
                    .map_or(defaults.body_read, |s| Duration::from_secs(s.max(1))),
            },
            sign_in_timeout: Duration::from_secs(self.sign_in_timeout_seconds.unwrap_or(60).max(1)),
        }
    }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the soft limit in force.
fn raise_open_file_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if let (Some(current), hard) = (limit.current, limit.maximum)
        && hard.is_none_or(|h| h > current)
    {
        // No hard limit means unlimited: a million is plenty and stays a sane number.
        limit.current = Some(hard.unwrap_or(1 << 20));
        if let Err(e) = setrlimit(Resource::Nofile, limit) {
            tracing::warn!(error = %e, "cannot raise the open-file limit");
        }
    }
    getrlimit(Resource::Nofile).current.unwrap_or(1 << 20)
}
