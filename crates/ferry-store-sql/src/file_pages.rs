//! A page of a folder's files in the order the web client asks for, and the folder's file
//! count. Each order is its own literal statement (no SQL is built from strings), read from
//! its own index (`files_by_folder`, and migration 0013's size and time indexes), so a page
//! of a 100,000-file folder costs about what a page of a small one does.

use ferry_core::domain::{File, FileOrder, FolderId};
use ferry_core::store::StoreResult;
use sqlx::{AnyPool, Row};

use crate::errors;
use crate::rows::{self, file_columns};

macro_rules! ordered {
    ($order:literal) => {
        concat!(
            "SELECT ",
            file_columns!(),
            " FROM files WHERE folder_id = $1 AND deleted = 0 ORDER BY ",
            $order,
            " LIMIT $2 OFFSET $3"
        )
    };
}

pub(crate) async fn files_ordered(
    pool: &AnyPool,
    folder: FolderId,
    order: FileOrder,
    descending: bool,
    skip: i64,
    take: i64,
) -> StoreResult<Vec<File>> {
    let sql: &'static str = match (order, descending) {
        (FileOrder::Name, false) => ordered!("name_key, id"),
        (FileOrder::Name, true) => ordered!("name_key DESC, id DESC"),
        (FileOrder::Size, false) => ordered!("size, id"),
        (FileOrder::Size, true) => ordered!("size DESC, id DESC"),
        (FileOrder::Modified, false) => ordered!("modified_at, id"),
        (FileOrder::Modified, true) => ordered!("modified_at DESC, id DESC"),
    };
    sqlx::query(sql)
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

pub(crate) async fn file_count(pool: &AnyPool, folder: FolderId) -> StoreResult<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM files WHERE folder_id = $1 AND deleted = 0")
        .bind(folder)
        .fetch_one(pool)
        .await
        .map_err(errors::db)?;
    row.try_get("n").map_err(errors::db)
}
