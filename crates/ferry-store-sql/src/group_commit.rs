//! Group commit (issue 21): changes that come together share one database transaction and so
//! one commit, one sync of the log, while each is still acknowledged only once it is durable.
//!
//! A *batch* is a transaction on one connection. Changes take turns on it, in the order they
//! came (tokio's mutex is fair), each inside a savepoint: a change that fails or is dropped is
//! rolled back to its savepoint and leaves the others' work standing. A change that finishes
//! releases its savepoint and joins the batch's members; the batch is committed when no
//! other change is waiting for its turn (or it is full, or old), by the change that finished
//! last, and every member learns the commit's outcome only then. So under load the
//! commits (and syncs) are shared, and alone a change commits at once, as before. Nothing a
//! member wrote is visible to readers before the commit, and if the commit fails every
//! member fails: no change is acknowledged that is not durable.
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

use ferry_core::store::{StoreError, StoreResult};
use sqlx::{Any, AnyConnection, AnyPool, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use crate::errors;

/// Longest a writer waits for its turn before the change is refused as unavailable: far
/// longer than any transaction takes, short enough that a stuck one is noticed.
const LONGEST_WAIT: Duration = Duration::from_secs(30);
/// Most changes in one batch: bounds what one failed commit takes with it.
const MOST_MEMBERS: usize = 256;
/// Oldest a batch gets before it is committed even though changes still wait: bounds the
/// latency a member pays for the ones after it.
const OLDEST: Duration = Duration::from_millis(25);

/// What a member learns of its batch's commit.
type Outcome = Result<(), String>;

/// One database's batches (shared by a store's clones).
#[derive(Clone)]
pub(crate) struct GroupCommit {
    shared: Arc<Shared>,
}

struct Shared {
    pool: AnyPool,
    batch: Arc<Mutex<Batch>>,
    /// Writers waiting for their turn (a finishing change commits when there are none).
    waiting: AtomicUsize,
    /// Batches committed and changes in them, since the start.
    batches: AtomicUsize,
    changes: AtomicUsize,
}

/// The open batch, if any.
#[derive(Default)]
pub(crate) struct Batch {
    tx: Option<Transaction<'static, Any>>,
    opened: Option<Instant>,
    /// A change is open: it runs, or ended without committing (then the next turn rolls it
    /// back).
    in_change: bool,
    /// The open change has a savepoint. The first change of a batch needs none: undoing it is
    /// rolling back the whole transaction, which holds nothing else (so alone, a change costs
    /// no more statements than a plain transaction).
    savepoint: bool,
    members: Vec<oneshot::Sender<Outcome>>,
    /// Grouped changes that failed and wait for the batch all the same (not counted).
    bystanders: Vec<oneshot::Sender<Outcome>>,
    /// The open change is solo: the batch is committed as soon as it is.
    solo: bool,
}

/// A writer's turn, held until it is dropped (or a change's, until it commits).
pub(crate) struct Turn {
    guard: OwnedMutexGuard<Batch>,
    shared: Arc<Shared>,
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
    pub(crate) fn new(pool: AnyPool) -> Self {
        GroupCommit {
            shared: Arc::new(Shared {
                pool,
                batch: Arc::default(),
                waiting: AtomicUsize::new(0),
                batches: AtomicUsize::new(0),
                changes: AtomicUsize::new(0),
            }),
        }
    }

    /// Batches committed and the changes they held, since the start.
    #[cfg(test)]
    pub(crate) fn committed(&self) -> (usize, usize) {
        (
            self.shared.batches.load(Ordering::SeqCst),
            self.shared.changes.load(Ordering::SeqCst),
        )
    }

    /// Begins a change: `grouped`, in the open batch (opening one if there is none), inside a
    /// savepoint; else solo, in a batch of its own, after the open one is committed.
    pub(crate) async fn change(&self, grouped: bool) -> StoreResult<Turn> {
        let mut turn = wait_turn(&self.shared).await?;
        turn.settle().await?;
        if !grouped {
            turn.commit_batch().await;
        }
        turn.guard.solo = !grouped;
        if turn.guard.tx.is_none() {
            let tx = self.shared.pool.begin().await.map_err(errors::db)?;
            turn.guard.tx = Some(tx);
            turn.guard.opened = Some(Instant::now());
            turn.guard.in_change = true;
            turn.guard.savepoint = false;
            return Ok(turn);
        }
        turn.guard.in_change = true;
        turn.guard.savepoint = true;
        if let Err(e) = sqlx::query("SAVEPOINT ferry_change")
            .execute(turn.conn())
            .await
        {
            turn.abandon(format!("cannot begin a change: {e}"));
            return Err(errors::db(e));
        }
        Ok(turn)
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
    })
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
    /// The batch's connection (inside a change).
    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        self.guard
            .tx
            .as_deref_mut()
            .expect("a change's batch is open")
    }

    /// Rolls back what a change that ended without committing left.
    async fn settle(&mut self) -> StoreResult<()> {
        if !self.guard.in_change {
            return Ok(());
        }
        if !self.guard.savepoint {
            // The batch's first change: the transaction holds nothing else.
            self.abandon("the change failed".into());
            return Ok(());
        }
        let undone = sqlx::query("ROLLBACK TO SAVEPOINT ferry_change")
            .execute(self.conn())
            .await;
        let released = match undone {
            Ok(_) => sqlx::query("RELEASE SAVEPOINT ferry_change")
                .execute(self.conn())
                .await
                .map(|_| ()),
            Err(e) => Err(e),
        };
        match released {
            Ok(()) => {
                self.guard.in_change = false;
                Ok(())
            }
            Err(e) => {
                self.abandon(format!("cannot undo a failed change: {e}"));
                Err(errors::db(e))
            }
        }
    }

    /// Ends the batch without committing it: its members fail with `why`.
    fn abandon(&mut self, why: String) {
        self.guard.tx = None; // dropped: rolled back
        self.guard.opened = None;
        self.guard.in_change = false;
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
        let outcome = tx
            .commit()
            .await
            .map_err(|e| format!("the commit failed: {e}"));
        if outcome.is_ok() {
            let n = self.guard.members.len();
            self.shared.batches.fetch_add(1, Ordering::SeqCst);
            self.shared.changes.fetch_add(n, Ordering::SeqCst);
            // Their ratio is how many changes shared each commit (and sync) on average.
            metrics::counter!("ferry_db_commits_total").increment(1);
            metrics::counter!("ferry_db_committed_changes_total").increment(n as u64);
        }
        let (members, bystanders) = (
            std::mem::take(&mut self.guard.members),
            std::mem::take(&mut self.guard.bystanders),
        );
        for member in members.into_iter().chain(bystanders) {
            let _ = member.send(outcome.clone());
        }
    }

    /// Ends the change: its savepoint is released, and it returns once the batch that holds
    /// it is committed, with the commit's outcome.
    pub(crate) async fn commit(mut self) -> StoreResult<()> {
        if self.guard.savepoint
            && let Err(e) = sqlx::query("RELEASE SAVEPOINT ferry_change")
                .execute(self.conn())
                .await
        {
            return Err(errors::db(e));
        }
        self.guard.in_change = false;
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
            Ok(Err(why)) => Err(StoreError::Unavailable(why)),
            Err(_) => Err(StoreError::Unavailable(
                "the change's batch was dropped uncommitted".into(),
            )),
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if self.guard.in_change && !self.guard.savepoint {
            // A batch's first change ended without committing: the batch goes with it now
            // (rolled back), rather than keep the write lock until the next change.
            self.abandon("the change failed".into());
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

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::any::AnyPoolOptions;

    async fn pool(dir: &tempfile::TempDir) -> AnyPool {
        sqlx::any::install_default_drivers();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    for pragma in ["PRAGMA journal_mode = WAL", "PRAGMA foreign_keys = ON"] {
                        sqlx::query(pragma).execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .unwrap();
        for ddl in [
            "CREATE TABLE parents (id INTEGER PRIMARY KEY)",
            "CREATE TABLE rows (id INTEGER PRIMARY KEY, parent INTEGER \
             REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)",
            "INSERT INTO parents (id) VALUES (1)",
        ] {
            sqlx::query(ddl).execute(&pool).await.unwrap();
        }
        pool
    }

    async fn insert(turn: &mut Turn, id: i64, parent: i64) {
        sqlx::query("INSERT INTO rows (id, parent) VALUES ($1, $2)")
            .bind(id)
            .bind(parent)
            .execute(turn.conn())
            .await
            .unwrap();
    }

    async fn ids(pool: &AnyPool) -> Vec<i64> {
        sqlx::query_scalar("SELECT id FROM rows ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap()
    }

    /// Lets spawned tasks reach their wait.
    async fn settle_tasks() {
        for _ in 0..20 {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn changes_that_come_together_share_a_commit_and_each_returns_once_durable() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(&dir).await;
        let group = GroupCommit::new(pool.clone());
        // Alone, a change commits at once.
        let mut alone = group.change(true).await.unwrap();
        insert(&mut alone, 100, 1).await;
        alone.commit().await.unwrap();
        assert_eq!(group.committed(), (1, 1));
        assert_eq!(ids(&pool).await, vec![100]);

        // Twenty changes queued behind a turn: they go one by one, and share commits.
        let held = group.turn().await.unwrap();
        let mut tasks = Vec::new();
        for id in 0..20 {
            let (group, pool) = (group.clone(), pool.clone());
            tasks.push(tokio::spawn(async move {
                let mut turn = group.change(true).await.unwrap();
                insert(&mut turn, id, 1).await;
                turn.commit().await.unwrap();
                // Acknowledged: it is committed, so every reader sees it.
                let seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rows WHERE id = $1")
                    .bind(id)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                assert_eq!(seen, 1);
            }));
            settle_tasks().await;
        }
        drop(held);
        for t in tasks {
            t.await.unwrap();
        }
        let (batches, changes) = group.committed();
        assert_eq!(changes, 21);
        assert!(
            batches < 6,
            "{batches} commits for 20 changes queued together"
        );
        assert_eq!(ids(&pool).await.len(), 21);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_change_dropped_or_failed_is_undone_alone() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(&dir).await;
        let group = GroupCommit::new(pool.clone());
        let held = group.turn().await.unwrap();
        let spawn_change = |id: i64, keep: bool| {
            let group = group.clone();
            tokio::spawn(async move {
                let mut turn = group.change(true).await.unwrap();
                insert(&mut turn, id, 1).await;
                if keep {
                    turn.commit().await.unwrap();
                } else {
                    // A unique violation fails a statement; the change then gives up.
                    let again = sqlx::query("INSERT INTO rows (id, parent) VALUES ($1, 1)")
                        .bind(id)
                        .execute(turn.conn())
                        .await;
                    assert!(again.is_err());
                    drop(turn);
                }
            })
        };
        let a = spawn_change(1, true);
        settle_tasks().await;
        let b = spawn_change(2, false);
        settle_tasks().await;
        let c = spawn_change(3, true);
        settle_tasks().await;
        drop(held);
        for t in [a, b, c] {
            t.await.unwrap();
        }
        assert_eq!(ids(&pool).await, vec![1, 3]);

        // The last change of a batch dropped while the others wait: they are still committed.
        let held = group.turn().await.unwrap();
        let d = spawn_change(4, true);
        settle_tasks().await;
        let e = spawn_change(5, false);
        settle_tasks().await;
        drop(held);
        tokio::time::timeout(Duration::from_secs(10), async {
            d.await.unwrap();
            e.await.unwrap();
        })
        .await
        .expect("a member waited for a commit nobody made");
        assert_eq!(ids(&pool).await, vec![1, 3, 4]);

        // A batch's first change (no savepoint) dropped alone: rolled back at once, so the
        // write lock goes with it and another connection writes.
        let mut first = group.change(true).await.unwrap();
        insert(&mut first, 6, 1).await;
        drop(first);
        tokio::time::timeout(
            Duration::from_secs(2),
            sqlx::query("INSERT INTO parents (id) VALUES (2)").execute(&pool),
        )
        .await
        .expect("the dropped change kept the write lock")
        .unwrap();
        let mut next = group.change(true).await.unwrap();
        insert(&mut next, 7, 2).await;
        next.commit().await.unwrap();
        assert_eq!(ids(&pool).await, vec![1, 3, 4, 7]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn when_the_commit_fails_every_member_fails_and_nothing_is_visible() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(&dir).await;
        let group = GroupCommit::new(pool.clone());
        let held = group.turn().await.unwrap();
        let spawn_change = |id: i64, parent: i64| {
            let group = group.clone();
            tokio::spawn(async move {
                let mut turn = group.change(true).await.unwrap();
                insert(&mut turn, id, parent).await;
                turn.commit().await
            })
        };
        // The second row names a parent that does not exist: a deferred rule, checked only
        // when the batch commits.
        let good = spawn_change(1, 1);
        settle_tasks().await;
        let bad = spawn_change(2, 99);
        settle_tasks().await;
        drop(held);
        assert!(
            good.await.unwrap().is_err(),
            "acknowledged though not committed"
        );
        assert!(bad.await.unwrap().is_err());
        assert!(ids(&pool).await.is_empty());
        // The next change starts a new batch and commits.
        let mut next = group.change(true).await.unwrap();
        insert(&mut next, 3, 1).await;
        next.commit().await.unwrap();
        assert_eq!(ids(&pool).await, vec![3]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_grouped_change_returns_only_once_what_it_saw_is_durable() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(&dir).await;
        let group = GroupCommit::new(pool.clone());
        let held = group.turn().await.unwrap();
        let first = {
            let group = group.clone();
            tokio::spawn(async move {
                let mut turn = group.change(true).await.unwrap();
                insert(&mut turn, 1, 1).await;
                turn.commit().await.unwrap();
            })
        };
        settle_tasks().await;
        let second = {
            let (group, pool) = (group.clone(), pool.clone());
            tokio::spawn(async move {
                let mut turn = group.change(true).await.unwrap();
                // It sees the first change's row (not yet durable) and fails on it...
                let clash = sqlx::query("INSERT INTO rows (id, parent) VALUES (1, 1)")
                    .execute(turn.conn())
                    .await;
                assert!(clash.is_err());
                turn.rollback().await;
                // ...and by the time it says so, that row is durable: every reader sees it.
                let seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rows WHERE id = 1")
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                assert_eq!(seen, 1, "the failure told of a row nobody else could see");
            })
        };
        settle_tasks().await;
        drop(held);
        first.await.unwrap();
        second.await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_solo_change_commits_the_open_batch_first_and_itself_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(&dir).await;
        let group = GroupCommit::new(pool.clone());
        let held = group.turn().await.unwrap();
        let mut tasks = Vec::new();
        for (id, grouped) in [(1, true), (2, true), (3, false), (4, true)] {
            let (group, pool) = (group.clone(), pool.clone());
            tasks.push(tokio::spawn(async move {
                let mut turn = group.change(grouped).await.unwrap();
                if !grouped {
                    // What a solo change reads is durable: the grouped ones before it are.
                    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rows")
                        .fetch_one(&pool)
                        .await
                        .unwrap();
                    assert_eq!(before, 2);
                }
                insert(&mut turn, id, 1).await;
                turn.commit().await.unwrap();
            }));
            settle_tasks().await;
        }
        drop(held);
        for t in tasks {
            t.await.unwrap();
        }
        // 1 and 2 together, 3 alone (though 4 waited), then 4.
        assert_eq!(group.committed(), (3, 4));
        assert_eq!(ids(&pool).await, vec![1, 2, 3, 4]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writers_take_turns_in_the_order_they_came() {
        let dir = tempfile::tempdir().unwrap();
        let group = GroupCommit::new(pool(&dir).await);
        let first = group.turn().await.unwrap();
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for i in 0..5 {
            let (group, order) = (group.clone(), Arc::clone(&order));
            waiting.push(tokio::spawn(async move {
                let _turn = group.turn().await.unwrap();
                order.lock().unwrap().push(i);
            }));
            settle_tasks().await;
        }
        drop(first);
        for w in waiting {
            w.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    }
}
