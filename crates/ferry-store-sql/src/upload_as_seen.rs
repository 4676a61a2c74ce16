//! PostgreSQL: an upload recorded in one statement against what its checks saw
//! (`GroupedTx::record_upload_as_seen`; ferry-core's `upload_record.rs`), issue 21.
//!
//! Step by step, an upload's change is three round trips inside its batch: the folder and the
//! name read, the file with its version (and small bytes) written, the audit record appended.
//! Changes take turns on a batch's connection, so under load those round trips are the
//! batch's pace. Here one data-modifying `WITH` does all three, guarded by what the upload's
//! checks read before the change: the folder live, and the name free (a new file) or its live
//! file at the version before (a new version), with the folder, name and creation the checks
//! saw. If any of that changed, the guard stops the statement before it writes anything and
//! the caller takes the steps. The guard is read under the chain head's row lock, which the
//! change's batch holds from its start (`tx.rs`) and every writer of files and folders takes,
//! so what it reads cannot change before the commit.
//!
//! The audit record names the file, and the record's hash is computed here before the
//! statement is sent: a new file's ID is taken ahead from the table's sequence, a block of
//! [`BLOCK`] at a time ([`FileIds`]). Its cost: IDs are no longer in the order files were
//! made across nodes (each node's in order, blocks interleaved), and a guard that fails, or a
//! node that stops, leaves gaps, as a rolled-back insert always did.

use std::sync::Mutex;

use ferry_core::Timestamp;
use ferry_core::domain::{AuditEntry, AuditHead, AuditRecord, File, FileId};
use ferry_core::store::StoreResult;
use sqlx::{AnyConnection, Row};

use crate::audit_writes::{bind_record, record_columns};
use crate::errors;
use crate::file_writes::{insert_bound, version_columns};

/// New files' IDs taken from the sequence at a time: one round trip per this many new files.
const BLOCK: i64 = 16;

/// New files' IDs taken ahead from PostgreSQL's sequence, in order (shared by a store's
/// clones).
#[derive(Default)]
pub(crate) struct FileIds {
    /// Taken and not yet used, the next last.
    spare: Mutex<Vec<FileId>>,
}

impl FileIds {
    /// The next ID, from those taken ahead or, when none is left, a new block taken on `conn`.
    async fn next(&self, conn: &mut AnyConnection) -> StoreResult<FileId> {
        if let Some(id) = self.lock().pop() {
            return Ok(id);
        }
        let rows = sqlx::query(
            "SELECT nextval(pg_get_serial_sequence('files', 'id')) AS id \
             FROM generate_series(1, $1) ORDER BY 1 DESC",
        )
        .bind(BLOCK)
        .fetch_all(conn)
        .await
        .map_err(errors::db)?;
        let mut ids = rows
            .iter()
            .map(|row| row.try_get::<i64, _>("id"))
            .collect::<Result<Vec<_>, _>>()
            .map_err(errors::db)?;
        let id = ids
            .pop()
            .ok_or_else(|| errors::db(sqlx::Error::RowNotFound))?;
        // Another change may have taken a block meanwhile: both are kept, smallest last.
        let mut spare = self.lock();
        spare.extend(ids);
        spare.sort_unstable_by(|a, b| b.cmp(a));
        Ok(id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<FileId>> {
        self.spare.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The end of each statement: the small bytes kept (or not), the version row, the audit
/// record (`$14`…`$34`, `audit_writes.rs`'s order) and the head moved to it, all from the
/// file row written (`written`), so nothing is written when the guard stops it. The version
/// row's time and author are the file's modification (`$9`, `$11`).
macro_rules! rest_of_upload {
    ($kept:expr) => {
        concat!(
            $kept,
            "versioned AS (INSERT INTO ",
            version_columns!(),
            " SELECT id, $4, $5, $6, $7, $9, $11, $12 FROM written), ",
            "appended AS (INSERT INTO audit_log (",
            record_columns!(),
            ") SELECT $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, \
             $28, $29, $30, $31, $32, $33, $34 FROM written RETURNING seq, hash) ",
            "UPDATE audit_head SET seq = appended.seq, hash = appended.hash FROM appended \
             WHERE audit_head.id = 1"
        )
    };
}

/// A new file (`$13` its ID taken ahead; `$1`…`$12` in `file_writes.rs`'s insert order), if
/// the folder is live and no live file or folder there has the name key (and the `$gate`
/// holds): stopped by the guard rather than by migration 0022's trigger, since a failed
/// statement here would take its batch with it.
macro_rules! new_file {
    ($kept:expr, $head:expr, $gate:expr) => {
        concat!(
            "WITH ",
            $head,
            "free AS (SELECT 1 FROM folders WHERE id = $1 AND deleted = 0 ",
            $gate,
            " AND NOT EXISTS (SELECT 1 FROM files WHERE folder_id = $1 AND name_key = $3 \
             AND deleted = 0) \
             AND NOT EXISTS (SELECT 1 FROM folders WHERE parent_id = $1 AND name_key = $3 \
             AND deleted = 0)), ",
            "written AS (INSERT INTO files (id, folder_id, name, name_key, version, size, \
             sha256, content_key, created_at, modified_at, created_by, modified_by, deleted, \
             client_modified_at) SELECT $13, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, \
             $12 FROM free RETURNING id), ",
            rest_of_upload!($kept)
        )
    };
}

/// The next version of file `$13`, if it is live at the version before, with the folder,
/// name and creation the checks saw, in a live folder (and the `$gate` holds).
macro_rules! next_version {
    ($kept:expr, $head:expr, $gate:expr) => {
        concat!(
            "WITH ",
            $head,
            "written AS (UPDATE files SET version = $4, size = $5, sha256 = $6, \
             content_key = $7, modified_at = $9, modified_by = $11, client_modified_at = $12 \
             WHERE id = $13 AND folder_id = $1 AND name = $2 AND name_key = $3 AND deleted = 0 \
             AND version = $4 - 1 AND created_at = $8 AND created_by IS NOT DISTINCT FROM $10 \
             AND EXISTS (SELECT 1 FROM folders WHERE id = $1 AND deleted = 0) ",
            $gate,
            " RETURNING id), ",
            rest_of_upload!($kept)
        )
    };
}

/// For an upload alone (`upload_alone.rs`): the chain's head locked, if it is still the one
/// the record was chained to (`$14` its seq, `$32` its previous hash).
macro_rules! head_as_guessed {
    () => {
        "head AS (SELECT 1 FROM audit_head WHERE id = 1 AND seq = $14 - 1 AND hash = $32 \
         FOR UPDATE), "
    };
}

/// The condition an upload alone adds to its guard.
macro_rules! head_held {
    () => {
        "AND EXISTS (SELECT 1 FROM head)"
    };
}

/// A small file's bytes (`$35`) kept under its content key.
macro_rules! kept_inline {
    () => {
        "kept AS (INSERT INTO inline_contents (key, bytes) SELECT $7, $35 FROM written), "
    };
}

/// The statement for a new file or a new version, with small bytes or without, in a batch
/// holding the head's lock or alone (checking the head it was chained to, under its lock).
fn statement(new: bool, inline: bool, alone: bool) -> &'static str {
    match (new, inline, alone) {
        (true, true, false) => new_file!(kept_inline!(), "", ""),
        (true, false, false) => new_file!("", "", ""),
        (false, true, false) => next_version!(kept_inline!(), "", ""),
        (false, false, false) => next_version!("", "", ""),
        (true, true, true) => new_file!(kept_inline!(), head_as_guessed!(), head_held!()),
        (true, false, true) => new_file!("", head_as_guessed!(), head_held!()),
        (false, true, true) => next_version!(kept_inline!(), head_as_guessed!(), head_held!()),
        (false, false, true) => next_version!("", head_as_guessed!(), head_held!()),
    }
}

/// Records `f` (a new file when its ID is 0, else its next version) with its `inline` bytes
/// and the audit record of `entry` after `head`, in one statement, if the folder and name are
/// as `f` says the checks saw them. `alone`: the statement is its own transaction and `head`
/// a guess, checked under the head's lock (`upload_alone.rs`); else the caller's batch holds
/// that lock and read `head` under it. Returns the file's ID and the record appended; `None`
/// if the guard stopped it (nothing written).
pub(crate) async fn record(
    conn: &mut AnyConnection,
    ids: &FileIds,
    (head, alone): (&AuditHead, bool),
    f: &File,
    inline: Option<&[u8]>,
    (at, mut entry): (Timestamp, AuditEntry),
) -> StoreResult<Option<(FileId, AuditRecord)>> {
    let id = match f.id {
        0 => ids.next(conn).await?,
        id => id,
    };
    let sql = statement(f.id == 0, inline.is_some(), alone);
    entry.file_id = Some(id);
    let r = AuditRecord::next(head, at, entry);
    let mut q = bind_record(insert_bound(sql, f).bind(id), &r);
    if let Some(bytes) = inline {
        q = q.bind(bytes.to_vec());
    }
    let done = q
        .execute(conn)
        .await
        .map_err(|e| errors::map(e, "a file with that name in the folder"))?;
    Ok((done.rows_affected() == 1).then_some((id, r)))
}
