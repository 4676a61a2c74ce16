//! Group commit (issue 21): changes that come together share one database transaction and so
//! one commit, one sync of the log, while each is still acknowledged only once it is durable.
//!
//! A *batch* is a transaction on one connection: a pooled sqlx connection, or on SQLite, for
//! grouped changes, the quiet writer's rusqlite connection, whose statements run on the
//! caller's thread (`BatchTx`, `quiet_tx.rs`). Changes take turns on it, in the order they
//! came (tokio's mutex is fair), each inside a savepoint: a change that fails or is dropped is
//! rolled back to its savepoint and leaves the others' work standing. A change that finishes
//! joins the batch's members (its savepoint is released with the next change's `SAVEPOINT`,
//! in one call to the database, or by the commit); the batch is committed when no
//! other change is waiting for its turn (or it is full, or old), by the change that finished
//! last, and every member learns the commit's outcome only then. So under load the
//! commits (and syncs) are shared, and alone a change commits at once, as before. Nothing a
//! member wrote is visible to readers before the commit, and if the commit fails every
//! member fails: no change is acknowledged that is not durable. On PostgreSQL a change's
//! savepoint is taken only before a statement that needs it (`savepoints.rs`): a change that
//! is one statement (an upload recorded as seen) goes without, and if that
//! statement fails the batch goes with it, its members told so.
//!
//! A grouped change reads what the members before it wrote, before that is durable. Its
//! success waits for the commit anyway; its failure must too, or its error could tell a
//! client something that is not durable yet (a folder "already exists" that then cannot be
//! found): so a grouped change that fails is rolled back with [`Turn::rollback`], which waits
//! for its batch like a member. Only the hot, simple changes are grouped (recording an
//! upload, an audit record alone); every other change is *solo*: the open batch is committed
//! before it starts and it commits at once, so it reads only what is durable.
//!
//! Since the batch takes changes one at a time, it is also SQLite's write queue: one writer
//! in the process at a time, in order, so no writer starves polling for SQLite's lock (error
//! 120 under a steady stream of writes, before the queue). Writers of bookkeeping (one
//! statement, or a short transaction of their own) take a turn with [`GroupCommit::turn`],
//! which commits the open batch first. On PostgreSQL the row lock on the audit head orders
//! writers across nodes; each node's batches take it once per batch rather than once per
//! change.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ferry_core::domain::AuditHead;
use ferry_core::store::{StoreError, StoreResult};
use sqlx::{Any, AnyPool, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use crate::connect::Engine;
use crate::errors;
use crate::quiet_tx::{LocalTx, QuietWriter};

/// Longest a writer waits for its turn before the change is refused as unavailable: far
/// longer than any transaction takes, short enough that a stuck one is noticed.
const LONGEST_WAIT: Duration = Duration::from_secs(30);
/// Most changes in one batch: bounds what one failed commit takes with it.
const MOST_MEMBERS: usize = 256;
/// Oldest a batch gets before it is committed even though changes still wait: bounds the
/// latency a member pays for the ones after it.
const OLDEST: Duration = Duration::from_millis(25);

/// What a member learns of its batch's commit.
type Outcome = StoreResult<()>;

/// One database's batches (shared by a store's clones).
#[derive(Clone)]
pub(crate) struct GroupCommit {
    shared: Arc<Shared>,
}

struct Shared {
    pool: AnyPool,
    /// SQLite: a batch's transaction begins with `BEGIN IMMEDIATE`, which takes the write lock
    /// at once, so what the committed database says cannot change until the batch ends.
    locks_at_begin: bool,
    batch: Arc<Mutex<Batch>>,
    /// Writers waiting for their turn (a finishing change commits when there are none).
    waiting: AtomicUsize,
    /// Batches committed through sqlx and changes in them, since the start.
    batches: AtomicUsize,
    changes: AtomicUsize,
    /// Batches committed on the quiet writer's connection and changes in them.
    local_batches: AtomicUsize,
    local_changes: AtomicUsize,
    /// The audit chain's head as this process's last commit left it, if known: a guess for a
    /// record appended alone (`audit_alone.rs`), which checks it in the statement that moves
    /// the head, so a stale one (another node wrote since) costs a retry, never the chain.
    head: std::sync::Mutex<Option<AuditHead>>,
}

/// A batch's open transaction: on a pooled sqlx connection, or (SQLite, grouped changes) on
/// the quiet writer's rusqlite connection, whose statements run on the caller's thread
/// (`quiet_tx.rs`: no hand-off to sqlx's thread and back per statement).
pub(crate) enum BatchTx {
    Sqlx(Transaction<'static, Any>),
    Local(LocalTx),
}

/// The open batch, if any.
#[derive(Default)]
pub(crate) struct Batch {
    tx: Option<BatchTx>,
    opened: Option<Instant>,
    /// A change is open: it runs, or ended without committing (then the next turn rolls it
    /// back).
    in_change: bool,
    /// The open change has a savepoint. The first change of a batch needs none: undoing it is
    /// rolling back the whole transaction, which holds nothing else (so alone, a change costs
    /// no more statements than a plain transaction).
    savepoint: bool,
    /// A change that ended kept its savepoint: the next change's `SAVEPOINT` releases it in
    /// the same call (on PostgreSQL one round trip per grouped change fewer), or the commit.
    unreleased: bool,
    /// PostgreSQL: the open change's savepoint is not taken yet. It is taken before the
    /// change's first statement ([`Turn::guarded_conn`]), or never, when the change is one
    /// statement that needs none (an upload recorded as seen: a round trip fewer per member).
    due: bool,
    /// The open change wrote without its savepoint ([`Turn::conn`] while one was due):
    /// undoing it is abandoning the batch.
    unguarded: bool,
    members: Vec<oneshot::Sender<Outcome>>,
    /// Grouped changes that failed and wait for the batch all the same (not counted).
    bystanders: Vec<oneshot::Sender<Outcome>>,
    /// The open change is solo: the batch is committed as soon as it is.
    solo: bool,
    /// The audit chain's head as the batch's ended changes leave it.
    head: Option<AuditHead>,
}

/// A writer's turn, held until it is dropped (or a change's, until it commits).
pub(crate) struct Turn {
    guard: OwnedMutexGuard<Batch>,
    shared: Arc<Shared>,
    /// The audit chain's head as the change leaves it, once it says so.
    head: Option<AuditHead>,
    /// The change has used the batch's connection (see [`Turn::reads_committed`]).
    touched: bool,
}

/// Counts a writer as waiting until it has its turn; one that gives up waiting may have been
/// counted on to commit the members, so a finisher is sent in its place.
struct Waiting {
    shared: Arc<Shared>,
    served: bool,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.shared.waiting.fetch_sub(1, Ordering::SeqCst);
        if !self.served {
            spawn_finisher(&self.shared);
        }
    }
}

impl GroupCommit {
    pub(crate) fn new(pool: AnyPool, engine: Engine) -> Self {
        GroupCommit {
            shared: Arc::new(Shared {
                pool,
                locks_at_begin: engine == Engine::Sqlite,
                batch: Arc::default(),
                waiting: AtomicUsize::new(0),
                batches: AtomicUsize::new(0),
                changes: AtomicUsize::new(0),
                local_batches: AtomicUsize::new(0),
                local_changes: AtomicUsize::new(0),
                head: std::sync::Mutex::new(None),
            }),
        }
    }

    /// Batches committed through sqlx and the changes they held, since the start.
    #[cfg(test)]
    pub(crate) fn committed(&self) -> (usize, usize) {
        (
            self.shared.batches.load(Ordering::SeqCst),
            self.shared.changes.load(Ordering::SeqCst),
        )
    }

    /// Batches committed on the quiet writer's connection and the changes they held.
    #[cfg(test)]
    pub(crate) fn committed_here(&self) -> (usize, usize) {
        (
            self.shared.local_batches.load(Ordering::SeqCst),
            self.shared.local_changes.load(Ordering::SeqCst),
        )
    }

    /// Begins a change: `grouped`, in the open batch (opening one if there is none), inside a
    /// savepoint; else solo, in a batch of its own, after the open one is committed.
    pub(crate) async fn change(&self, grouped: bool) -> StoreResult<Turn> {
        let turn = wait_turn(&self.shared).await?;
        self.change_on(turn, grouped, None).await
    }

    /// A grouped change that runs on `writer`'s connection if the batch it joins is there
    /// (or it opens one there): see [`Turn::is_local`]. Else, when the open batch is sqlx's
    /// or another process holds SQLite's write lock, it goes sqlx's way.
    pub(crate) async fn change_here(&self, writer: &Arc<QuietWriter>) -> StoreResult<Turn> {
        let turn = wait_turn(&self.shared).await?;
        self.change_on(turn, true, Some(writer)).await
    }

    /// A turn for one audit record alone, and whether it is *quiet*: no batch open, nobody
    /// waiting. Then the record may go in by a statement of its own on a pool connection
    /// (`audit_alone.rs`) while the turn keeps this process's other writers out; else it is
    /// a grouped change, begun with [`GroupCommit::change_on`] on the same turn.
    pub(crate) async fn record_turn(&self) -> StoreResult<(Turn, bool)> {
        let mut turn = wait_turn(&self.shared).await?;
        turn.settle().await?;
        let quiet = turn.guard.tx.is_none() && self.shared.waiting.load(Ordering::SeqCst) == 0;
        Ok((turn, quiet))
    }

    /// A turn at once, if no writer has one or waits for one and no batch is open (so no
    /// member waits for a commit): for a writer that would rather hand its work elsewhere
    /// than wait (`quiet_tx.rs`).
    pub(crate) fn quiet_turn(&self) -> Option<Turn> {
        if self.shared.waiting.load(Ordering::SeqCst) != 0 {
            return None;
        }
        let guard = Arc::clone(&self.shared.batch).try_lock_owned().ok()?;
        if guard.tx.is_some() || guard.in_change {
            return None;
        }
        Some(Turn {
            guard,
            shared: Arc::clone(&self.shared),
            head: None,
            touched: false,
        })
    }

    /// The audit chain's head as this process last committed it, if known.
    pub(crate) fn head_guess(&self) -> Option<AuditHead> {
        self.shared
            .head
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Notes the head a commit outside any batch left (`None`: unknown, after a failure).
    pub(crate) fn note_head(&self, head: Option<AuditHead>) {
        note_head(&self.shared, head);
    }

    /// [`GroupCommit::change`] on a turn already held; `local`: a grouped change that may run
    /// on that writer's connection ([`GroupCommit::change_here`]).
    pub(crate) async fn change_on(
        &self,
        mut turn: Turn,
        grouped: bool,
        local: Option<&Arc<QuietWriter>>,
    ) -> StoreResult<Turn> {
        turn.settle().await?;
        if !grouped {
            turn.commit_batch().await;
        }
        turn.guard.solo = !grouped;
        turn.touched = false;
        if turn.guard.tx.is_none() {
            let here = local.filter(|_| grouped).and_then(LocalTx::begin);
            let tx = match here {
                Some(tx) => BatchTx::Local(tx),
                None => BatchTx::Sqlx(
                    self.shared
                        .pool
                        .begin_with(if self.shared.locks_at_begin {
                            "BEGIN IMMEDIATE"
                        } else {
                            "BEGIN"
                        })
                        .await
                        .map_err(errors::db)?,
                ),
            };
            turn.open(tx);
            return Ok(turn);
        }
        turn.guard.in_change = true;
        turn.guard.savepoint = true;
        turn.guard.due = true;
        turn.guard.unguarded = false;
        // SQLite's statements are in-process: the savepoint is taken at once. PostgreSQL's
        // waits for the change's first statement that needs it.
        if self.shared.locks_at_begin {
            turn.take_savepoint().await?;
        }
        Ok(turn)
    }

    /// A quiet turn's change on `writer`'s connection, begun at once (no batch is open on a
    /// quiet turn); `None` if SQLite's write lock is not free (another process has it).
    pub(crate) fn begin_here(&self, mut turn: Turn, writer: &Arc<QuietWriter>) -> Option<Turn> {
        let tx = LocalTx::begin(writer)?;
        turn.guard.solo = false;
        turn.touched = false;
        turn.open(BatchTx::Local(tx));
        Some(turn)
    }

    /// A turn outside any batch, for bookkeeping: the open batch is committed first, so
    /// what the caller writes next (on a pool connection) does not wait for it.
    pub(crate) async fn turn(&self) -> StoreResult<Turn> {
        let mut turn = wait_turn(&self.shared).await?;
        turn.settle().await?;
        turn.commit_batch().await;
        Ok(turn)
    }
}

async fn wait_turn(shared: &Arc<Shared>) -> StoreResult<Turn> {
    shared.waiting.fetch_add(1, Ordering::SeqCst);
    let mut waiting = Waiting {
        shared: Arc::clone(shared),
        served: false,
    };
    let guard = tokio::time::timeout(LONGEST_WAIT, Arc::clone(&shared.batch).lock_owned())
        .await
        .map_err(|_| {
            StoreError::Unavailable(format!(
                "waited {} s for the database's write lock",
                LONGEST_WAIT.as_secs()
            ))
        })?;
    waiting.served = true;
    Ok(Turn {
        guard,
        shared: Arc::clone(shared),
        head: None,
        touched: false,
    })
}

/// Counts one commit of the database holding `changes` changes, whichever writer made it
/// (a batch, SQLite's audit writer, a record alone).
pub(crate) fn count_commit(changes: usize) {
    // Their ratio is how many changes shared each commit (and sync) on average.
    metrics::counter!("ferry_db_commits_total").increment(1);
    metrics::counter!("ferry_db_committed_changes_total").increment(changes as u64);
}

fn note_head(shared: &Shared, head: Option<AuditHead>) {
    *shared.head.lock().unwrap_or_else(|p| p.into_inner()) = head;
}

/// Commits what the members of the open batch left, if nobody else is about to.
fn spawn_finisher(shared: &Arc<Shared>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let shared = Arc::clone(shared);
    runtime.spawn(async move {
        if let Ok(mut turn) = wait_turn(&shared).await
            && turn.settle().await.is_ok()
        {
            turn.commit_batch().await;
        }
    });
}

impl Turn {
    /// The batch's connection on the caller's thread, if the batch is there.
    pub(crate) fn here(&self) -> Option<&rusqlite::Connection> {
        match self.guard.tx.as_ref() {
            Some(BatchTx::Local(tx)) => Some(tx.conn()),
            _ => None,
        }
    }

    /// Whether the change runs on the quiet writer's connection ([`Turn::here`]).
    pub(crate) fn is_local(&self) -> bool {
        self.here().is_some()
    }

    /// Opens a batch with `tx`, this turn's change its first.
    fn open(&mut self, tx: BatchTx) {
        self.guard.tx = Some(tx);
        self.guard.opened = Some(Instant::now());
        self.guard.in_change = true;
        self.guard.savepoint = false;
        self.guard.due = false;
        self.guard.unguarded = false;
    }

    /// Runs statements of the batch's own (a savepoint's) on its connection, unprepared: on
    /// PostgreSQL a prepared statement holds one command, and these may be two.
    async fn run(&mut self, sql: &'static str) -> StoreResult<()> {
        match self.guard.tx.as_mut() {
            Some(BatchTx::Sqlx(tx)) => sqlx::raw_sql(sql)
                .execute(&mut **tx)
                .await
                .map(|_| ())
                .map_err(errors::db),
            Some(BatchTx::Local(tx)) => tx.run(sql),
            None => Err(StoreError::Other("no batch is open".into())),
        }
    }

    /// The audit chain's head in the open batch's transaction, when this change is not the
    /// batch's first (whose lock on the head the batch holds since) and a member before it
    /// ended: what reading the head again would return.
    pub(crate) fn batch_head(&self) -> Option<AuditHead> {
        self.guard
            .savepoint
            .then(|| self.guard.head.clone())
            .flatten()
    }

    /// Whether a read of the *committed* database answers as the batch's connection would:
    /// on SQLite, this change began the batch (`BEGIN IMMEDIATE`: the write lock is held, so
    /// nothing else commits until it ends) and has not used the connection since, so the
    /// transaction holds no change of its own yet. Such a read may go to the synchronous
    /// reader (`sqlite_reader.rs`) instead of a round trip to sqlx's thread.
    pub(crate) fn reads_committed(&self) -> bool {
        self.shared.locks_at_begin && self.guard.in_change && !self.guard.savepoint && !self.touched
    }

    /// Notes the audit chain's head as this change leaves it, for the batch's commit to keep
    /// as [`GroupCommit::head_guess`].
    pub(crate) fn leaves_head(&mut self, head: AuditHead) {
        self.head = Some(head);
    }

    /// Ends the batch without committing it: its members fail with `why`.
    fn abandon(&mut self, why: StoreError) {
        self.guard.tx = None; // dropped: rolled back
        self.guard.opened = None;
        self.guard.unreleased = false;
        self.guard.head = None;
        self.guard.in_change = false;
        self.guard.due = false;
        self.guard.unguarded = false;
        let (members, bystanders) = (
            std::mem::take(&mut self.guard.members),
            std::mem::take(&mut self.guard.bystanders),
        );
        for member in members.into_iter().chain(bystanders) {
            let _ = member.send(Err(why.clone()));
        }
    }

    /// Commits the open batch, if any, and tells its members.
    async fn commit_batch(&mut self) {
        let Some(tx) = self.guard.tx.take() else {
            return;
        };
        self.guard.opened = None;
        self.guard.unreleased = false; // the commit releases every savepoint
        let here = matches!(tx, BatchTx::Local(_));
        let outcome = match tx {
            BatchTx::Sqlx(tx) => tx.commit().await.map_err(errors::db),
            BatchTx::Local(tx) => tx.commit(),
        }
        .map_err(|e| errors::failed_change(e, "the commit failed"));
        // A failed commit's outcome is unknown (its answer may be what was lost).
        let head = self.guard.head.take();
        note_head(&self.shared, if outcome.is_ok() { head } else { None });
        if outcome.is_ok() {
            let n = self.guard.members.len();
            let (batches, changes) = match here {
                true => (&self.shared.local_batches, &self.shared.local_changes),
                false => (&self.shared.batches, &self.shared.changes),
            };
            batches.fetch_add(1, Ordering::SeqCst);
            changes.fetch_add(n, Ordering::SeqCst);
            count_commit(n);
            if here {
                metrics::counter!("ferry_db_quiet_changes_total").increment(n as u64);
            }
        }
        let (members, bystanders) = (
            std::mem::take(&mut self.guard.members),
            std::mem::take(&mut self.guard.bystanders),
        );
        for member in members.into_iter().chain(bystanders) {
            let _ = member.send(outcome.clone());
        }
    }

    /// Ends the change (its savepoint is released later: [`Batch::unreleased`]), and returns
    /// once the batch that holds it is committed, with the commit's outcome.
    pub(crate) async fn commit(mut self) -> StoreResult<()> {
        // A savepoint taken stays until the next one's or the commit; one never taken leaves
        // the one before as it was.
        self.guard.unreleased |= self.guard.savepoint && !self.guard.due;
        self.guard.due = false;
        self.guard.unguarded = false;
        self.guard.in_change = false;
        // A change that did not say where it left the head leaves it unknown.
        self.guard.head = self.head.take();
        let (told, outcome) = oneshot::channel();
        self.guard.members.push(told);
        self.wait_for_batch(outcome).await
    }

    /// Undoes the change now, and returns once what it may have read from the members
    /// before it is durable (or has failed): see the module's documentation.
    pub(crate) async fn rollback(mut self) {
        if !self.guard.in_change {
            return;
        }
        if self.settle().await.is_err() || self.guard.members.is_empty() {
            // Undone with its batch, or it read nothing that was not durable.
            return;
        }
        let (told, outcome) = oneshot::channel();
        self.guard.bystanders.push(told);
        let _ = self.wait_for_batch(outcome).await;
    }

    /// Commits the batch if it is this change's to commit (solo, nobody waiting, full or
    /// old), else lets the next change go; then waits for the batch's outcome.
    async fn wait_for_batch(mut self, outcome: oneshot::Receiver<Outcome>) -> StoreResult<()> {
        let full = self.guard.members.len() >= MOST_MEMBERS
            || self.guard.opened.is_some_and(|at| at.elapsed() >= OLDEST);
        if self.guard.solo || full || self.shared.waiting.load(Ordering::SeqCst) == 0 {
            self.commit_batch().await;
        }
        drop(self);
        match outcome.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(why),
            Err(_) => Err(StoreError::Unavailable(
                "the change's batch was dropped uncommitted".into(),
            )),
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if self.guard.in_change && (!self.guard.savepoint || self.guard.unguarded) {
            // A batch's first change ended without committing, or one that wrote without a
            // savepoint: the batch goes with it now (rolled back), rather than keep the write
            // lock until the next change.
            self.abandon(StoreError::Unavailable("the change failed".into()));
            return;
        }
        // Members wait for a commit, or a failed change for its undoing: if nobody waits for
        // a turn to see to it, send someone.
        let pending = self.guard.in_change
            || !self.guard.members.is_empty()
            || !self.guard.bystanders.is_empty();
        if pending && self.shared.waiting.load(Ordering::SeqCst) == 0 {
            spawn_finisher(&self.shared);
        }
    }
}

mod savepoints;
#[cfg(test)]
mod tests;
