//! Folder writes inside a change: a new folder, and a folder changed (renamed, moved, deleted,
//! described).

use ferry_core::domain::{Folder, FolderId};
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
