//! The search's reads (`SearchFolders`, `SearchFiles`): live items whose name key matches a
//! `LIKE` pattern (escaped by the Service), a page at a time by ID.

use ferry_core::domain::{File, FileId, Folder, FolderId};
use ferry_core::store::StoreResult;
use sqlx::AnyPool;

use crate::errors;
use crate::rows::{self, file_columns, folder_columns};

/// Live folders whose name key matches `pattern`, after the folder `after`, by ID.
pub(crate) async fn folders(
    pool: &AnyPool,
    pattern: &str,
    after: FolderId,
    limit: i64,
) -> StoreResult<Vec<Folder>> {
    sqlx::query(concat!(
        "SELECT ",
        folder_columns!(),
        " FROM folders f WHERE f.deleted = 0 AND f.name_key LIKE $1 ESCAPE '\\' \
         AND f.id > $2 ORDER BY f.id LIMIT $3"
    ))
    .bind(pattern)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(errors::db)?
    .iter()
    .map(rows::folder)
    .collect()
}

/// Live files whose name key matches `pattern`, after the file `after`, by ID.
pub(crate) async fn files(
    pool: &AnyPool,
    pattern: &str,
    after: FileId,
    limit: i64,
) -> StoreResult<Vec<File>> {
    sqlx::query(concat!(
        "SELECT ",
        file_columns!(),
        " FROM files WHERE deleted = 0 AND name_key LIKE $1 ESCAPE '\\' \
         AND id > $2 ORDER BY id LIMIT $3"
    ))
    .bind(pattern)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(errors::db)?
    .iter()
    .map(rows::file)
    .collect()
}
