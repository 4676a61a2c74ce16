//! `GetServerSettings` and `GetDataCenterSettings` (SARG 2.2): what a signed-in client may know
//! of this server's rules, so that it can follow them instead of learning them from refusals.
//! SARG publishes the calls' names and their structure's name (`FTHServerSettingData`), not its
//! fields: these are Ferry's, each one a rule the Service enforces (docs/thru-compatibility.md).
//! Nothing here helps an attacker: no lock-out thresholds, addresses or keys.

use super::metadata::MAX_METADATA_VALUE;
use super::{MAX_PAGE, Service, SessionContext};
use crate::domain::metadata::MAX_METADATA_ITEMS;
use crate::text::MIN_PASSWORD_CHARS;

/// The server's rules, as `FTHServerSettingData` carries them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// The product's version.
    pub version: &'static str,
    /// Hours an immutable session lives (`OpenImmutable` and the impersonating calls).
    pub immutable_session_hours: i64,
    /// Minutes a web-client session lives unused.
    pub web_session_idle_minutes: i64,
    /// Minutes a web-client session lives at most from its sign-in, however busy.
    pub web_session_max_minutes: i64,
    /// Hours a deleted file's content is kept before it is purged (whole hours).
    pub deleted_file_retention_hours: i64,
    /// Fewest characters of a password that is set.
    pub min_password_length: i64,
    /// Most items one page of a listing or search answers.
    pub max_page_size: i64,
    /// Most metadata items on one folder or file.
    pub max_metadata_items: i64,
    /// Longest metadata value, in characters.
    pub max_metadata_length: i64,
    /// Whether `OpenWithTicket` and its siblings are configured.
    pub ticket_sign_in: bool,
    /// Whether the browser tools (upload and download links) are configured.
    pub browser_tools: bool,
    /// Whether users may set up two-step sign-in.
    pub second_factor: bool,
    /// The caller's storage quota in bytes (0: none): the account's own, else the server's.
    pub storage_quota_bytes: i64,
}

const HOUR_MS: i64 = 3600 * 1000;

impl Service {
    /// `GetServerSettings` and `GetDataCenterSettings`: the same answer, since a Ferry site is
    /// one server (every node of a cluster serves it with one configuration). Needs a live
    /// session, so that an anonymous caller learns nothing.
    pub fn server_settings(&self, ctx: &SessionContext) -> ServerSettings {
        let c = &self.config;
        ServerSettings {
            version: env!("CARGO_PKG_VERSION"),
            immutable_session_hours: c.immutable_session_ttl_ms / HOUR_MS,
            web_session_idle_minutes: c.web_idle_ms / 60_000,
            web_session_max_minutes: c.web_max_ms / 60_000,
            deleted_file_retention_hours: c.purge_after_ms / HOUR_MS,
            min_password_length: MIN_PASSWORD_CHARS as i64,
            max_page_size: MAX_PAGE,
            max_metadata_items: MAX_METADATA_ITEMS,
            max_metadata_length: MAX_METADATA_VALUE as i64,
            ticket_sign_in: c.tickets.is_some(),
            browser_tools: c.tools.is_some(),
            second_factor: c.totp.is_some(),
            storage_quota_bytes: ctx
                .user
                .quota
                .bound(c.user_quota)
                .map_or(0, |n| i64::try_from(n).unwrap_or(i64::MAX)),
        }
    }
}
