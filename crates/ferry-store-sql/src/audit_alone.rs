//! PostgreSQL: an audit record appended alone (a download's, a refused sign-in's) when no
//! other change is under way in this process is one statement, its own commit: the insert
//! and the move of the chain's head, on the condition that the head is still the one this
//! process last committed (issue 21: a `GET`'s record was four round trips, begin, the head's
//! lock, the insert, commit; now one).
//!
//! The head is a guess kept by `group_commit.rs` from this process's last commit. The
//! statement checks it under the head's row lock, so a stale guess (another node appended
//! since, or a commit's outcome was lost) changes nothing and the record goes the usual way,
//! a grouped change that locks and reads the head; the chain never depends on the guess.
//! The turn is held throughout, so this process's other writers wait as for any change; with
//! a batch open or writers waiting, the record joins the batch instead, to share its commit.
//! SQLite has its own writer of lone records (`audit_appender.rs`).

use ferry_core::Timestamp;
use ferry_core::domain::{AuditEntry, AuditHead, AuditRecord};
use ferry_core::store::{StoreResult, append_alone_in};

use crate::store::SqlStore;
use crate::tx::SqlTx;
use crate::{audit_writes, group_commit};

/// Appends `entry` as a record alone and returns once it is committed.
pub(crate) async fn append(store: &SqlStore, at: Timestamp, entry: AuditEntry) -> StoreResult<()> {
    let (turn, quiet) = store.changes.record_turn().await?;
    if let Some(head) = store.changes.head_guess().filter(|_| quiet) {
        let r = AuditRecord::next(&head, at, entry.clone());
        match audit_writes::append_after_head(&store.pool, &r).await {
            Ok(true) => {
                store.changes.note_head(Some(AuditHead {
                    seq: r.seq,
                    hash: r.hash,
                }));
                group_commit::count_commit(1);
                metrics::counter!("ferry_audit_appended_alone_total", "path" => "guess")
                    .increment(1);
                return Ok(());
            }
            Ok(false) => store.changes.note_head(None),
            Err(e) => {
                // Whether it committed is unknown: the guess may be wrong either way.
                store.changes.note_head(None);
                return Err(e);
            }
        }
    }
    metrics::counter!("ferry_audit_appended_alone_total", "path" => "change").increment(1);
    let turn = store.changes.change_on(turn, true, None).await?;
    let tx = Box::new(SqlTx::begin(turn, store).await?);
    append_alone_in(tx, at, entry).await
}
