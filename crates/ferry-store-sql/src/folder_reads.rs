//! Reads of folders with the bits granted on them to a user: a folder's chain up to the root
//! (the permission check), a folder's children (listings), and a path's folders walked down
//! in one query (the file protocols resolve every path they are given).

use ferry_core::domain::{ChainLink, File, FileId, Folder, FolderId, Permissions, UserId};
use ferry_core::store::{FileToDownload, NameInFolder, StoreError, StoreResult};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

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

/// [`PERMISSION_CHAIN`] from the pool, or inside a change.
pub(crate) async fn permission_chain<'e>(
    on: impl sqlx::Executor<'e, Database = sqlx::Any>,
    id: FolderId,
    user: UserId,
) -> StoreResult<Vec<ChainLink>> {
    let rows = sqlx::query(PERMISSION_CHAIN)
        .bind(id)
        .bind(user)
        .fetch_all(on)
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
/// is gone), and `$more` columns.
macro_rules! file_with_chain_sql {
    ($more:literal) => {
        concat!(
            "WITH RECURSIVE file AS (SELECT ",
            file_columns!(),
            " FROM files WHERE id = $1), ",
            chain_from!("(SELECT folder_id FROM file)"),
            ", links AS (SELECT c.id AS c_id, c.inherit AS c_inherit, c.deleted AS c_deleted, \
                 c.depth AS c_depth, p.permission AS c_permission ",
            chain_grants!(),
            ") SELECT file.*, links.*",
            $more,
            " FROM file LEFT JOIN links ON TRUE ORDER BY links.c_depth"
        )
    };
}

/// PostgreSQL: a file and its folder's chain ([`file_with_chain_sql`]).
pub(crate) const FILE_WITH_CHAIN: &str = file_with_chain_sql!("");

/// PostgreSQL: [`FILE_WITH_CHAIN`] and, on the first row, the file's bytes if they are kept in
/// the database (`inline_contents`): what a download reads before its audit record.
const FILE_TO_DOWNLOAD: &str = file_with_chain_sql!(
    ", CASE WHEN links.c_depth IS NULL OR links.c_depth = 0 THEN \
       (SELECT bytes FROM inline_contents i WHERE i.key = file.content_key) END AS inline_bytes"
);

/// PostgreSQL: [`FILE_WITH_CHAIN`].
pub(crate) async fn file_with_chain(
    pool: &AnyPool,
    id: FileId,
    user: UserId,
) -> StoreResult<Option<(File, Vec<ChainLink>)>> {
    let rows = chain_rows(pool, FILE_WITH_CHAIN, id, user).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    Ok(Some((rows::file(first)?, chain_of(&rows)?)))
}

/// PostgreSQL: [`FILE_TO_DOWNLOAD`]: [`file_with_chain`] and the file's inline bytes, if any.
pub(crate) async fn file_to_download(
    pool: &AnyPool,
    id: FileId,
    user: UserId,
) -> StoreResult<Option<FileToDownload>> {
    let rows = chain_rows(pool, FILE_TO_DOWNLOAD, id, user).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let inline: Option<Vec<u8>> = first.try_get("inline_bytes").map_err(errors::db)?;
    Ok(Some((rows::file(first)?, chain_of(&rows)?, inline)))
}

/// PostgreSQL: the live file named `$2` in the folder `$1` and, if the database keeps its
/// bytes, those bytes: what a download by path reads (one round trip instead of two).
const FILE_BY_NAME_TO_DOWNLOAD: &str = concat!(
    "SELECT ",
    file_columns!(),
    ", (SELECT bytes FROM inline_contents i WHERE i.key = files.content_key) AS inline_bytes \
     FROM files WHERE folder_id = $1 AND name_key = $2 AND deleted = 0"
);

/// PostgreSQL: [`FILE_BY_NAME_TO_DOWNLOAD`].
pub(crate) async fn file_by_name_to_download(
    pool: &AnyPool,
    folder: FolderId,
    name_key: &str,
) -> StoreResult<Option<(File, Option<Vec<u8>>)>> {
    let Some(row) = sqlx::query(FILE_BY_NAME_TO_DOWNLOAD)
        .bind(folder)
        .bind(name_key)
        .fetch_optional(pool)
        .await
        .map_err(errors::db)?
    else {
        return Ok(None);
    };
    let inline: Option<Vec<u8>> = row.try_get("inline_bytes").map_err(errors::db)?;
    Ok(Some((rows::file(&row)?, inline)))
}

async fn chain_rows(
    pool: &AnyPool,
    sql: &'static str,
    id: FileId,
    user: UserId,
) -> StoreResult<Vec<AnyRow>> {
    sqlx::query(sql)
        .bind(id)
        .bind(user)
        .fetch_all(pool)
        .await
        .map_err(errors::db)
}

/// The chain of [`file_with_chain_sql`]'s rows (their `c_` columns).
fn chain_of(rows: &[AnyRow]) -> StoreResult<Vec<ChainLink>> {
    let mut chain = Vec::new();
    for row in rows {
        let link = Prefixed { row, prefix: "c_" };
        if link.opt_int("id")?.is_some() {
            push_link(&mut chain, &link)?;
        }
    }
    Ok(chain)
}

/// A file's columns from the alias `fi`, each prefixed `fi_` (read with [`Prefixed`]).
macro_rules! fi_file_columns {
    () => {
        "fi.id AS fi_id, fi.folder_id AS fi_folder_id, fi.name AS fi_name, \
         fi.version AS fi_version, fi.size AS fi_size, fi.sha256 AS fi_sha256, \
         fi.content_key AS fi_content_key, fi.created_at AS fi_created_at, \
         fi.modified_at AS fi_modified_at, fi.created_by AS fi_created_by, \
         fi.modified_by AS fi_modified_by, fi.deleted AS fi_deleted, \
         fi.client_modified_at AS fi_client_modified_at"
    };
}

/// The live file with the name key `$name` in the folder `$1` (the alias `fi`), joined on.
macro_rules! live_file_named {
    ($name:literal) => {
        concat!(
            " LEFT JOIN files fi ON fi.folder_id = $1 AND fi.name_key = ",
            $name,
            " AND fi.deleted = 0"
        )
    };
}

/// PostgreSQL: a folder's [`PERMISSION_CHAIN`] (`$1`, for the user `$2`), the live file
/// named `$3` in it and whether a live child folder has that name, in one query (an upload's
/// checks before its bytes are taken): the chain's rows with the file's columns, prefixed
/// `fi_`, on each (null where no file has the name), and `folder_has_it`.
const CHAIN_AND_FILE_BY_NAME: &str = concat!(
    "WITH RECURSIVE ",
    chain_from!("$1"),
    ", links AS (SELECT c.id, c.inherit, c.deleted, c.depth, p.permission ",
    chain_grants!(),
    ") SELECT links.*, ",
    fi_file_columns!(),
    ", EXISTS (SELECT 1 FROM folders WHERE parent_id = $1 AND name_key = $3 AND deleted = 0) \
       AS folder_has_it FROM links",
    live_file_named!("$3"),
    " ORDER BY links.depth"
);

/// [`CHAIN_AND_FILE_BY_NAME`]: the chain (empty if the folder does not exist), the file, and
/// whether a folder has the name.
pub(crate) async fn chain_and_file_by_name(
    pool: &AnyPool,
    folder: FolderId,
    user: UserId,
    name_key: &str,
) -> StoreResult<NameInFolder> {
    let rows = sqlx::query(CHAIN_AND_FILE_BY_NAME)
        .bind(folder)
        .bind(user)
        .bind(name_key)
        .fetch_all(pool)
        .await
        .map_err(errors::db)?;
    let mut chain = Vec::new();
    for row in &rows {
        push_link(&mut chain, row)?;
    }
    let folder_has_it = match rows.first() {
        Some(row) => row.try_get("folder_has_it").map_err(errors::db)?,
        None => false,
    };
    Ok(NameInFolder {
        chain,
        file: file_prefixed_fi(rows.first())?,
        folder_has_it,
    })
}

/// A folder (`$1`) and the live file named `$2` in it, in one query: the folder's columns and
/// the file's, prefixed `fi_`. No row if the folder does not exist.
const FOLDER_AND_FILE_BY_NAME: &str = concat!(
    "SELECT ",
    folder_columns!(),
    ", ",
    fi_file_columns!(),
    " FROM folders f",
    live_file_named!("$2"),
    " WHERE f.id = $1"
);

/// [`FOLDER_AND_FILE_BY_NAME`] inside a change, on its connection (either engine: one round
/// trip, or one hand-off to sqlx's SQLite thread, instead of two).
pub(crate) async fn folder_and_file_by_name(
    conn: &mut AnyConnection,
    folder: FolderId,
    name_key: &str,
) -> StoreResult<(Option<Folder>, Option<File>)> {
    let row = sqlx::query(FOLDER_AND_FILE_BY_NAME)
        .bind(folder)
        .bind(name_key)
        .fetch_optional(conn)
        .await
        .map_err(errors::db)?;
    let Some(row) = row else {
        return Ok((None, None));
    };
    Ok((Some(rows::folder(&row)?), file_prefixed_fi(Some(&row))?))
}

/// The file whose columns a row carries prefixed `fi_`, if the row has one.
fn file_prefixed_fi(row: Option<&AnyRow>) -> StoreResult<Option<File>> {
    let Some(row) = row else {
        return Ok(None);
    };
    let file = Prefixed { row, prefix: "fi_" };
    if file.opt_int("id")?.is_none() {
        return Ok(None);
    }
    rows::file(&file).map(Some)
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

/// A keyset page of live child folders: the page's folders are chosen first (a range of
/// `folders_unique_live_name`, whose keys are unique among a folder's live children), then
/// joined to their grants, so `LIMIT` counts folders, not grants.
pub(crate) async fn child_folders_after(
    pool: &AnyPool,
    parent: FolderId,
    user: UserId,
    after: &str,
    take: i64,
) -> StoreResult<Vec<(Folder, Permissions)>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        folder_columns!(),
        ", p.permission FROM (SELECT * FROM folders \
         WHERE parent_id = $1 AND deleted = 0 AND name_key > $3 \
         ORDER BY name_key LIMIT $4) f",
        user_grants_on_f!(),
        " ORDER BY f.name_key, f.id"
    ))
    .bind(parent)
    .bind(user)
    .bind(after)
    .bind(take)
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

/// The walk down a path from folder `$1`, for user `$2`, with the names table of an engine; the
/// folders at `depth` (`"> 0"`: below the start, `">= 0"`: the start too).
macro_rules! folder_path_sql {
    ($names:expr, $depth:literal) => {
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
            " WHERE w.depth ",
            $depth,
            " ORDER BY w.depth"
        )
    };
}

/// [`folder_path`]'s query on SQLite (also run by `sqlite_reader.rs`).
pub(crate) const SQLITE_FOLDER_PATH: &str = folder_path_sql!(sqlite_names!(), "> 0");

/// [`folder_path_from`]'s query on SQLite (also run by `sqlite_reader.rs`).
pub(crate) const SQLITE_FOLDER_PATH_FROM: &str = folder_path_sql!(sqlite_names!(), ">= 0");

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
        Engine::Postgres => folder_path_sql!(postgres_names!(), "> 0"),
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

/// The folder `from` with its grants to `user`, then the live folders `keys` lead to below it
/// as [`folder_path`] finds them: a path's start and its walk in one query. Empty if `from`
/// does not exist.
pub(crate) async fn folder_path_from(
    pool: &AnyPool,
    engine: Engine,
    from: FolderId,
    keys: &[String],
    user: UserId,
) -> StoreResult<Vec<(Folder, Permissions)>> {
    let sql = match engine {
        Engine::Sqlite => SQLITE_FOLDER_PATH_FROM,
        Engine::Postgres => folder_path_sql!(postgres_names!(), ">= 0"),
    };
    let rows = sqlx::query(sql)
        .bind(from)
        .bind(user)
        .bind(keys_json(keys)?)
        .fetch_all(pool)
        .await
        .map_err(errors::db)?;
    folders_with_grants(&rows)
}
