//! Reads of folders with the bits granted on them to a user: a folder's chain up to the root
//! (the permission check), a folder's children (listings), and a path's folders walked down
//! in one query (the file protocols resolve every path they are given).

use ferry_core::domain::{ChainLink, File, FileId, Folder, FolderId, Permissions, UserId};
use ferry_core::store::{StoreError, StoreResult};
use sqlx::AnyPool;
use sqlx::any::AnyRow;

use crate::connect::Engine;
use crate::errors;
use crate::rows::{self, Columns, file_columns, folder_columns};

/// The grants that reach `user` on folder `f`, directly or through a group (`$2` is the user).
macro_rules! user_grants_on_f {
    () => {
        " LEFT JOIN folder_permissions p ON p.folder_id = f.id \
          AND (p.user_id = $2 OR p.group_id IN \
               (SELECT group_id FROM group_members WHERE user_id = $2))"
    };
}

/// The recursive part of a permission chain: `chain (id, parent_id, inherit, deleted, depth)`
/// from the folder `$start` (an SQL expression) up to the root, nearest at depth 0.
macro_rules! chain_from {
    ($start:literal) => {
        concat!(
            "chain (id, parent_id, inherit, deleted, depth) AS ( \
                 SELECT id, parent_id, inherit_permissions, deleted, CAST(0 AS BIGINT) \
                 FROM folders WHERE id = ",
            $start,
            " UNION ALL \
                 SELECT f.id, f.parent_id, f.inherit_permissions, f.deleted, c.depth + 1 \
                 FROM folders f JOIN chain c ON f.id = c.parent_id)"
        )
    };
}

/// The chain's grants to the user `$2`, directly or through a group: one row per grant.
macro_rules! chain_grants {
    () => {
        "FROM chain c LEFT JOIN folder_permissions p ON p.folder_id = c.id \
             AND (p.user_id = $2 OR p.group_id IN \
                  (SELECT group_id FROM group_members WHERE user_id = $2))"
    };
}

/// A folder's chain up to the root with the bits granted on each to a user (`$1` the folder,
/// `$2` the user), one row per grant, nearest first.
pub(crate) const PERMISSION_CHAIN: &str = concat!(
    "WITH RECURSIVE ",
    chain_from!("$1"),
    " SELECT c.id, c.inherit, c.deleted, c.depth, p.permission ",
    chain_grants!(),
    " ORDER BY c.depth"
);

pub(crate) async fn permission_chain(
    pool: &AnyPool,
    id: FolderId,
    user: UserId,
) -> StoreResult<Vec<ChainLink>> {
    let rows = sqlx::query(PERMISSION_CHAIN)
        .bind(id)
        .bind(user)
        .fetch_all(pool)
        .await
        .map_err(errors::db)?;
    let mut chain: Vec<ChainLink> = Vec::new();
    for row in &rows {
        push_link(&mut chain, row)?;
    }
    Ok(chain)
}

/// PostgreSQL: a file (`$1`) and its folder's [`PERMISSION_CHAIN`] for a user (`$2`), in one
/// query: the file's columns on every row, the chain's prefixed `c_` (null where the folder
/// is gone).
pub(crate) const FILE_WITH_CHAIN: &str = concat!(
    "WITH RECURSIVE file AS (SELECT ",
    file_columns!(),
    " FROM files WHERE id = $1), ",
    chain_from!("(SELECT folder_id FROM file)"),
    ", links AS (SELECT c.id AS c_id, c.inherit AS c_inherit, c.deleted AS c_deleted, \
         c.depth AS c_depth, p.permission AS c_permission ",
    chain_grants!(),
    ") SELECT file.*, links.* FROM file LEFT JOIN links ON TRUE ORDER BY links.c_depth"
);

/// PostgreSQL: [`FILE_WITH_CHAIN`].
pub(crate) async fn file_with_chain(
    pool: &AnyPool,
    id: FileId,
    user: UserId,
) -> StoreResult<Option<(File, Vec<ChainLink>)>> {
    let rows = sqlx::query(FILE_WITH_CHAIN)
        .bind(id)
        .bind(user)
        .fetch_all(pool)
        .await
        .map_err(errors::db)?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let file = rows::file(first)?;
    let mut chain = Vec::new();
    for row in &rows {
        let link = Prefixed { row, prefix: "c_" };
        if link.opt_int("id")?.is_some() {
            push_link(&mut chain, &link)?;
        }
    }
    Ok(Some((file, chain)))
}

/// A row's columns that carry a prefix, read by their plain names.
struct Prefixed<'a, C> {
    row: &'a C,
    prefix: &'static str,
}

impl<C: Columns> Prefixed<'_, C> {
    fn name(&self, col: &str) -> String {
        format!("{}{col}", self.prefix)
    }
}

impl<C: Columns> Columns for Prefixed<'_, C> {
    fn int(&self, col: &str) -> StoreResult<i64> {
        self.row.int(&self.name(col))
    }
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>> {
        self.row.opt_int(&self.name(col))
    }
    fn text(&self, col: &str) -> StoreResult<String> {
        self.row.text(&self.name(col))
    }
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
        self.row.opt_text(&self.name(col))
    }
}

/// Adds a row of [`PERMISSION_CHAIN`] to the chain: a new link, or a grant of the last one.
pub(crate) fn push_link(chain: &mut Vec<ChainLink>, row: &impl Columns) -> StoreResult<()> {
    let folder_id = row.int("id")?;
    let granted = rows::granted(row)?;
    match chain.last_mut() {
        Some(link) if link.folder_id == folder_id => link.granted = link.granted.union(granted),
        _ => chain.push(ChainLink {
            folder_id,
            deleted: row.int("deleted")? != 0,
            inherit_permissions: row.int("inherit")? != 0,
            granted,
        }),
    }
    Ok(())
}

/// Folders with their grants, one row per grant, in order: one entry per folder, its grants
/// united.
fn folders_with_grants(rows: &[AnyRow]) -> StoreResult<Vec<(Folder, Permissions)>> {
    let mut folders: Vec<(Folder, Permissions)> = Vec::new();
    for row in rows {
        push_folder(&mut folders, row)?;
    }
    Ok(folders)
}

/// Adds a row of a folders-with-grants query: a new folder, or a grant of the last one.
pub(crate) fn push_folder(
    folders: &mut Vec<(Folder, Permissions)>,
    row: &impl Columns,
) -> StoreResult<()> {
    let granted = rows::granted(row)?;
    let id = row.int("id")?;
    match folders.last_mut() {
        Some((f, bits)) if f.id == id => *bits = bits.union(granted),
        _ => folders.push((rows::folder(row)?, granted)),
    }
    Ok(())
}

pub(crate) async fn child_folders(
    pool: &AnyPool,
    parent: FolderId,
    user: UserId,
) -> StoreResult<Vec<(Folder, Permissions)>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        folder_columns!(),
        ", p.permission FROM folders f",
        user_grants_on_f!(),
        " WHERE f.parent_id = $1 AND f.deleted = 0 ORDER BY f.name_key, f.id"
    ))
    .bind(parent)
    .bind(user)
    .fetch_all(pool)
    .await
    .map_err(errors::db)?;
    folders_with_grants(&rows)
}

/// The keys of a path as a table `names (i, key)`, `i` from 0, from the JSON array `$3`.
macro_rules! sqlite_names {
    () => {
        "SELECT CAST(key AS BIGINT), value FROM json_each($3)"
    };
}
macro_rules! postgres_names {
    () => {
        "SELECT CAST(i - 1 AS BIGINT), key \
         FROM json_array_elements_text(CAST($3 AS JSON)) WITH ORDINALITY AS t (key, i)"
    };
}

/// The walk down a path from folder `$1`, for user `$2`, with the names table of an engine.
macro_rules! folder_path_sql {
    ($names:expr) => {
        concat!(
            "WITH RECURSIVE names (i, key) AS (",
            $names,
            "), walk (depth, id) AS ( \
                 SELECT CAST(0 AS BIGINT), CAST($1 AS BIGINT) \
                 UNION ALL \
                 SELECT w.depth + 1, c.id FROM walk w \
                 JOIN names n ON n.i = w.depth \
                 JOIN folders c ON c.parent_id = w.id AND c.name_key = n.key AND c.deleted = 0) \
             SELECT w.depth, ",
            folder_columns!(),
            ", p.permission FROM walk w JOIN folders f ON f.id = w.id",
            user_grants_on_f!(),
            " WHERE w.depth > 0 ORDER BY w.depth"
        )
    };
}

/// [`folder_path`]'s query on SQLite (also run by `sqlite_reader.rs`).
pub(crate) const SQLITE_FOLDER_PATH: &str = folder_path_sql!(sqlite_names!());

/// `keys` as the JSON array the path queries take.
pub(crate) fn keys_json(keys: &[String]) -> StoreResult<String> {
    serde_json::to_string(keys).map_err(|e| StoreError::Other(e.to_string()))
}

/// The live folders `keys` (name keys) lead to below `from`, as far as they exist, each
/// with its grants: one query, where a walk name by name was a query per name.
pub(crate) async fn folder_path(
    pool: &AnyPool,
    engine: Engine,
    from: FolderId,
    keys: &[String],
    user: UserId,
) -> StoreResult<Vec<(Folder, Permissions)>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let sql = match engine {
        Engine::Sqlite => SQLITE_FOLDER_PATH,
        Engine::Postgres => folder_path_sql!(postgres_names!()),
    };
    let keys = keys_json(keys)?;
    let rows = sqlx::query(sql)
        .bind(from)
        .bind(user)
        .bind(keys)
        .fetch_all(pool)
        .await
        .map_err(errors::db)?;
    folders_with_grants(&rows)
}
