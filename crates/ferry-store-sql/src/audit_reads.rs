//! The audit log's filtered reads (`GetAuditLog`, the console's audit page and its export, a
//! file's activity). `Store` delegates here.

use ferry_core::domain::AuditRecord;
use ferry_core::store::{AuditFilter, StoreResult};
use sqlx::AnyPool;

use crate::errors;
use crate::rows::{self, audit_columns};

pub(crate) async fn audit_query(
    pool: &AnyPool,
    f: &AuditFilter,
    skip: i64,
    take: i64,
) -> StoreResult<Vec<AuditRecord>> {
    // One static statement: each filter is "no value, or equal". The casts give
    // PostgreSQL the parameter types it cannot infer from `IS NULL`.
    sqlx::query(concat!(
        "SELECT ",
        audit_columns!(),
        " FROM audit_log WHERE \
         (CAST($1 AS TEXT) IS NULL OR operation = $1) \
         AND (CAST($2 AS BIGINT) IS NULL OR user_id = $2) \
         AND (CAST($3 AS BIGINT) IS NULL OR application_id = $3) \
         AND (CAST($4 AS BIGINT) IS NULL OR folder_id = $4) \
         AND (CAST($5 AS BIGINT) IS NULL OR at >= $5) \
         AND (CAST($6 AS BIGINT) IS NULL OR at < $6) \
         AND (CAST($7 AS BIGINT) IS NULL OR file_id = $7) \
         AND (CAST($10 AS BIGINT) IS NULL OR seq < $10) \
         ORDER BY seq DESC LIMIT $8 OFFSET $9"
    ))
    .bind(&f.operation)
    .bind(f.user_id)
    .bind(f.application_id)
    .bind(f.folder_id)
    .bind(f.from.map(|t| t.0))
    .bind(f.to.map(|t| t.0))
    .bind(f.file_id)
    .bind(take)
    .bind(skip)
    .bind(f.before_seq)
    .fetch_all(pool)
    .await
    .map_err(errors::db)?
    .iter()
    .map(rows::audit)
    .collect()
}
