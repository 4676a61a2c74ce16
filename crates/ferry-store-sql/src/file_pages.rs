//! A page of a folder's files in the order the web client asks for, a page by offset (the API's
//! `GetFiles`), and the folder's file count up to a cap. Pages are read by keyset, not by offset: "the page after file 123" is a
//! range scan of the order's index starting at that file's key, so the last page of a
//! 100,000-file folder costs what the first does (an `OFFSET` walks every row before it).
//! Each order and direction is its own literal statement (no SQL is built from strings), read
//! from its own index (`files_by_folder`, and migration 0013's size and time indexes).

use ferry_core::domain::{File, FileId, FileOrder, FolderId};
use ferry_core::store::StoreResult;
use sqlx::{AnyPool, Row};

use crate::errors;
use crate::rows::{self, file_columns};

/// The first page in an order.
macro_rules! first {
    ($order:literal) => {
        concat!(
            "SELECT ",
            file_columns!(),
            " FROM files WHERE folder_id = $1 AND deleted = 0 ORDER BY ",
            $order,
            " LIMIT $2"
        )
    };
}

/// The page after (`>`) or before (`<`) the file `$2` in an order: a row-value comparison with
/// that file's key, which both engines read as a range of the index.
macro_rules! after {
    ($key:literal, $cmp:literal, $order:literal) => {
        concat!(
            "SELECT ",
            file_columns!(),
            " FROM files WHERE folder_id = $1 AND deleted = 0 AND (",
            $key,
            ", id) ",
            $cmp,
            " (SELECT ",
            $key,
            ", id FROM files WHERE id = $2) ORDER BY ",
            $order,
            " LIMIT $3"
        )
    };
}

/// `take` files of `folder` in `order` (reversed when `descending`), starting after the file
/// `after` in that order when given.
pub(crate) async fn files_ordered(
    pool: &AnyPool,
    folder: FolderId,
    order: FileOrder,
    descending: bool,
    after: Option<FileId>,
    take: i64,
) -> StoreResult<Vec<File>> {
    use FileOrder::{Modified, Name, Size};
    let query = match (order, descending, after) {
        (Name, false, None) => sqlx::query(first!("name_key, id")),
        (Name, true, None) => sqlx::query(first!("name_key DESC, id DESC")),
        (Size, false, None) => sqlx::query(first!("size, id")),
        (Size, true, None) => sqlx::query(first!("size DESC, id DESC")),
        (Modified, false, None) => sqlx::query(first!("modified_at, id")),
        (Modified, true, None) => sqlx::query(first!("modified_at DESC, id DESC")),
        (Name, false, Some(_)) => sqlx::query(after!("name_key", ">", "name_key, id")),
        (Name, true, Some(_)) => sqlx::query(after!("name_key", "<", "name_key DESC, id DESC")),
        (Size, false, Some(_)) => sqlx::query(after!("size", ">", "size, id")),
        (Size, true, Some(_)) => sqlx::query(after!("size", "<", "size DESC, id DESC")),
        (Modified, false, Some(_)) => sqlx::query(after!("modified_at", ">", "modified_at, id")),
        (Modified, true, Some(_)) => {
            sqlx::query(after!("modified_at", "<", "modified_at DESC, id DESC"))
        }
    };
    let query = query.bind(folder);
    let query = match after {
        Some(id) => query.bind(id),
        None => query,
    };
    query
        .bind(take)
        .fetch_all(pool)
        .await
        .map_err(errors::db)?
        .iter()
        .map(rows::file)
        .collect()
}

/// How many live files a folder holds, counting no further than `cap` (a count of a 100,000-
/// file folder would cost more than the page it is shown on).
pub(crate) async fn file_count(pool: &AnyPool, folder: FolderId, cap: i64) -> StoreResult<i64> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM files WHERE folder_id = $1 AND deleted = 0 \
         LIMIT $2) AS some_files",
    )
    .bind(folder)
    .bind(cap)
    .fetch_one(pool)
    .await
    .map_err(errors::db)?;
    row.try_get("n").map_err(errors::db)
}

/// A page of a folder's live files by offset, in name key order then ID (`GetFiles`).
pub(crate) async fn files(
    pool: &AnyPool,
    folder: FolderId,
    skip: i64,
    take: i64,
) -> StoreResult<Vec<File>> {
    sqlx::query(concat!(
        "SELECT ",
        file_columns!(),
        " FROM files WHERE folder_id = $1 AND deleted = 0 \
         ORDER BY name_key, id LIMIT $2 OFFSET $3"
    ))
    .bind(folder)
    .bind(take)
    .bind(skip)
    .fetch_all(pool)
    .await
    .map_err(errors::db)?
    .iter()
    .map(rows::file)
    .collect()
}
