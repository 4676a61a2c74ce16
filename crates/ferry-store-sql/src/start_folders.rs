//! Where a user's SFTP and FTPS sessions start, when an administrator chose a folder other
//! than the home folder (`user_start_folders`, migration 0012). `Store` and `StoreTx`
//! delegate here.

use ferry_core::domain::{FolderId, UserId};
use ferry_core::store::StoreResult;
use sqlx::{AnyConnection, AnyPool, Row};

use crate::errors;

pub(crate) async fn start_folder(pool: &AnyPool, user: UserId) -> StoreResult<Option<FolderId>> {
    let row = sqlx::query("SELECT folder_id FROM user_start_folders WHERE user_id = $1")
        .bind(user)
        .fetch_optional(pool)
        .await
        .map_err(errors::db)?;
    row.map(|r| r.try_get("folder_id").map_err(errors::db))
        .transpose()
}

pub(crate) async fn set_start_folder(
    conn: &mut AnyConnection,
    user: UserId,
    folder: Option<FolderId>,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM user_start_folders WHERE user_id = $1")
        .bind(user)
        .execute(&mut *conn)
        .await
        .map_err(errors::db)?;
    if let Some(folder) = folder {
        sqlx::query("INSERT INTO user_start_folders (user_id, folder_id) VALUES ($1, $2)")
            .bind(user)
            .bind(folder)
            .execute(&mut *conn)
            .await
            .map_err(errors::db)?;
    }
    Ok(())
}
