//! Folder writes inside a change: a new folder, a folder changed (renamed, moved, deleted,
//! described), and everything below a deleted folder deleted with it, after counting what of
//! it the deleting user holds no grant on.

use ferry_core::Timestamp;
use ferry_core::domain::{FileId, Folder, FolderId, Permissions, UserId};
use ferry_core::store::StoreResult;
use ferry_core::text::item_key;
use sqlx::{AnyConnection, Row};

use crate::errors;
use crate::tx::flag;

pub(crate) async fn insert_folder(conn: &mut AnyConnection, f: &Folder) -> StoreResult<FolderId> {
    let row = sqlx::query(
        "INSERT INTO folders (parent_id, name, name_key, folder_type, description, \
         inherit_permissions, owner_user_id, created_at, modified_at, created_by, \
         modified_by, deleted) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0) RETURNING id",
    )
    .bind(f.parent_id)
    .bind(&f.name)
    .bind(item_key(&f.name))
    .bind(f.folder_type.code())
    .bind(&f.description)
    .bind(flag(f.inherit_permissions))
    .bind(f.owner_user_id)
    .bind(f.created_at.0)
    .bind(f.modified_at.0)
    .bind(f.created_by)
    .bind(f.modified_by)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| errors::map(e, "a folder with that name in the parent folder"))?;
    row.try_get("id").map_err(errors::db)
}

pub(crate) async fn update_folder(conn: &mut AnyConnection, f: &Folder) -> StoreResult<()> {
    sqlx::query(
        "UPDATE folders SET parent_id = $1, name = $2, name_key = $3, description = $4, \
         inherit_permissions = $5, modified_at = $6, modified_by = $7, deleted = $8, \
         deleted_at = CASE WHEN $8 = 1 THEN $6 ELSE NULL END WHERE id = $9",
    )
    .bind(f.parent_id)
    .bind(&f.name)
    .bind(item_key(&f.name))
    .bind(&f.description)
    .bind(flag(f.inherit_permissions))
    .bind(f.modified_at.0)
    .bind(f.modified_by)
    .bind(flag(f.deleted))
    .bind(f.id)
    .execute(&mut *conn)
    .await
    .map_err(|e| errors::map(e, "a folder with that name in the parent folder"))?;
    Ok(())
}

/// The folders below `folder` (`$1`, not itself), by a recursive walk down the tree.
macro_rules! folders_below {
    () => {
        "WITH RECURSIVE below (id) AS ( \
             SELECT id FROM folders WHERE parent_id = CAST($1 AS BIGINT) \
             UNION ALL \
             SELECT f.id FROM folders f JOIN below b ON f.parent_id = b.id) \
         SELECT id FROM below"
    };
}

/// [`ferry_core::store::StoreTx::folder_height`]: the deepest level of live folders below
/// `$1`, by a walk down the tree that stops at deleted ones.
pub(crate) async fn folder_height(conn: &mut AnyConnection, folder: FolderId) -> StoreResult<i64> {
    let row = sqlx::query(
        "WITH RECURSIVE below (id, level) AS ( \
             SELECT id, CAST(1 AS BIGINT) FROM folders \
             WHERE parent_id = CAST($1 AS BIGINT) AND deleted = 0 \
             UNION ALL \
             SELECT f.id, b.level + 1 FROM folders f JOIN below b ON f.parent_id = b.id \
             WHERE f.deleted = 0) \
         SELECT CAST(COALESCE(MAX(level), 0) AS BIGINT) FROM below",
    )
    .bind(folder)
    .fetch_one(&mut *conn)
    .await
    .map_err(errors::db)?;
    row.try_get::<i64, _>(0).map_err(errors::db)
}

/// [`ferry_core::store::StoreTx::unheld_folders_below`]: the live folders below `$1` (the walk
/// stops at deleted ones, below which everything is deleted), those that do not inherit, and
/// of those the ones without a grant to the user `$2` or their groups holding a bit of `$3`.
pub(crate) async fn unheld_folders_below(
    conn: &mut AnyConnection,
    folder: FolderId,
    user: UserId,
    any: Permissions,
) -> StoreResult<i64> {
    let row = sqlx::query(
        "WITH RECURSIVE below (id, inherit) AS ( \
             SELECT id, inherit_permissions FROM folders \
             WHERE parent_id = CAST($1 AS BIGINT) AND deleted = 0 \
             UNION ALL \
             SELECT f.id, f.inherit_permissions FROM folders f JOIN below b ON f.parent_id = b.id \
             WHERE f.deleted = 0) \
         SELECT COUNT(*) FROM below b WHERE b.inherit = 0 AND NOT EXISTS ( \
             SELECT 1 FROM folder_permissions p WHERE p.folder_id = b.id \
             AND (p.permission & CAST($3 AS BIGINT)) <> 0 \
             AND (p.user_id = $2 OR p.group_id IN \
                  (SELECT group_id FROM group_members WHERE user_id = $2)))",
    )
    .bind(folder)
    .bind(user)
    .bind(any.0)
    .fetch_one(&mut *conn)
    .await
    .map_err(errors::db)?;
    row.try_get::<i64, _>(0).map_err(errors::db)
}

/// Marks every live file in `folder` and in the folders below it deleted, and those folders
/// too (not `folder` itself: its caller writes it); returns how many files and folders. The
/// folders go so that a change checked before the deletion, which finds its own folder live
/// when it writes, cannot put anything below a deleted folder, where it would never be seen
/// again nor purged.
/// [`ferry_core::store::StoreTx::live_files_below`].
pub(crate) async fn live_files_below(
    conn: &mut AnyConnection,
    folder: FolderId,
    after: FileId,
    limit: i64,
) -> StoreResult<Vec<(FileId, FolderId, String)>> {
    sqlx::query(concat!(
        "SELECT id, folder_id, name FROM files WHERE deleted = 0 AND id > $2 \
         AND (folder_id = $1 OR folder_id IN (",
        folders_below!(),
        ")) ORDER BY id LIMIT $3"
    ))
    .bind(folder)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
    .map_err(errors::db)?
    .iter()
    .map(|r| {
        Ok((
            r.try_get("id").map_err(errors::db)?,
            r.try_get("folder_id").map_err(errors::db)?,
            r.try_get("name").map_err(errors::db)?,
        ))
    })
    .collect()
}

pub(crate) async fn delete_below(
    conn: &mut AnyConnection,
    folder: FolderId,
    at: Timestamp,
) -> StoreResult<(i64, i64)> {
    let files = sqlx::query(concat!(
        "UPDATE files SET deleted = 1, deleted_at = $2 WHERE deleted = 0 \
         AND (folder_id = $1 OR folder_id IN (",
        folders_below!(),
        "))"
    ))
    .bind(folder)
    .bind(at.0)
    .execute(&mut *conn)
    .await
    .map_err(errors::db)?;
    let folders = sqlx::query(concat!(
        "UPDATE folders SET deleted = 1, deleted_at = $2 WHERE deleted = 0 AND id IN (",
        folders_below!(),
        ")"
    ))
    .bind(folder)
    .bind(at.0)
    .execute(&mut *conn)
    .await
    .map_err(errors::db)?;
    Ok((files.rows_affected() as i64, folders.rows_affected() as i64))
}
