//! The directory sync as the administration console reaches it: a port the binary fills with
//! its configured `[sso.sync]` (the LDAP reader lives there, not in this crate). A run reads the
//! directory group and hands it to `Service::sync_directory`, the path the command line and the
//! schedule take too; a dry run plans without changing anything.

use std::future::Future;
use std::pin::Pin;

use ferry_core::Actor;
use ferry_core::service::SyncSummary;

/// A future of a sync's outcome.
pub type SyncFuture<'a> = Pin<Box<dyn Future<Output = Result<SyncSummary, String>> + Send + 'a>>;

/// The configured directory sync.
pub trait DirectorySync: Send + Sync {
    /// Reads the directory and syncs (or, with `dry_run`, plans) as `actor`; the error is a
    /// sentence for the page (never a secret).
    fn run<'a>(&'a self, actor: &'a Actor, dry_run: bool) -> SyncFuture<'a>;
    /// Where it reads from (the LDAP URL and group, no password).
    fn describe(&self) -> String;
}
