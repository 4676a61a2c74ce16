//! What a folder page does to the items a person ticked: download them as one ZIP, move them
//! to another folder (chosen in the bar or in [`super::move_picker`]'s tree), or delete them (`POST /web/folders/{id}/selection`, one form whose
//! buttons say which, so it works without a script); and a whole folder as a ZIP
//! (`GET /web/folders/{id}/zip`). Each item is its own Service call with its own checks; an
//! item refused is reported, the others are done.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use ferry_core::Error;
use ferry_core::service::ArchiveContents;

use super::error::WebError;
use super::extract::WebId;
use super::page::message_page;
use super::session::WebSession;
use crate::router::AppState;
use crate::server::{ClientAddr, OverHttps};
use axum::http::HeaderMap;

/// Most items one selection may name.
const MAX_ITEMS: usize = 1000;

/// A ticked item.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(super) enum Item {
    File(i64),
    Folder(i64),
}

/// The selection form: `item=f:12&item=d:7&action=zip|move|delete&to=5&csrf=…` (repeated
/// `item` fields, which a plain form sends).
pub(super) struct Selection {
    pub(super) items: Vec<Item>,
    action: String,
    pub(super) to: Option<i64>,
    pub(super) csrf: String,
    days: String,
    email: String,
    downloads: String,
    to_path: String,
    /// The folder picker's open folders, by path (see [`super::move_picker`]).
    pub(super) open: Vec<String>,
    /// The folder the picker's person closed.
    pub(super) close: Option<String>,
}

/// Most folders the picker keeps open at once.
const MAX_OPEN: usize = 64;

pub(super) fn parse(body: &[u8]) -> Result<Selection, WebError> {
    let mut s = Selection {
        items: Vec::new(),
        action: String::new(),
        to: None,
        csrf: String::new(),
        days: String::new(),
        email: String::new(),
        downloads: String::new(),
        to_path: String::new(),
        open: Vec::new(),
        close: None,
    };
    for (k, v) in url::form_urlencoded::parse(body) {
        match k.as_ref() {
            "item" => {
                let item = match v.split_once(':') {
                    Some(("f", id)) => id.parse().ok().map(Item::File),
                    Some(("d", id)) => id.parse().ok().map(Item::Folder),
                    _ => None,
                };
                s.items
                    .push(item.ok_or(WebError::BadForm("an item is not one of this page's"))?);
            }
            "action" => s.action = v.into_owned(),
            "to" => s.to = v.parse().ok(),
            "csrf" => s.csrf = v.into_owned(),
            "days" => s.days = v.into_owned(),
            "to_path" => s.to_path = v.trim().to_string(),
            "email" => s.email = v.into_owned(),
            "downloads" => s.downloads = v.into_owned(),
            "open" => s.open.push(v.into_owned()),
            "close" => s.close = Some(v.into_owned()),
            _ => {}
        }
    }
    if s.items.len() > MAX_ITEMS {
        return Err(WebError::BadForm("too many items at once (1,000 at most)"));
    }
    let mut seen = std::collections::HashSet::new();
    s.items.retain(|i| seen.insert(*i));
    let mut seen = std::collections::HashSet::new();
    s.open.retain(|p| seen.insert(p.clone()));
    if s.open.len() > MAX_OPEN {
        return Err(WebError::BadForm(
            "too many folders open at once (64 at most)",
        ));
    }
    Ok(s)
}

/// `POST /web/folders/{id}/selection`.
pub async fn act(
    State(state): State<AppState>,
    who: WebSession,
    WebId(folder): WebId,
    client: ClientAddr,
    https: OverHttps,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let s = parse(&body)?;
    who.check_form(&s.csrf)?;
    let back = format!("/web/folders/{folder}");
    if s.items.is_empty() {
        return Ok(Redirect::to(&back).into_response());
    }
    let svc = &state.service;
    let mut refused = Vec::new();
    match s.action.as_str() {
        "zip" => return zip_of(&state, &who, folder, &s.items).await,
        "share" => {
            let mut files = Vec::with_capacity(s.items.len());
            for item in &s.items {
                match *item {
                    Item::File(id) => files.push(id),
                    Item::Folder(_) => {
                        return Err(WebError::BadForm(
                            "a download link shares files; tick files, not folders",
                        ));
                    }
                }
            }
            let form = super::sharing::LinkForm::new(&s.days, &s.email, &s.downloads);
            return super::sharing::share_files(
                &state,
                &who,
                (client, https),
                &headers,
                files,
                form,
            )
            .await;
        }
        "move" => {
            // A typed path (`/Shared/Team/Reports`, the folders as SFTP and FTPS see them) wins
            // over the list's choice.
            let to = if s.to_path.is_empty() {
                s.to.ok_or(WebError::BadForm("choose where to move them"))?
            } else {
                match svc.tree_resolve(&who.ctx, &s.to_path).await? {
                    ferry_core::service::TreeNode::Folder(f) => f.folder.id,
                    ferry_core::service::TreeNode::File(_) => {
                        return Err(WebError::BadForm("the path names a file, not a folder"));
                    }
                }
            };
            for item in &s.items {
                let done = match *item {
                    Item::File(id) => svc.move_file(&who.ctx, id, to).await.map(|_| ()),
                    Item::Folder(id) => svc.move_folder(&who.ctx, id, to).await.map(|_| ()),
                };
                if let Err(e) = done {
                    refused.push(e);
                }
            }
        }
        "delete" => {
            for item in &s.items {
                let done = match *item {
                    Item::File(id) => svc.delete_file(&who.ctx, id).await,
                    Item::Folder(id) => svc.delete_folder(&who.ctx, id).await,
                };
                if let Err(e) = done {
                    refused.push(e);
                }
            }
        }
        _ => return Err(WebError::BadForm("the action is not one of this page's")),
    }
    if refused.is_empty() {
        return Ok(Redirect::to(&back).into_response());
    }
    if let Some(e) = refused.iter().find(|e| matches!(e, Error::Internal(_))) {
        tracing::error!(error = %e, "a selection's item failed");
    }
    let done = s.items.len() - refused.len();
    let first = match &refused[0] {
        Error::Internal(_) => "something went wrong on the server".to_string(),
        e => e.to_string(),
    };
    Ok(message_page(
        crate::error::service_status(&refused[0]),
        "Not all done",
        &format!(
            "{done} of {} done; {} refused (the first: {first}).",
            s.items.len(),
            refused.len()
        ),
    ))
}

/// The ticked items as one ZIP named after the folder: files as they are, folders with what
/// the caller may read in them.
async fn zip_of(
    state: &AppState,
    who: &WebSession,
    folder: i64,
    items: &[Item],
) -> Result<Response, WebError> {
    let svc = &state.service;
    let here = svc.folder(&who.ctx, folder).await?;
    let mut contents = ArchiveContents::new();
    for item in items {
        match *item {
            Item::File(id) => {
                let view = svc.file(&who.ctx, id).await?;
                contents.add_file(view.file.name.clone(), view.file);
            }
            Item::Folder(id) => {
                let root = svc.archive_root(&who.ctx, id).await?;
                let prefix = format!("{}/", root.name());
                contents.add_folder(root, prefix);
            }
        }
    }
    Ok(crate::archive::stream_zip(
        Arc::clone(svc),
        who.ctx.clone(),
        contents,
        &archive_name(&here.folder.name),
    ))
}

fn archive_name(folder: &str) -> String {
    if folder.is_empty() {
        "files".into()
    } else {
        folder.to_string()
    }
}

/// `GET /web/folders/{id}/zip`: the folder and what the caller may read below it.
pub async fn folder_zip(
    State(state): State<AppState>,
    who: WebSession,
    WebId(folder): WebId,
) -> Result<Response, WebError> {
    let root = state.service.archive_root(&who.ctx, folder).await?;
    let name = archive_name(root.name());
    let mut contents = ArchiveContents::new();
    contents.add_folder(root, String::new());
    Ok(crate::archive::stream_zip(
        Arc::clone(&state.service),
        who.ctx.clone(),
        contents,
        &name,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections_parse_strictly() {
        let s = parse(b"item=f%3A12&item=d:7&item=f:12&action=move&to=5&csrf=ab").unwrap();
        assert_eq!(s.items, [Item::File(12), Item::Folder(7)]);
        assert_eq!((s.action.as_str(), s.to), ("move", Some(5)));
        assert!(parse(b"item=x:1").is_err());
        assert!(parse(b"item=f:abc").is_err());
        let many = "item=f:1&".repeat(1001);
        assert!(parse(many.as_bytes()).is_err());
    }
}
