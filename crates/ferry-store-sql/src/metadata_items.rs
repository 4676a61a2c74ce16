//! Metadata items of folders and files: the same statements over two tables, chosen by owner.
//! The table and column names come from constants here, never from a caller; every value is
//! bound.

use ferry_core::domain::{MetadataItem, MetadataOwner, MetadataWrite};
use ferry_core::store::StoreResult;
use ferry_core::text::item_key;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

use crate::errors;

/// The statements of one owner's table.
struct Statements {
    list: &'static str,
    count: &'static str,
    insert: &'static str,
    update: &'static str,
}

const FOLDER: Statements = Statements {
    list: "SELECT id, name, value FROM folder_metadata WHERE folder_id = $1 ORDER BY name_key",
    count: "SELECT COUNT(*) AS n FROM folder_metadata WHERE folder_id = $1",
    insert: "INSERT INTO folder_metadata (folder_id, name, name_key, value) \
             VALUES ($1, $2, $3, $4) RETURNING id",
    update: "UPDATE folder_metadata SET name = $2, value = $4 \
             WHERE folder_id = $1 AND name_key = $3 RETURNING id",
};

const FILE: Statements = Statements {
    list: "SELECT id, name, value FROM file_metadata WHERE file_id = $1 ORDER BY name_key",
    count: "SELECT COUNT(*) AS n FROM file_metadata WHERE file_id = $1",
    insert: "INSERT INTO file_metadata (file_id, name, name_key, value) \
             VALUES ($1, $2, $3, $4) RETURNING id",
    update: "UPDATE file_metadata SET name = $2, value = $4 \
             WHERE file_id = $1 AND name_key = $3 RETURNING id",
};

/// The owner's statements and its ID.
fn statements(owner: MetadataOwner) -> (&'static Statements, i64) {
    match owner {
        MetadataOwner::Folder(id) => (&FOLDER, id),
        MetadataOwner::File(id) => (&FILE, id),
    }
}

fn item(row: &AnyRow) -> StoreResult<MetadataItem> {
    Ok(MetadataItem {
        id: row.try_get("id").map_err(errors::db)?,
        name: row.try_get("name").map_err(errors::db)?,
        value: row.try_get("value").map_err(errors::db)?,
    })
}

/// Every stored item of a folder or file, by name key.
pub(crate) async fn list(pool: &AnyPool, owner: MetadataOwner) -> StoreResult<Vec<MetadataItem>> {
    let (sql, id) = statements(owner);
    sqlx::query(sql.list)
        .bind(id)
        .fetch_all(pool)
        .await
        .map_err(errors::db)?
        .iter()
        .map(item)
        .collect()
}

/// How many items a folder or file holds, inside a change.
pub(crate) async fn count(conn: &mut AnyConnection, owner: MetadataOwner) -> StoreResult<i64> {
    let (sql, id) = statements(owner);
    let row = sqlx::query(sql.count)
        .bind(id)
        .fetch_one(&mut *conn)
        .await
        .map_err(errors::db)?;
    row.try_get("n").map_err(errors::db)
}

/// Creates or saves an item; its ID, or `None` when a save finds no item of that name.
pub(crate) async fn put(
    conn: &mut AnyConnection,
    owner: MetadataOwner,
    name: &str,
    value: &str,
    write: MetadataWrite,
) -> StoreResult<Option<i64>> {
    let (sql, id) = statements(owner);
    let text = match write {
        MetadataWrite::Create => sql.insert,
        MetadataWrite::Save => sql.update,
    };
    let row = sqlx::query(text)
        .bind(id)
        .bind(name)
        .bind(item_key(name))
        .bind(value)
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| errors::map(e, "a metadata item with that name"))?;
    row.map(|r| r.try_get("id").map_err(errors::db)).transpose()
}
