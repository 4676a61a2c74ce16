//! Appending to the audit log inside a change's transaction (`tx.rs`). On PostgreSQL the
//! statement that inserts a record also moves the chain's head (a data-modifying `WITH`), so
//! a change with one record, the commonest kind (a download, an upload), costs one round trip
//! to the database fewer than an insert and then the head's update at commit (issue 21: a
//! `GET`'s audit transaction was five statements there, begin, lock, insert, head, commit; now
//! four). SQLite has no data-modifying `WITH`, but sqlx runs several statements sent in one
//! call on its SQLite thread without coming back between them: there the insert and the
//! head's update go together, one hand-off to that thread instead of two.

use ferry_core::domain::AuditRecord;
use ferry_core::store::StoreResult;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, AnyPool};

use crate::connect::Engine;
use crate::errors;

/// An audit record's columns, in the order of its 21 parameters.
macro_rules! record_columns {
    () => {
        "seq, at, operation, status, user_id, impersonator_id, application_id, client_version, \
         client_ip, external_user, session_tag, target_user_id, folder_id, file_id, path, size, \
         digest, detail, prev_hash, hash, declared_ip"
    };
}
pub(crate) use record_columns;

/// The 21 parameters, for [`record_columns`].
macro_rules! record_parameters {
    () => {
        "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
         $20, $21"
    };
}

/// The insert of one record, with its 21 parameters in this order.
macro_rules! insert_record {
    () => {
        concat!(
            "INSERT INTO audit_log (",
            record_columns!(),
            ") VALUES (",
            record_parameters!(),
            ")"
        )
    };
}

/// The insert of one record, parameters `$1`…`$21` in the order [`append`] binds them; also
/// SQLite's audit writer's (`audit_appender.rs`), so that both writers name the same columns.
pub(crate) const INSERT_RECORD: &str = insert_record!();

/// Inserts `r` and moves the chain's head to it, in one call to the database.
pub(crate) async fn append(
    conn: &mut AnyConnection,
    engine: Engine,
    r: &AuditRecord,
) -> StoreResult<()> {
    let (sql, rows) = match engine {
        Engine::Postgres => (
            concat!(
                "WITH appended AS (",
                insert_record!(),
                " RETURNING seq, hash) UPDATE audit_head SET seq = appended.seq, \
                 hash = appended.hash FROM appended WHERE audit_head.id = 1"
            ),
            1,
        ),
        // Two statements in one call: sqlx runs them in turn on its SQLite thread, binding
        // `$N` by number in each, so the pair costs one hand-off (rows: 1 inserted + 1 moved).
        Engine::Sqlite => (
            concat!(
                insert_record!(),
                "; UPDATE audit_head SET seq = $1, hash = $20 WHERE id = 1"
            ),
            2,
        ),
    };
    let done = bound(sql, r).execute(conn).await.map_err(errors::db)?;
    if done.rows_affected() != rows {
        // The head row is made by the first migration and never deleted: its absence is a
        // damaged database, and the chain must not go on without it.
        return Err(errors::db(sqlx::Error::RowNotFound));
    }
    Ok(())
}

/// PostgreSQL: inserts `r` and moves the head to it in one statement, outside any
/// transaction (so the statement is its own commit), if the head is still the one `r`
/// follows. Returns whether it was (else nothing changed: another writer moved the head).
pub(crate) async fn append_after_head(pool: &AnyPool, r: &AuditRecord) -> StoreResult<bool> {
    // The head's row lock, taken by the UPDATE, orders this against every other writer; one
    // that moved the head first makes the condition false once the lock is had, and then
    // the INSERT has no row to take its values from.
    let sql = concat!(
        "WITH moved AS (UPDATE audit_head SET seq = $1, hash = $20 \
         WHERE id = 1 AND seq = $1 - 1 AND hash = $19 RETURNING id) ",
        "INSERT INTO audit_log (",
        record_columns!(),
        ") SELECT ",
        record_parameters!(),
        " FROM moved"
    );
    let done = bound(sql, r).execute(pool).await.map_err(errors::db)?;
    Ok(done.rows_affected() == 1)
}

/// `sql` with the record's 21 parameters bound in [`INSERT_RECORD`]'s order.
fn bound<'q>(sql: &'static str, r: &'q AuditRecord) -> Query<'q, Any, AnyArguments> {
    bind_record(sqlx::query(sql), r)
}

/// `q` with the record's 21 parameters bound after those it has, in [`INSERT_RECORD`]'s
/// order.
pub(crate) fn bind_record<'q>(
    q: Query<'q, Any, AnyArguments>,
    r: &'q AuditRecord,
) -> Query<'q, Any, AnyArguments> {
    let e = &r.entry;
    q.bind(r.seq)
        .bind(r.at.0)
        .bind(&e.operation)
        .bind(&e.status)
        .bind(e.user_id)
        .bind(e.impersonator_id)
        .bind(e.application_id)
        .bind(&e.client_version)
        .bind(&e.client_ip)
        .bind(&e.external_user)
        .bind(&e.session_tag)
        .bind(e.target_user_id)
        .bind(e.folder_id)
        .bind(e.file_id)
        .bind(&e.path)
        .bind(e.size)
        .bind(&e.digest)
        .bind(&e.detail)
        .bind(&r.prev_hash)
        .bind(&r.hash)
        .bind(&e.declared_ip)
}
