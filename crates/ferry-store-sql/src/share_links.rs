//! The links people shared from the web client (`share_links`, migration 0013). `Store` and
//! `StoreTx` delegate here.

use ferry_core::Timestamp;
use ferry_core::domain::{
    DownloadAllowance, SessionKey, ShareLink, ShareLinkId, ShareTarget, UserId,
};
use ferry_core::store::{StoreError, StoreResult};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

use crate::errors;

macro_rules! columns {
    () => {
        "id, user_id, session_key, sealed_session, kind, folder_id, file_ids, email, created_at, \
         expires_at, revoked_at, max_downloads, downloads"
    };
}

fn decode(row: &AnyRow) -> StoreResult<ShareLink> {
    let get_i64 = |c: &str| row.try_get::<i64, _>(c).map_err(errors::db);
    let kind: String = row.try_get("kind").map_err(errors::db)?;
    let target = match kind.as_str() {
        "upload" => ShareTarget::Upload(
            row.try_get::<Option<i64>, _>("folder_id")
                .map_err(errors::db)?
                .ok_or_else(|| StoreError::Other("an upload link without a folder".into()))?,
        ),
        "download" => {
            let ids: String = row.try_get("file_ids").map_err(errors::db)?;
            ShareTarget::Download(
                ids.split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        s.parse()
                            .map_err(|_| StoreError::Other("a bad file ID in a link".into()))
                    })
                    .collect::<StoreResult<_>>()?,
            )
        }
        other => return Err(StoreError::Other(format!("a link of kind {other:?}"))),
    };
    let key: Option<String> = row.try_get("session_key").map_err(errors::db)?;
    let sealed: String = row.try_get("sealed_session").map_err(errors::db)?;
    // A row not yet rewritten at start-up (`session_keys.rs`) holds the raw ID: its key is
    // that ID's, and it is no seal.
    let session = SessionKey::parse_stored(key.as_deref().unwrap_or(&sealed))
        .ok_or_else(|| StoreError::Other("a link's session key is malformed".into()))?;
    let sealed_session = (key.is_some() && !sealed.is_empty()).then_some(sealed);
    Ok(ShareLink {
        id: get_i64("id")?,
        user_id: get_i64("user_id")?,
        session,
        sealed_session,
        target,
        email: row.try_get("email").map_err(errors::db)?,
        created_at: Timestamp(get_i64("created_at")?),
        expires_at: Timestamp(get_i64("expires_at")?),
        revoked_at: row
            .try_get::<Option<i64>, _>("revoked_at")
            .map_err(errors::db)?
            .map(Timestamp),
        max_downloads: row
            .try_get::<Option<i64>, _>("max_downloads")
            .map_err(errors::db)?,
        downloads: get_i64("downloads")?,
    })
}

pub(crate) async fn of_user(
    pool: &AnyPool,
    user: UserId,
    limit: i64,
) -> StoreResult<Vec<ShareLink>> {
    sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM share_links WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
    ))
    .bind(user)
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(errors::db)?
    .iter()
    .map(decode)
    .collect()
}

pub(crate) async fn by_id(pool: &AnyPool, id: ShareLinkId) -> StoreResult<Option<ShareLink>> {
    sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM share_links WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(errors::db)?
    .as_ref()
    .map(decode)
    .transpose()
}

pub(crate) async fn insert(conn: &mut AnyConnection, link: &ShareLink) -> StoreResult<ShareLinkId> {
    let (folder, files) = match &link.target {
        ShareTarget::Upload(f) => (Some(*f), String::new()),
        ShareTarget::Download(ids) => (
            None,
            ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","),
        ),
    };
    let row = sqlx::query(
        "INSERT INTO share_links (user_id, session_key, sealed_session, kind, folder_id, \
         file_ids, email, created_at, expires_at, max_downloads) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(link.user_id)
    .bind(link.session.to_hex())
    .bind(link.sealed_session.clone().unwrap_or_default())
    .bind(link.kind())
    .bind(folder)
    .bind(files)
    .bind(link.email.clone())
    .bind(link.created_at.0)
    .bind(link.expires_at.0)
    .bind(link.max_downloads)
    .fetch_one(&mut *conn)
    .await
    .map_err(errors::db)?;
    row.try_get("id").map_err(errors::db)
}

pub(crate) async fn revoke(
    conn: &mut AnyConnection,
    id: ShareLinkId,
    at: Timestamp,
) -> StoreResult<()> {
    sqlx::query("UPDATE share_links SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(at.0)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(errors::db)?;
    Ok(())
}

/// The allowance of a limited link by its session: the partial index of migration 0029 holds
/// limited links only, so the download of an unlimited link's page finds nothing here.
pub(crate) async fn allowance(
    pool: &AnyPool,
    session: &SessionKey,
) -> StoreResult<Option<DownloadAllowance>> {
    let Some(row) = sqlx::query(
        "SELECT id, downloads, max_downloads FROM share_links \
         WHERE session_key = $1 AND max_downloads IS NOT NULL",
    )
    .bind(session.to_hex())
    .fetch_optional(pool)
    .await
    .map_err(errors::db)?
    else {
        return Ok(None);
    };
    let get = |c: &str| row.try_get::<i64, _>(c).map_err(errors::db);
    Ok(Some(DownloadAllowance {
        link: get("id")?,
        taken: get("downloads")?,
        allowed: get("max_downloads")?,
    }))
}

/// Counts one download through a limited link, unless its downloads are used up.
pub(crate) async fn take_download(conn: &mut AnyConnection, id: ShareLinkId) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE share_links SET downloads = downloads + 1 \
         WHERE id = $1 AND max_downloads IS NOT NULL AND downloads < max_downloads",
    )
    .bind(id)
    .execute(&mut *conn)
    .await
    .map_err(errors::db)?;
    Ok(done.rows_affected() == 1)
}
