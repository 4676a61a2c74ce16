//! The Service: the one place where operations are authenticated, permitted, carried out and
//! audited. Front ends hold an `Arc<Service>` and call its methods; it holds the store port,
//! the clock and the password hasher.

mod access_ids;
mod address_gate;
mod admin;
mod archive_contents;
mod audit_reads;
mod audit_trail;
mod browse;
mod change_races;
mod content_upkeep;
mod directory;
mod download_record;
mod download_tally;
mod downloads;
mod file_changes;
mod files;
mod folder_deletion;
mod folder_depth;
mod folders;
mod groups;
pub mod hash_slots;
mod leases;
mod link_downloads;
mod listing_pages;
mod lockout;
mod lockout_admin;
mod metadata;
mod passwords;
mod path_upload;
mod permission_page;
mod permissions;
mod recheck;
mod refusals;
mod resumable;
mod resumable_audit;
mod search;
mod second_factor;
mod server_settings;
mod session_admin;
mod session_bounds;
mod sessions;
mod share_links;
mod signin;
mod signin_guard;
mod signin_requests;
mod ssh_keys;
mod start_folder;
mod storage_quota;
mod tickets;
mod tool_grants;
mod tools;
mod tree;
mod upload;
mod upload_record;
mod versions;

use std::net::IpAddr;
use std::sync::Arc;

use ferry_crypto::PasswordHasher;
use hash_slots::{HashSlots, HashTicket};

use crate::clock::Clock;
use crate::content::ContentStore;
use crate::domain::{Application, ApplicationId, AuditEntry, Session, User, UserId, application};
use crate::error::{Error, Result};
use crate::store::MetadataStore;

pub use admin::NewUserRequest;
pub use archive_contents::{ArchiveContents, ArchiveRoot};
pub use audit_trail::{AuditVerification, BrokenLink, parse_anchor};
pub use browse::{
    Crumb, FILE_ACTIVITY, FILE_COUNT_CAP, FILE_VERSIONS_SHOWN, FOLDERS_SHOWN, FilePage, FolderPage,
    FolderPageRequest, PageStart,
};
pub use directory::{DirectoryEntry, DomainUserRequest, SyncOptions, SyncSummary};
pub use download_record::Recorded;
pub use download_tally::{DownloadTally, TalliedReader};
pub use downloads::Download;
pub use files::{FileView, MAX_PAGE, MAX_WHOLE_VERSIONS};
pub use folders::{FolderView, MAX_WHOLE_FOLDERS};
pub use leases::lease_for;
pub use link_downloads::MAX_LINK_DOWNLOADS;
pub use listing_pages::{FilePages, FolderPages, TreeListing};
pub use lockout::LockoutPolicy;
pub(crate) use lockout::address_network;
pub use metadata::MAX_METADATA_VALUE;
pub use permission_page::{GranteeName, PermissionsPage};
pub use permissions::GrantRequest;
pub use resumable::{HOLD_MS, RENEW_EVERY};
pub use search::{SearchKinds, SearchResult};
pub use second_factor::{
    RECOVERY_CODES, SecondFactorStatus, TotpEnrollment, TotpSettings, passcode_shaped,
};
pub use server_settings::ServerSettings;
pub use session_admin::{MAX_LISTED_SESSIONS, SessionSummary};
pub use sessions::SESSION_RECHECK;
pub use share_links::{ShareRequest, SharedLink};
pub use signin_requests::{ImpersonateRequest, OpenMode, OpenRequest};
pub use tickets::{TicketExRequest, TicketRequest, TicketSettings};
pub use tools::{ToolAccess, ToolGrant, ToolKind, ToolLimits, ToolSettings};
pub use tree::{MAX_PATH_BYTES, TreeNode, path_names};
pub use upload::{MAX_UNWRITTEN, PendingAppend, Upload, UploadCheckpoint, UploadRequest};

/// Tunables of the Service. Defaults follow DESIGN.md.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Age at which immutable sessions are removed (DESIGN.md: 48 hours).
    pub immutable_session_ttl_ms: i64,
    /// How long a web-client session ([`application::WEB_CLIENT`]) lives unused: each use
    /// moves its expiry this far ahead (default 30 minutes).
    pub web_idle_ms: i64,
    /// The most a web-client session lives however busy, from its sign-in (default 12
    /// hours, OWASP ASVS 3.3.2's level 2): a session taken from a browser cannot be kept
    /// alive forever by using it, and the person signs in again, second factor and all.
    pub web_max_ms: i64,
    /// Brute-force protection.
    pub lockout: LockoutPolicy,
    /// How many password hashes may be computed at once; each takes the configured Argon2
    /// memory, so this bounds memory under a flood of sign-ins.
    pub max_concurrent_hashes: usize,
    /// How long a deleted file's content is kept before it is purged.
    pub purge_after_ms: i64,
    /// Most uploads one user may have in progress at once on this node, over every protocol
    /// together: each holds up to two 1 MiB blocks until it ends.
    pub max_uploads_per_user: usize,
    /// Most immutable sign-in sessions one user holds at once (their shared links' apart): a
    /// new one ends the least recently used beyond it ([`session_bounds`]).
    pub max_sessions_per_user: usize,
    /// Files of at most this many bytes keep their content in the metadata store, written with
    /// their version ([`crate::inline_content`]); 0 keeps every file in the content store.
    pub inline_max_bytes: usize,
    /// The storage quota of every user whose account sets none of its own
    /// ([`crate::domain::quota`]); `None`: no bound.
    pub user_quota: Option<u64>,
    /// Ticket sign-in; `None` turns it off.
    pub tickets: Option<Arc<TicketSettings>>,
    /// The browser tools' tokens; `None` turns the tools off.
    pub tools: Option<Arc<ToolSettings>>,
    /// Two-step sign-in; `None` turns enrolment off (see [`second_factor`]).
    pub totp: Option<Arc<TotpSettings>>,
}

/// Uploads one user may have in progress at once by default: above the 64 clients of one
/// account that `bench/small_files.sh` runs, and at most 256 MiB of buffers.
pub const DEFAULT_MAX_UPLOADS_PER_USER: usize = 128;

/// Uploads in progress at once through one browser tool's token (a shared link, or a token an
/// integration issued for someone): the page uploads as the token's user, and whoever holds
/// it may take this many of that user's [`ServiceConfig::max_uploads_per_user`] places and no
/// more.
pub const MAX_UPLOADS_PER_PAGE: usize = 16;

/// Immutable sign-in sessions one user holds at once by default: far above what a client
/// that closes its sessions needs, and still a bounded set to end when the user is disabled.
pub const DEFAULT_MAX_SESSIONS_PER_USER: usize = 1_000;

/// Files up to 16 KiB keep their content in the metadata store by default: EDI messages,
/// statements and the like, whose three fsyncs cost more than their bytes.
pub const DEFAULT_INLINE_MAX_BYTES: usize = 16 * 1024;

impl ServiceConfig {
    /// A web session's expiry once used at `now`: idle time ahead, but never past its
    /// greatest age from `created`.
    pub fn web_expiry(&self, created: crate::Timestamp, now: crate::Timestamp) -> crate::Timestamp {
        let idle = now.plus_millis(self.web_idle_ms);
        let oldest = created.plus_millis(self.web_max_ms);
        if idle.0 <= oldest.0 { idle } else { oldest }
    }
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            immutable_session_ttl_ms: 48 * 3600 * 1000,
            web_idle_ms: 30 * 60 * 1000,
            web_max_ms: 12 * 3600 * 1000,
            lockout: LockoutPolicy::default(),
            max_concurrent_hashes: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            purge_after_ms: 30 * 24 * 3600 * 1000,
            inline_max_bytes: DEFAULT_INLINE_MAX_BYTES,
            user_quota: None,
            max_uploads_per_user: DEFAULT_MAX_UPLOADS_PER_USER,
            max_sessions_per_user: DEFAULT_MAX_SESSIONS_PER_USER,
            tickets: None,
            tools: None,
            totp: None,
        }
    }
}

/// Who is on the other end of a call, as the front end saw it.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The client's address (the socket's, or a trusted proxy's report of it).
    pub ip: Option<IpAddr>,
    /// The client software, when the protocol tells it (an SSH version string, a User-Agent).
    pub client_version: Option<String>,
}

/// Who performs an administrative operation.
#[derive(Debug, Clone)]
pub enum Actor {
    /// An operator at the `ferry` command line (application 4), named by their OS account.
    Cli {
        /// The operating-system account running the command, if known: recorded as the
        /// external user of every audit record the command writes.
        os_user: Option<String>,
    },
    /// A signed-in user of the API.
    Session(Box<SessionContext>),
}

impl Actor {
    /// Fills the "who" fields of an audit entry.
    fn stamp(&self, entry: &mut AuditEntry) {
        match self {
            Actor::Cli { os_user } => {
                entry.application_id = Some(application::ADMIN_CLI);
                entry.client_version =
                    Some(concat!("ferry-cli/", env!("CARGO_PKG_VERSION")).into());
                // Every record of the command names who ran it, whatever its detail says.
                entry.external_user = os_user.clone();
            }
            Actor::Session(ctx) => ctx.stamp(entry),
        }
    }
}

/// A session that was presented and found alive, with its user and the address it was
/// presented from.
#[derive(Debug, Clone)]
pub struct SessionContext {
    /// The session.
    pub session: Session,
    /// Its user, active.
    pub user: User,
    /// Where this request (or connection) came from: recorded on every audit record made
    /// through it, whatever address the session was opened from.
    pub client_ip: Option<String>,
    /// For a browser tool's page (a shared link, an integration's token), its token's digest:
    /// the page's own count of uploads in progress ([`MAX_UPLOADS_PER_PAGE`]).
    pub tool_page: Option<String>,
}

impl SessionContext {
    /// Fills the "who" fields of an audit entry from this session and this request.
    pub fn stamp(&self, entry: &mut AuditEntry) {
        entry.user_id = Some(self.user.id);
        entry.impersonator_id = self.session.impersonator_id;
        entry.application_id = Some(self.session.application_id);
        entry.client_version = self.session.client_version.clone();
        entry.client_ip = self
            .client_ip
            .clone()
            .or_else(|| self.session.client_ip.clone());
        if self.session.impersonator_id.is_some() {
            // The impersonated user's workstation, as the service declared it.
            entry.declared_ip = self.session.client_ip.clone();
        }
        entry.external_user = self.session.external_user.clone();
        entry.session_tag = Some(self.session.key.tag());
    }
}

impl Caller {
    /// The address as the audit and the store write it.
    pub fn ip_text(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_canonical().to_string())
    }
}

/// The Service. See the module documentation.
pub struct Service {
    store: Arc<dyn MetadataStore>,
    content: Arc<dyn ContentStore>,
    clock: Arc<dyn Clock>,
    hasher: Arc<PasswordHasher>,
    hash_slots: Arc<HashSlots>,
    /// One token or ticket check at a time per client address ([`address_gate`]).
    address_gate: address_gate::AddressGate,
    config: ServiceConfig,
    refusals: std::sync::Mutex<refusals::RefusalTallies>,
    /// Uploads in progress per user on this node.
    uploads: Arc<crate::connection_limit::Limit<UserId>>,
    /// Uploads in progress through each browser tool's token ([`MAX_UPLOADS_PER_PAGE`]).
    page_uploads: Arc<crate::connection_limit::Limit<String>>,
    /// Bytes of each user's uploads in progress on this node, for their quota.
    staged_bytes: Arc<storage_quota::StagedBytes>,
    /// This process's name in the connection counts (a new one at every start: a node that
    /// restarts holds none of its old connections, which run out).
    holder: String,
}

impl Service {
    /// A Service over `store`, telling time by `clock`.
    pub fn new(
        store: Arc<dyn MetadataStore>,
        content: Arc<dyn ContentStore>,
        clock: Arc<dyn Clock>,
        hasher: PasswordHasher,
        config: ServiceConfig,
    ) -> Self {
        let content: Arc<dyn ContentStore> = Arc::new(crate::inline_content::WithInline {
            inner: content,
            store: Arc::clone(&store),
        });
        Service {
            store,
            content,
            clock,
            hasher: Arc::new(hasher),
            hash_slots: HashSlots::new(config.max_concurrent_hashes),
            address_gate: address_gate::AddressGate::default(),
            uploads: crate::connection_limit::Limit::new(config.max_uploads_per_user),
            page_uploads: crate::connection_limit::Limit::new(MAX_UPLOADS_PER_PAGE),
            staged_bytes: Default::default(),
            config,
            refusals: Default::default(),
            holder: uuid::Uuid::new_v4().simple().to_string(),
        }
    }

    /// Renews the signed-in connections this process counts, so that they go on counting
    /// ([`crate::connection_counts`]); called every
    /// [`crate::connection_counts::CONNECTION_RENEW_EVERY`]. Returns how many.
    pub async fn renew_connection_counts(&self) -> Result<u64> {
        Ok(self.store.renew_connections(&self.holder).await?)
    }

    /// The configuration in force.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// Whether the metadata store and the content store answer (for readiness probes: a
    /// balancer stops sending a node traffic that either has gone away from).
    pub async fn ready(&self) -> Result<()> {
        self.store.ping().await?;
        Ok(self.content.check().await?)
    }

    /// Number of sessions alive now (for metrics).
    pub async fn live_session_count(&self) -> Result<i64> {
        Ok(self.store.count_live_sessions(self.clock.now()).await?)
    }

    /// Runs a password-hasher job on the blocking pool, at most `max_concurrent_hashes` at
    /// once, waiting for a slot in `ticket`'s lane (see [`hash_slots`]).
    async fn with_hasher<T, F>(&self, ticket: HashTicket, job: F) -> Result<T>
    where
        F: FnOnce(&PasswordHasher) -> T + Send + 'static,
        T: Send + 'static,
    {
        let slot = self.hash_slots.acquire(ticket).await?;
        self.hash_in(&slot, job).await
    }

    /// Runs a password-hasher job on the blocking pool in a hashing slot the caller holds
    /// (and keeps past the job: a sign-in records its failure first, [`Service::signin_slot`]).
    async fn hash_in<T, F>(&self, _slot: &hash_slots::Slot, job: F) -> Result<T>
    where
        F: FnOnce(&PasswordHasher) -> T + Send + 'static,
        T: Send + 'static,
    {
        let hasher = Arc::clone(&self.hasher);
        tokio::task::spawn_blocking(move || job(&hasher))
            .await
            .map_err(|e| Error::Internal(format!("password hashing task failed: {e}")))
    }

    /// Hashes a new password (already validated).
    async fn hash_password(&self, password: String) -> Result<String> {
        self.with_hasher(HashTicket::ADMIN, move |h| h.hash(&password))
            .await?
            .map_err(|e| Error::Internal(e.to_string()))
    }

    /// The application if it may open sessions: registered and enabled.
    async fn usable_application(&self, id: ApplicationId) -> Result<Application> {
        match self.store.application(id).await? {
            Some(app) if app.enabled => Ok(app),
            _ => Err(Error::UnknownApplication),
        }
    }

    /// The application a sign-in through the public API names (`Open*`, the tickets,
    /// impersonation): registered, enabled and not reserved for Ferry's own front ends. The
    /// inner error is the reason for the audit; the caller answers
    /// [`Error::UnknownApplication`] either way.
    async fn client_application(
        &self,
        id: ApplicationId,
    ) -> Result<std::result::Result<Application, &'static str>> {
        self.signin_application(id, true).await
    }

    /// [`Service::client_application`] when `public`; otherwise a front end of Ferry's own
    /// signing in to its reserved application.
    async fn signin_application(
        &self,
        id: ApplicationId,
        public: bool,
    ) -> Result<std::result::Result<Application, &'static str>> {
        if public && application::is_reserved(id) {
            return Ok(Err("application ID reserved for Ferry's own front ends"));
        }
        match self.usable_application(id).await {
            Ok(app) => Ok(Ok(app)),
            Err(Error::UnknownApplication) => Ok(Err("unknown or disabled application")),
            Err(e) => Err(e),
        }
    }
}

/// Validates an optional free-text parameter and turns empty text into `None`.
fn optional_text(param: &str, value: Option<String>, max_chars: usize) -> Result<Option<String>> {
    match value {
        Some(v) => {
            crate::text::plain(param, &v, max_chars)?;
            Ok(if v.is_empty() { None } else { Some(v) })
        }
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::ServiceConfig;
    use crate::Timestamp;

    #[test]
    fn a_web_session_slides_with_use_but_not_past_its_greatest_age() {
        let c = ServiceConfig {
            web_idle_ms: 30 * 60_000,
            web_max_ms: 12 * 3_600_000,
            ..ServiceConfig::default()
        };
        let signed_in = Timestamp(1_000_000);
        // Used an hour in: half an hour ahead.
        let hour = signed_in.plus_millis(3_600_000);
        assert_eq!(c.web_expiry(signed_in, hour), hour.plus_millis(30 * 60_000));
        // Used 11 h 50 min in: the end stays at 12 hours, not 12 h 20 min.
        let late = signed_in.plus_millis(11 * 3_600_000 + 50 * 60_000);
        assert_eq!(
            c.web_expiry(signed_in, late),
            signed_in.plus_millis(12 * 3_600_000)
        );
    }
}
