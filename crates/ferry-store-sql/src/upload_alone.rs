//! PostgreSQL: an upload recorded alone, when no other change is under way in this process,
//! is one statement, its own commit (issue 21: a lone upload's change was four round trips,
//! begin, the head's lock, the upload's statement, commit; now one).
//!
//! As for a record alone (`audit_alone.rs`), the record is chained to the head this process
//! last committed, a guess, and the statement (`upload_as_seen.rs`, with the head's check)
//! first locks the head if it is still that one; if it is not, it writes nothing and the
//! upload goes the usual way, a grouped change that locks and reads the head.
//!
//! Why the guard may be read in the same statement as the lock is taken (a batch locks the
//! head before it reads): every change to live files or folders comes with its audit record
//! (DESIGN.md, invariant 2), so moves the head, whichever node makes it, and the head's
//! sequence only grows. So if the head is the guess once its lock
//! is held, nothing changed files or folders since this process's last commit, and the
//! statement's snapshot, taken after that commit, sees them as they are; the lock then keeps
//! them so until this statement commits. If another change moved the head meanwhile, the
//! lock waits for it and the check fails (PostgreSQL re-reads a locked row's newest version).
//!
//! The turn is taken only if it is free at once ([`GroupCommit::quiet_turn`]): under load
//! uploads join a batch, as before, to share its commit.
//!
//! [`GroupCommit::quiet_turn`]: crate::group_commit::GroupCommit::quiet_turn

use ferry_core::Timestamp;
use ferry_core::domain::{AuditEntry, AuditHead, File, FileId};
use ferry_core::store::StoreResult;

use crate::connect::Engine;
use crate::store::SqlStore;
use crate::{errors, group_commit, upload_as_seen};

/// Records the upload of `f` (as its checks saw it) alone if this process is quiet and knows
/// the head; `None`: not recorded (busy, no guess, or the guess or the guard failed).
pub(crate) async fn record(
    store: &SqlStore,
    f: &File,
    inline: Option<&[u8]>,
    (at, entry): (Timestamp, AuditEntry),
) -> StoreResult<Option<FileId>> {
    // SQLite's quiet uploads have their own path (`quiet_tx.rs`), through begin_grouped.
    if store.engine != Engine::Postgres {
        return Ok(None);
    }
    let Some(turn) = store.changes.quiet_turn() else {
        return Ok(None);
    };
    let Some(head) = store.changes.head_guess() else {
        return Ok(None);
    };
    let mut conn = store.pool.acquire().await.map_err(errors::db)?;
    let done = upload_as_seen::record(
        &mut conn,
        &store.file_ids,
        (&head, true),
        f,
        inline,
        (at, entry),
    )
    .await;
    let (id, r) = match done {
        Ok(Some(done)) => done,
        Ok(None) => {
            // A stale guess or a changed folder or name: the grouped change will tell, and
            // its commit notes the head again.
            store.changes.note_head(None);
            metrics::counter!("ferry_uploads_recorded_alone_total", "path" => "change")
                .increment(1);
            return Ok(None);
        }
        Err(e) => {
            // Whether it committed is unknown: the guess may be wrong either way.
            store.changes.note_head(None);
            return Err(e);
        }
    };
    store.changes.note_head(Some(AuditHead {
        seq: r.seq,
        hash: r.hash,
    }));
    group_commit::count_commit(1);
    metrics::counter!("ferry_uploads_recorded_alone_total", "path" => "guess").increment(1);
    drop(turn);
    Ok(Some(id))
}
