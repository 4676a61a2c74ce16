//! PostgreSQL only: the session check's cache on this node, kept true by the database's own
//! notices.
//!
//! Every session-bearing call starts with the session check, a read of the session and its
//! user. On PostgreSQL that read is a round trip and most of a database backend's CPU, which
//! capped `GetCurrentUser` at a sixth of what the server answers without it. The cache holds
//! recent answers, and forgets them as soon as they may be wrong:
//!
//! - Triggers on `sessions` and `users` (migration 0019) `NOTIFY` every update and delete of a
//!   row, whoever makes it: this node, another node, the CLI, an operator's SQL. A listener
//!   connection per node receives them and evicts the session (`s<id>`) or every session of
//!   the user (`u<id>`); a change to `applications` (migration 0027: a disabled application's
//!   sessions are refused) evicts every session (`*`).
//! - This node's own changes are evicted at once when they commit (`SqlTx`), so a session
//!   closed here fails on the next call here without waiting for the notice to come round.
//! - A read that began before an eviction may have read the old row: every eviction moves a
//!   generation, and a read fills the cache only if the generation has not moved since it
//!   began.
//! - While the listener is not connected, nothing is served from the cache and it is emptied
//!   when the listener connects again (notices sent in between are lost).
//! - An entry is served for at most its lifetime (`[sessions] cache_milliseconds`, 1 s by
//!   default), so even a listener connection that dies
//!   without the socket saying so cannot keep a revoked session alive for longer than that.
//!
//! The cost: a session closed or a user disabled on *another* node still passes this node's
//! check for the time its notice takes to arrive (a few milliseconds on a LAN).
//! SQLite has no cache: its synchronous reader is already cheap, and the CLI changes the same
//! file from another process, which no notice would report.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_core::domain::{Session, SessionKey, User, UserId};
use sqlx::postgres::PgListener;

/// The channel the triggers of migration 0019 notify.
const CHANNEL: &str = "ferry_session_changes";

/// Most sessions held: the cache's memory is bounded (an entry is a few hundred bytes).
const CAPACITY: usize = 10_000;

/// How long the listener waits before connecting again after losing its connection.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

/// Recent session checks on this node (see the module's comment).
pub(crate) struct SessionCache {
    /// The longest an answer is served, notices or not.
    lifetime: Duration,
    /// Whether the listener is connected: nothing is served or filled while it is not.
    live: AtomicBool,
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    by_session: HashMap<SessionKey, Entry>,
    /// Moved by every eviction; see [`SessionCache::fill`].
    generation: u64,
}

struct Entry {
    session: Session,
    user: User,
    read_at: Instant,
}

/// Where a read stood when it began: [`SessionCache::fill`] refuses its answer if an eviction
/// happened since.
#[derive(Clone, Copy)]
pub(crate) struct ReadTicket(u64);

impl SessionCache {
    /// An empty cache whose answers live for `lifetime`, not live until
    /// [`SessionCache::listen`] connects.
    pub(crate) fn new(lifetime: Duration) -> Arc<SessionCache> {
        Arc::new(SessionCache {
            lifetime,
            live: AtomicBool::new(false),
            inner: Mutex::new(Entries::default()),
        })
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding the lock cannot leave the map half-changed in a way that
        // matters: every entry is whole, so the poison is ignored.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A live answer for `id`, if one is held.
    pub(crate) fn get(&self, id: &SessionKey) -> Option<(Session, User)> {
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        let hit = {
            let entries = self.entries();
            entries
                .by_session
                .get(id)
                .filter(|e| e.read_at.elapsed() < self.lifetime)
                .map(|e| (e.session.clone(), e.user.clone()))
        };
        let outcome = if hit.is_some() { "hit" } else { "miss" };
        metrics::counter!("ferry_session_cache_checks_total", "outcome" => outcome).increment(1);
        hit
    }

    /// Taken before reading the database for a session.
    pub(crate) fn ticket(&self) -> ReadTicket {
        ReadTicket(self.entries().generation)
    }

    /// Keeps what a read found, unless something was evicted since its `ticket` was taken
    /// (then the read may have seen a row that has changed since).
    pub(crate) fn fill(&self, ticket: ReadTicket, session: &Session, user: &User) {
        if !self.live.load(Ordering::Acquire) {
            return;
        }
        let mut entries = self.entries();
        if entries.generation != ticket.0 {
            return;
        }
        if entries.by_session.len() >= CAPACITY {
            entries
                .by_session
                .retain(|_, e| e.read_at.elapsed() < self.lifetime);
            if entries.by_session.len() >= CAPACITY {
                return;
            }
        }
        entries.by_session.insert(
            session.key,
            Entry {
                session: session.clone(),
                user: user.clone(),
                read_at: Instant::now(),
            },
        );
    }

    /// Forgets one session.
    pub(crate) fn evict_session(&self, id: &SessionKey) {
        let mut entries = self.entries();
        entries.generation += 1;
        entries.by_session.remove(id);
    }

    /// Forgets every session of one user.
    pub(crate) fn evict_user(&self, user: UserId) {
        let mut entries = self.entries();
        entries.generation += 1;
        entries.by_session.retain(|_, e| e.user.id != user);
    }

    /// Forgets every session (an application changed).
    pub(crate) fn evict_all(&self) {
        let mut entries = self.entries();
        entries.generation += 1;
        entries.by_session.clear();
    }

    /// Applies one notice from the triggers: `s<session id>` or `u<user id>`. Anything else
    /// (a trigger from a newer schema, say) empties the cache, which is always safe.
    fn apply(&self, payload: &str) {
        match payload.split_at_checked(1) {
            Some(("s", id)) => match SessionKey::parse_stored(id) {
                Some(id) => self.evict_session(&id),
                None => self.evict_all(),
            },
            Some(("u", id)) => match id.parse::<UserId>() {
                Ok(id) => self.evict_user(id),
                Err(_) => self.evict_all(),
            },
            _ => self.evict_all(),
        }
    }

    fn set_live(&self, live: bool) {
        // Emptied both ways: when going dark, nothing held may be trusted after the notices
        // stop; when going live, notices sent while dark were lost.
        self.evict_all();
        self.live.store(live, Ordering::Release);
    }

    /// Keeps the cache true for as long as the process runs: listens for the triggers'
    /// notices on its own connection to `url`, and connects again whenever it is lost.
    pub(crate) async fn listen(self: Arc<Self>, url: String) {
        // Whether a loss was logged and not yet its end: an outage logs two lines, not one a
        // second.
        let mut reported = false;
        loop {
            match listener(&url).await {
                Ok(mut listener) => {
                    self.set_live(true);
                    if reported {
                        tracing::warn!("session cache: listening for PostgreSQL's notices again");
                    }
                    // `Ok(None)`: the connection was lost, and notices with it.
                    while let Ok(Some(notice)) = listener.try_recv().await {
                        self.apply(notice.payload());
                    }
                    self.set_live(false);
                    tracing::warn!(
                        "session cache: lost PostgreSQL's notices; every session check reads the database until they are back"
                    );
                    reported = true;
                }
                Err(e) if !reported => {
                    tracing::warn!(error = %e, "session cache: cannot listen for PostgreSQL's notices; every session check reads the database until it can");
                    reported = true;
                }
                Err(_) => {}
            }
            tokio::time::sleep(RECONNECT_PAUSE).await;
        }
    }
}

async fn listener(url: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    // A lost connection is reported at once rather than hidden by a reconnection: this loop
    // must stop serving from the cache the moment notices may be missed.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

#[cfg(test)]
mod tests;
