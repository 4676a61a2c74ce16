//! What a person does to folders and files from a folder page: each a `POST` with the
//! session's form token, one Service call, then back to the page it came from (`303`, so a
//! reload does not repeat it). Downloads are plain links.

use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Redirect, Response};
use ferry_core::domain::FolderType;
use serde::Deserialize;

use super::error::WebError;
use super::extract::{WebForm, WebId};
use super::session::{WebSession, safe_next};
use crate::router::AppState;

/// A form that names a new name.
#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    back: Option<String>,
}

/// A form that only confirms.
#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    back: Option<String>,
}

/// Back to the page the form was on (a local web-client path), else `fallback`.
fn back(to: Option<&str>, fallback: String) -> Response {
    Redirect::to(safe_next(to).unwrap_or(&fallback)).into_response()
}

/// `POST /web/folders/{id}/new-folder`.
pub async fn create_folder(
    State(state): State<AppState>,
    who: WebSession,
    WebId(parent): WebId,
    WebForm(form): WebForm<NameForm>,
) -> Result<Response, WebError> {
    who.check_form(&form.csrf)?;
    state
        .service
        .create_folder(&who.ctx, parent, form.name.trim(), FolderType::Regular)
        .await?;
    Ok(Redirect::to(&format!("/web/folders/{parent}")).into_response())
}

/// `POST /web/folders/{id}/rename`.
pub async fn rename_folder(
    State(state): State<AppState>,
    who: WebSession,
    WebId(folder): WebId,
    WebForm(form): WebForm<NameForm>,
) -> Result<Response, WebError> {
    who.check_form(&form.csrf)?;
    let view = state
        .service
        .rename_folder(&who.ctx, folder, form.name.trim())
        .await?;
    let parent = view.folder.parent_id.unwrap_or(folder);
    Ok(back(form.back.as_deref(), format!("/web/folders/{parent}")))
}

/// `POST /web/folders/{id}/delete`.
pub async fn delete_folder(
    State(state): State<AppState>,
    who: WebSession,
    WebId(folder): WebId,
    WebForm(form): WebForm<ConfirmForm>,
) -> Result<Response, WebError> {
    who.check_form(&form.csrf)?;
    state.service.delete_folder(&who.ctx, folder).await?;
    Ok(back(form.back.as_deref(), "/".into()))
}

/// `POST /web/files/{id}/rename`.
pub async fn rename_file(
    State(state): State<AppState>,
    who: WebSession,
    WebId(file): WebId,
    WebForm(form): WebForm<NameForm>,
) -> Result<Response, WebError> {
    who.check_form(&form.csrf)?;
    let view = state
        .service
        .rename_file(&who.ctx, file, form.name.trim())
        .await?;
    Ok(back(
        form.back.as_deref(),
        format!("/web/folders/{}", view.file.folder_id),
    ))
}

/// `POST /web/files/{id}/delete`.
pub async fn delete_file(
    State(state): State<AppState>,
    who: WebSession,
    WebId(file): WebId,
    WebForm(form): WebForm<ConfirmForm>,
) -> Result<Response, WebError> {
    who.check_form(&form.csrf)?;
    state.service.delete_file(&who.ctx, file).await?;
    Ok(back(form.back.as_deref(), "/".into()))
}

/// `GET /web/files/{id}/download`: the content as an attachment (never shown inline from
/// Ferry's origin), with ranges and `ETag` as the API's content route.
pub async fn download_file(
    State(state): State<AppState>,
    who: WebSession,
    method: Method,
    WebId(file): WebId,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let head = method == Method::HEAD;
    Ok(crate::transfer::send_file(&state.service, &who.ctx, file, &headers, head).await?)
}
