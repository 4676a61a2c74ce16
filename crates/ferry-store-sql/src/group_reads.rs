//! Reads of user groups: one by ID, all of them, a user's, and what a group is granted.

use ferry_core::domain::{Grant, GroupId, UserGroup, UserId};
use ferry_core::store::StoreResult;
use sqlx::AnyPool;

use crate::{errors, rows};

/// Every grant to a group on live folders, by folder: from the pool, or inside a change.
pub(crate) async fn group_grants<'e>(
    on: impl sqlx::Executor<'e, Database = sqlx::Any>,
    group: GroupId,
) -> StoreResult<Vec<Grant>> {
    sqlx::query(
        "SELECT p.id, p.folder_id, p.permission, p.user_id, p.group_id \
         FROM folder_permissions p JOIN folders f ON f.id = p.folder_id \
         WHERE p.group_id = $1 AND f.deleted = 0 ORDER BY p.folder_id, p.id",
    )
    .bind(group)
    .fetch_all(on)
    .await
    .map_err(errors::db)?
    .iter()
    .map(rows::grant)
    .collect()
}

pub(crate) async fn group(pool: &AnyPool, id: GroupId) -> StoreResult<Option<UserGroup>> {
    sqlx::query("SELECT id, name FROM user_groups WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(errors::db)?
        .as_ref()
        .map(rows::group)
        .transpose()
}

/// Every group, by name.
pub(crate) async fn groups(pool: &AnyPool) -> StoreResult<Vec<UserGroup>> {
    sqlx::query("SELECT id, name FROM user_groups ORDER BY name_key")
        .fetch_all(pool)
        .await
        .map_err(errors::db)?
        .iter()
        .map(rows::group)
        .collect()
}

/// The groups `user` belongs to, by name.
pub(crate) async fn groups_of_user(pool: &AnyPool, user: UserId) -> StoreResult<Vec<UserGroup>> {
    sqlx::query(
        "SELECT g.id, g.name FROM user_groups g JOIN group_members m ON m.group_id = g.id \
         WHERE m.user_id = $1 ORDER BY g.name_key",
    )
    .bind(user)
    .fetch_all(pool)
    .await
    .map_err(errors::db)?
    .iter()
    .map(rows::group)
    .collect()
}
