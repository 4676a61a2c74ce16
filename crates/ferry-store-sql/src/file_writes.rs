//! Writes to files and their versions inside a change: a new file with its first version, a new
//! version or any other change of a file, a content handed to another file, deletions below a
//! folder, and the purge's bookkeeping. `StoreTx` delegates here.

use ferry_core::Timestamp;
use ferry_core::domain::{File, FileId, FolderId};
use ferry_core::store::StoreResult;
use ferry_core::text::item_key;
use sqlx::{AnyConnection, Row};

use crate::rows::file_columns;
use crate::{errors, rows};

async fn insert_version(conn: &mut AnyConnection, id: FileId, f: &File) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO file_versions (file_id, version, size, sha256, content_key, created_at, \
         created_by, client_modified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(f.version)
    .bind(f.size)
    .bind(&f.sha256)
    .bind(&f.content_key)
    .bind(f.modified_at.0)
    .bind(f.modified_by)
    .bind(f.client_modified_at.map(|t| t.0))
    .execute(&mut *conn)
    .await
    .map_err(errors::db)?;
    Ok(())
}

pub(crate) async fn insert_file(conn: &mut AnyConnection, f: &File) -> StoreResult<FileId> {
    let row = sqlx::query(
        "INSERT INTO files (folder_id, name, name_key, version, size, sha256, content_key, \
         created_at, modified_at, created_by, modified_by, deleted, client_modified_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12) RETURNING id",
    )
    .bind(f.folder_id)
    .bind(&f.name)
    .bind(item_key(&f.name))
    .bind(f.version)
    .bind(f.size)
    .bind(&f.sha256)
    .bind(&f.content_key)
    .bind(f.created_at.0)
    .bind(f.modified_at.0)
    .bind(f.created_by)
    .bind(f.modified_by)
    .bind(f.client_modified_at.map(|t| t.0))
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| errors::map(e, "a file with that name in the folder"))?;
    let id: FileId = row.try_get("id").map_err(errors::db)?;
    insert_version(conn, id, f).await?;
    Ok(id)
}

pub(crate) async fn update_file(
    conn: &mut AnyConnection,
    f: &File,
    new_version: bool,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE files SET folder_id = $1, name = $2, name_key = $3, version = $4, size = $5, \
         sha256 = $6, content_key = $7, modified_at = $8, modified_by = $9, deleted = $10, \
         deleted_at = CASE WHEN $10 = 1 THEN $8 ELSE NULL END, client_modified_at = $12 \
         WHERE id = $11",
    )
    .bind(f.folder_id)
    .bind(&f.name)
    .bind(item_key(&f.name))
    .bind(f.version)
    .bind(f.size)
    .bind(&f.sha256)
    .bind(&f.content_key)
    .bind(f.modified_at.0)
    .bind(f.modified_by)
    .bind(i64::from(f.deleted))
    .bind(f.id)
    .bind(f.client_modified_at.map(|t| t.0))
    .execute(&mut *conn)
    .await
    .map_err(|e| errors::map(e, "a file with that name in the folder"))?;
    if new_version {
        insert_version(conn, f.id, f).await?;
    } else {
        // The current version's client time is one of the file's current fields.
        sqlx::query(
            "UPDATE file_versions SET client_modified_at = $1 WHERE file_id = $2 AND version = $3",
        )
        .bind(f.client_modified_at.map(|t| t.0))
        .bind(f.id)
        .bind(f.version)
        .execute(&mut *conn)
        .await
        .map_err(errors::db)?;
    }
    Ok(())
}

pub(crate) async fn hand_over_content(
    conn: &mut AnyConnection,
    file: FileId,
    content_key: &str,
    at: Timestamp,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM file_versions WHERE file_id = $1 AND content_key = $2")
        .bind(file)
        .bind(content_key)
        .execute(&mut *conn)
        .await
        .map_err(errors::db)?;
    sqlx::query("UPDATE files SET deleted = 1, deleted_at = $2 WHERE id = $1")
        .bind(file)
        .bind(at.0)
        .execute(&mut *conn)
        .await
        .map_err(errors::db)?;
    Ok(())
}

pub(crate) async fn delete_files_below(
    conn: &mut AnyConnection,
    folder: FolderId,
    at: Timestamp,
) -> StoreResult<i64> {
    let done = sqlx::query(
        "UPDATE files SET deleted = 1, deleted_at = $2 WHERE deleted = 0 AND folder_id IN ( \
             WITH RECURSIVE below (id) AS ( \
                 SELECT CAST($1 AS BIGINT) \
                 UNION ALL \
                 SELECT f.id FROM folders f JOIN below b ON f.parent_id = b.id) \
             SELECT id FROM below)",
    )
    .bind(folder)
    .bind(at.0)
    .execute(&mut *conn)
    .await
    .map_err(errors::db)?;
    Ok(done.rows_affected() as i64)
}

pub(crate) async fn files_to_purge(
    conn: &mut AnyConnection,
    cutoff: Timestamp,
    limit: i64,
) -> StoreResult<Vec<File>> {
    sqlx::query(concat!(
        "SELECT ",
        file_columns!(),
        " FROM files WHERE deleted = 1 AND purged = 0 AND deleted_at <= $1 \
         ORDER BY deleted_at LIMIT $2"
    ))
    .bind(cutoff.0)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
    .map_err(errors::db)?
    .iter()
    .map(rows::file)
    .collect()
}

pub(crate) async fn mark_purged(conn: &mut AnyConnection, file: FileId) -> StoreResult<()> {
    sqlx::query("UPDATE files SET purged = 1 WHERE id = $1")
        .bind(file)
        .execute(&mut *conn)
        .await
        .map_err(errors::db)?;
    Ok(())
}
