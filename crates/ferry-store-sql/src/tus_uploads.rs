//! tus uploads in progress ([`TransferState`]'s second half): one row each, and the *hold*
//! of the node answering its `PATCH` (`holder`, until `held_until`), which a node that dies
//! lets run out. A request that finds the upload held records its wish to take over
//! (`takeover`), which the holder reads at its next renewal and answers by letting go.
//! Statements of their own: bookkeeping, not audited, no audit lock.

use ferry_core::Timestamp;
use ferry_core::domain::UserId;
use ferry_core::store::StoreResult;
use ferry_core::transfer_state::{Hold, StoredUpload, UploadPosition};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::connect::Engine;
use crate::db_clock::{postgres_now, sqlite_now};
use crate::errors;
use crate::store::SqlStore;

/// Columns selected for an upload.
macro_rules! columns {
    () => {
        "id, owner_key, length, upload_offset, request, staged, hash_state, file_id, sha256, last_used_at"
    };
}

fn decode(r: &AnyRow) -> Result<StoredUpload, sqlx::Error> {
    let hex: String = r.try_get("hash_state")?;
    let file_id: Option<i64> = r.try_get("file_id")?;
    let sha256: Option<String> = r.try_get("sha256")?;
    Ok(StoredUpload {
        id: r.try_get("id")?,
        owner_key: r.try_get("owner_key")?,
        length: r.try_get::<i64, _>("length")?.max(0) as u64,
        offset: r.try_get::<i64, _>("upload_offset")?.max(0) as u64,
        request: r.try_get("request")?,
        staged: r.try_get("staged")?,
        hash_state: decode_hex(&hex),
        done: file_id.zip(sha256),
        last_used_at: Timestamp(r.try_get("last_used_at")?),
    })
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex back to bytes; a malformed state reads as empty (and is refused where it is used).
fn decode_hex(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2).unwrap_or("zz"), 16))
        .collect::<Result<_, _>>()
        .unwrap_or_default()
}

pub(crate) async fn insert(
    s: &SqlStore,
    u: &StoredUpload,
    user: UserId,
    now: Timestamp,
) -> StoreResult<()> {
    let _turn = s.write_turn().await?;
    sqlx::query(
        "INSERT INTO tus_uploads (id, owner_key, length, upload_offset, request, staged, \
         hash_state, created_at, last_used_at, user_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
    )
    .bind(&u.id)
    .bind(&u.owner_key)
    .bind(u.length as i64)
    .bind(u.offset as i64)
    .bind(&u.request)
    .bind(&u.staged)
    .bind(encode_hex(&u.hash_state))
    .bind(now.0)
    .bind(user)
    .execute(&s.pool)
    .await
    .map_err(|e| errors::map(e, "an upload with this ID"))?;
    Ok(())
}

pub(crate) async fn get(s: &SqlStore, id: &str, owner: &str) -> StoreResult<Option<StoredUpload>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM tus_uploads WHERE id = $1 AND owner_key = $2"
    );
    sqlx::query(sql)
        .bind(id)
        .bind(owner)
        .fetch_optional(&s.pool)
        .await
        .map_err(errors::db)?
        .map(|r| decode(&r))
        .transpose()
        .map_err(errors::db)
}

pub(crate) async fn in_progress(s: &SqlStore, owner: &str) -> StoreResult<(i64, i64)> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS total, \
         COALESCE(SUM(CASE WHEN owner_key = $1 THEN 1 ELSE 0 END), 0) AS mine \
         FROM tus_uploads WHERE file_id IS NULL",
    )
    .bind(owner)
    .fetch_one(&s.pool)
    .await
    .map_err(errors::db)?;
    let total: i64 = row.try_get("total").map_err(errors::db)?;
    let mine: i64 = row.try_get("mine").map_err(errors::db)?;
    Ok((total, mine))
}

/// The declared lengths of `user`'s uploads in progress (migration 0025). PostgreSQL sums
/// `BIGINT`s as `NUMERIC`: cast back.
pub(crate) async fn reserved(s: &SqlStore, user: UserId) -> StoreResult<u64> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(length), 0) AS BIGINT) AS n FROM tus_uploads \
         WHERE user_id = $1 AND file_id IS NULL",
    )
    .bind(user)
    .fetch_one(&s.pool)
    .await
    .map_err(errors::db)?;
    let n: i64 = row.try_get("n").map_err(errors::db)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(crate) async fn hold(
    s: &SqlStore,
    id: &str,
    owner: &str,
    holder: &str,
    hold_ms: i64,
    now: Timestamp,
) -> StoreResult<Hold> {
    macro_rules! take {
        ($now:expr) => {
            concat!(
                "UPDATE tus_uploads SET holder = $3, held_until = ",
                $now,
                " + $5, takeover = 0, last_used_at = $4 \
                 WHERE id = $1 AND owner_key = $2 AND file_id IS NULL \
                 AND (holder IS NULL OR held_until < ",
                $now,
                ") RETURNING ",
                columns!()
            )
        };
    }
    let sql = match s.engine() {
        Engine::Sqlite => take!(sqlite_now!()),
        Engine::Postgres => take!(postgres_now!()),
    };
    let _turn = s.write_turn().await?;
    let taken = sqlx::query(sql)
        .bind(id)
        .bind(owner)
        .bind(holder)
        .bind(now.0)
        .bind(hold_ms)
        .fetch_optional(&s.pool)
        .await
        .map_err(errors::db)?;
    if let Some(row) = taken {
        return Ok(Hold::Taken(Box::new(decode(&row).map_err(errors::db)?)));
    }
    let sql = concat!(
        "UPDATE tus_uploads SET takeover = 1 WHERE id = $1 AND owner_key = $2 RETURNING ",
        columns!()
    );
    let found = sqlx::query(sql)
        .bind(id)
        .bind(owner)
        .fetch_optional(&s.pool)
        .await
        .map_err(errors::db)?;
    Ok(
        match found.map(|r| decode(&r)).transpose().map_err(errors::db)? {
            None => Hold::Missing,
            Some(u) if u.done.is_some() => Hold::Complete(Box::new(u)),
            Some(_) => Hold::Busy,
        },
    )
}

pub(crate) async fn renew(s: &SqlStore, id: &str, holder: &str, hold_ms: i64) -> StoreResult<bool> {
    macro_rules! renew {
        ($now:expr) => {
            concat!(
                "UPDATE tus_uploads SET held_until = ",
                $now,
                " + $3 WHERE id = $1 AND holder = $2 RETURNING takeover"
            )
        };
    }
    let sql = match s.engine() {
        Engine::Sqlite => renew!(sqlite_now!()),
        Engine::Postgres => renew!(postgres_now!()),
    };
    let _turn = s.write_turn().await?;
    let row = sqlx::query(sql)
        .bind(id)
        .bind(holder)
        .bind(hold_ms)
        .fetch_optional(&s.pool)
        .await
        .map_err(errors::db)?;
    match row {
        Some(r) => Ok(r.try_get::<i64, _>("takeover").map_err(errors::db)? == 0),
        None => Ok(false),
    }
}

pub(crate) async fn checkpoint(
    s: &SqlStore,
    id: &str,
    holder: &str,
    at: &UploadPosition,
    now: Timestamp,
) -> StoreResult<bool> {
    let _turn = s.write_turn().await?;
    let done = sqlx::query(
        "UPDATE tus_uploads SET upload_offset = $3, staged = $4, hash_state = $5, \
         holder = NULL, held_until = NULL, last_used_at = $6 WHERE id = $1 AND holder = $2",
    )
    .bind(id)
    .bind(holder)
    .bind(at.offset as i64)
    .bind(&at.staged)
    .bind(encode_hex(&at.hash_state))
    .bind(now.0)
    .execute(&s.pool)
    .await
    .map_err(errors::db)?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn complete(
    s: &SqlStore,
    id: &str,
    holder: &str,
    file_id: i64,
    sha256: &str,
    now: Timestamp,
) -> StoreResult<bool> {
    let _turn = s.write_turn().await?;
    let done = sqlx::query(
        "UPDATE tus_uploads SET file_id = $3, sha256 = $4, upload_offset = length, staged = '', \
         hash_state = '', holder = NULL, held_until = NULL, last_used_at = $5 \
         WHERE id = $1 AND holder = $2",
    )
    .bind(id)
    .bind(holder)
    .bind(file_id)
    .bind(sha256)
    .bind(now.0)
    .execute(&s.pool)
    .await
    .map_err(errors::db)?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn release(s: &SqlStore, id: &str, holder: &str) -> StoreResult<()> {
    let _turn = s.write_turn().await?;
    sqlx::query(
        "UPDATE tus_uploads SET holder = NULL, held_until = NULL WHERE id = $1 AND holder = $2",
    )
    .bind(id)
    .bind(holder)
    .execute(&s.pool)
    .await
    .map_err(errors::db)?;
    Ok(())
}

pub(crate) async fn delete(s: &SqlStore, id: &str) -> StoreResult<bool> {
    let _turn = s.write_turn().await?;
    let done = sqlx::query("DELETE FROM tus_uploads WHERE id = $1")
        .bind(id)
        .execute(&s.pool)
        .await
        .map_err(errors::db)?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn stale(
    s: &SqlStore,
    idle_before: Timestamp,
    done_before: Timestamp,
    limit: i64,
) -> StoreResult<Vec<StoredUpload>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM tus_uploads WHERE \
         (file_id IS NULL AND last_used_at < $1) OR (file_id IS NOT NULL AND last_used_at < $2) \
         ORDER BY last_used_at LIMIT $3"
    );
    sqlx::query(sql)
        .bind(idle_before.0)
        .bind(done_before.0)
        .bind(limit)
        .fetch_all(&s.pool)
        .await
        .map_err(errors::db)?
        .iter()
        .map(decode)
        .collect::<Result<_, _>>()
        .map_err(errors::db)
}
