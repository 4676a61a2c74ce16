//! SQLite's writer of audit records written alone (a download's, a refused sign-in's): one
//! thread with its own rusqlite connection appends every record that is waiting in one
//! transaction, so one commit and one sync of the log cover them all (issue 21).
//!
//! Why a thread of its own: through sqlx, a record alone took five statements, each handed to
//! sqlx's worker thread and back (begin, lock the head, insert, move the head, commit).
//! Profiling downloads of small files put those hand-offs above the commit's own sync: without
//! the record, a `GET` of 4 KiB cost a quarter of what it did. Here a record costs one hand-off
//! to this thread and one back; the statements run in-process.
//!
//! What is kept: the thread takes the same turn as every other writer of the process
//! ([`GroupCommit::turn`], which commits the open batch first), so SQLite's one write lock is
//! still taken in order; the head is read and moved inside the transaction, so the hash chain
//! stays whole; a caller is answered only after the commit, with `synchronous = FULL`, so a
//! record acknowledged is durable before the download's first byte. Records that come while
//! the thread commits wait and share the next commit: group commit, as for the batches.
//!
//! When the process is quiet (no writer has or wants a turn), a record skips the thread: it is
//! a change of one record on the caller's thread ([`append_quietly`], a [`QuietTx`](
//! crate::quiet_tx::QuietTx) as a quiet upload is), which spares two thread switches per
//! download (a `GET` over one connection waits for both). That never waits for another
//! process's lock: then the record comes here, and this thread waits for it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use ferry_core::Timestamp;
use ferry_core::domain::{AuditEntry, AuditHead, AuditRecord};
use ferry_core::store::{GroupedTx, StoreError, StoreResult, append_alone_in};
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::audit_writes;
use crate::group_commit::{self, GroupCommit};

/// Most records in one transaction: bounds what one failed commit takes with it.
const MOST_RECORDS: usize = 256;

/// A record waiting to be appended, and who waits for its commit.
struct Job {
    at: Timestamp,
    entry: AuditEntry,
    done: oneshot::Sender<StoreResult<()>>,
}

/// The handle to the appending thread; the thread ends when the last handle is dropped.
pub(crate) struct AuditAppender {
    jobs: mpsc::Sender<Job>,
    /// Transactions committed, since the start (read by the tests; /metrics has the same).
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the tests only"))]
    commits: Arc<AtomicUsize>,
}

impl AuditAppender {
    /// Starts the thread for the database at `path`, taking its turns on `changes`. Must be
    /// called inside the runtime (the thread uses it to wait for its turn).
    pub(crate) fn start(path: &Path, changes: GroupCommit) -> StoreResult<AuditAppender> {
        let mut conn = open(path)?;
        let runtime = Handle::current();
        let (jobs, waiting) = mpsc::channel();
        let commits = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&commits);
        std::thread::Builder::new()
            .name("ferry-audit".into())
            .spawn(move || run(&mut conn, waiting, changes, runtime, &counted))
            .map_err(|e| StoreError::Other(format!("cannot start the audit writer: {e}")))?;
        Ok(AuditAppender { jobs, commits })
    }

    /// Transactions committed since the start.
    #[cfg(test)]
    pub(crate) fn commits(&self) -> usize {
        self.commits.load(Ordering::SeqCst)
    }

    /// Appends `entry`, returning once it is committed (durable) or has failed.
    pub(crate) async fn append(&self, at: Timestamp, entry: AuditEntry) -> StoreResult<()> {
        let (done, outcome) = oneshot::channel();
        self.jobs
            .send(Job { at, entry, done })
            .map_err(|_| StoreError::Unavailable("the audit writer has stopped".into()))?;
        match outcome.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(why),
            Err(_) => Err(StoreError::Unavailable(
                "the audit writer stopped before the record was committed".into(),
            )),
        }
    }
}

/// Appends `entry` as the only change of `tx` (begun on the caller's thread because the
/// process was quiet) and commits it.
pub(crate) async fn append_quietly(
    tx: Box<dyn GroupedTx>,
    at: Timestamp,
    entry: AuditEntry,
) -> StoreResult<()> {
    append_alone_in(tx, at, entry)
        .await
        .map_err(committed_error)?;
    metrics::counter!("ferry_audit_appended_alone_total", "path" => "here").increment(1);
    Ok(())
}

/// How long the writer waits for another process's writer (the CLI).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

fn committed_error(e: StoreError) -> StoreError {
    crate::errors::failed_change(e, "the audit record could not be committed")
}

/// A writing connection to the database at `path`, set up as sqlx's are.
pub(crate) fn open(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        PathBuf::from(path),
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
    // The same settings as sqlx's connections (connect.rs): each commit synced, another
    // process's writer (the CLI) waited for rather than failed, savepoint journals in memory.
    conn.busy_timeout(BUSY_TIMEOUT)
        .and_then(|()| conn.pragma_update(None, "synchronous", "FULL"))
        .and_then(|()| conn.pragma_update(None, "foreign_keys", "ON"))
        .and_then(|()| conn.pragma_update(None, "temp_store", "MEMORY"))
        .map_err(|e| StoreError::Other(format!("cannot set up the audit writer: {e}")))?;
    Ok(conn)
}

fn run(
    conn: &mut Connection,
    waiting: mpsc::Receiver<Job>,
    changes: GroupCommit,
    rt: Handle,
    commits: &AtomicUsize,
) {
    // The turn's guard may send a task to commit what others left: it needs the runtime.
    let _runtime = rt.enter();
    while let Ok(first) = waiting.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MOST_RECORDS {
            match waiting.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        // A panic here must not end the thread: every later record would fail with it.
        let batch = std::panic::AssertUnwindSafe(|| match rt.block_on(changes.turn()) {
            Ok(turn) => {
                let records = jobs
                    .iter_mut()
                    .map(|job| (job.at, std::mem::take(&mut job.entry)));
                let written = append_all(conn, records)
                    .map_err(|e| committed_error(crate::sqlite_reader::map(e)));
                drop(turn);
                written
            }
            Err(e) => Err(e),
        });
        let outcome = std::panic::catch_unwind(batch).unwrap_or_else(|_| {
            tracing::error!("the audit writer failed on a batch; its records were refused");
            Err(StoreError::Unavailable("the audit writer failed".into()))
        });
        if outcome.is_ok() {
            commits.fetch_add(1, Ordering::SeqCst);
            group_commit::count_commit(jobs.len());
            metrics::counter!("ferry_audit_appended_alone_total", "path" => "writer")
                .increment(jobs.len() as u64);
        }
        for job in jobs {
            let _ = job.done.send(outcome.clone());
        }
    }
}

/// Appends the records in one transaction, in order, and commits it.
fn append_all(
    conn: &mut Connection,
    records: impl Iterator<Item = (Timestamp, AuditEntry)>,
) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut head = tx
        .prepare_cached("SELECT seq, hash FROM audit_head WHERE id = 1")?
        .query_row([], |r| {
            Ok(AuditHead {
                seq: r.get(0)?,
                hash: r.get(1)?,
            })
        })?;
    for (at, entry) in records {
        let r = AuditRecord::next(&head, at, entry);
        insert_record(&tx, &r)?;
        head = AuditHead {
            seq: r.seq,
            hash: r.hash,
        };
    }
    move_head(&tx, &head)?;
    tx.commit()
}

/// Inserts `r` on `conn` (its transaction), with [`audit_writes::INSERT_RECORD`].
pub(crate) fn insert_record(conn: &Connection, r: &AuditRecord) -> rusqlite::Result<()> {
    let e = &r.entry;
    // The record's parameters appear in order, `$1` to `$21`: bound by position.
    conn.prepare_cached(audit_writes::INSERT_RECORD)?
        .execute(params![
            r.seq,
            r.at.0,
            e.operation,
            e.status,
            e.user_id,
            e.impersonator_id,
            e.application_id,
            e.client_version,
            e.client_ip,
            e.external_user,
            e.session_tag,
            e.target_user_id,
            e.folder_id,
            e.file_id,
            e.path,
            e.size,
            e.digest,
            e.detail,
            r.prev_hash,
            r.hash,
            e.declared_ip,
        ])?;
    Ok(())
}

/// Moves the chain's head on `conn` (its transaction).
pub(crate) fn move_head(conn: &Connection, head: &AuditHead) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE audit_head SET seq = ?1, hash = ?2 WHERE id = 1")?
        .execute(params![head.seq, head.hash])?;
    Ok(())
}

#[cfg(test)]
mod tests;
