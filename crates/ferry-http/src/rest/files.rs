//! RAPR's file information resources, by analogy with its folder ones (the public pages show
//! `ThruPublicFileInfo` but not the file calls' addresses): `GET`, `PUT` (rename and move) and
//! `DELETE` on `FileSystem/File/{FileId}`. File bytes travel as in Thru, not here: upload with
//! `upload.aspx` or the upload tool, download with `download.aspx`.

use std::collections::HashMap;

use axum::extract::{Path, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use ferry_core::Error;
use serde_json::Value;

use super::exchange::{Exchange, RestError, path_int};
use super::folders::no_tags;
use super::objects;
use super::relocate::{FILE, relocate};
use crate::router::AppState;
use crate::server::ClientAddr;

/// What a file update may carry: `Name` and `ParentFolderId` change the file; the others are
/// the object's read-only fields, ignored as RAPR ignores them on folders.
const FILE_FIELDS: [&str; 17] = [
    "Name",
    "ParentFolderId",
    "Description",
    "FileId",
    "Path",
    "Size",
    "EffectivePermission",
    "DateCreated",
    "DateModified",
    "CreatedByUserId",
    "ModifiedByUserId",
    "Version",
    "Sha256",
    "Tags",
    "IsQuarantined",
    "InFavorite",
    "IsPartiallyUploaded",
];

async fn file_value(ex: &Exchange, state: &AppState, id: Value) -> Result<Value, RestError> {
    ex.call_value(state, "GetFile", vec![("fileID".into(), id)], true)
        .await
}

/// `GET FileSystem/File/{id}`: `GetFile`.
pub async fn get_file(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    client: ClientAddr,
    headers: HeaderMap,
) -> Response {
    respond!(params, headers, client, "1.0", |ex| {
        let id = path_int(&params, "file_id")?;
        Ok(Some(objects::file(&file_value(&ex, &state, id).await?)))
    })
}

/// `PUT FileSystem/File/{id}`: a new `ParentFolderId` moves the file, a new `Name` renames it
/// ([`relocate`]).
pub async fn update_file(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    client: ClientAddr,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    respond!(params, parts.headers, client, "1.0", |ex| {
        let id = path_int(&params, "file_id")?;
        let f = ex.fields(&parts.headers, body).await?;
        f.only(&FILE_FIELDS)?;
        no_tags(&f)?;
        if f.one("Description")?.is_some_and(|d| !d.is_empty()) {
            return Err(Error::invalid("Ferry keeps no file description").into());
        }
        let current = file_value(&ex, &state, id.clone()).await?;
        relocate(&ex, &state, &FILE, &id, &current, &f).await?;
        Ok(Some(objects::file(&file_value(&ex, &state, id).await?)))
    })
}

/// `DELETE FileSystem/File/{id}`: `DeleteFile`; 204.
pub async fn delete_file(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    client: ClientAddr,
    headers: HeaderMap,
) -> Response {
    respond!(params, headers, client, "1.0", |ex| {
        let id = path_int(&params, "file_id")?;
        ex.call(&state, "DeleteFile", vec![("fileID".into(), id)], true)
            .await?;
        Ok(None)
    })
}
