//! The "Move to…" folder picker: the folder tree as a person opens it, one folder at a time,
//! with a radio button on each folder the ticked items could move into
//! (`POST /web/folders/{id}/move-to`). It works without a script: opening or closing a folder
//! posts the same form back with the open folders as hidden fields, and "Move here" posts it
//! to the selection's `move`, which makes one Service call per item as the bar's Move does.
//!
//! Folders are named by their paths as SFTP and FTPS show them (`/Shared/Team`), resolved by
//! the Service on every request, so the picker shows only what the caller may see, and a
//! hand-made `open` field names nothing more than a typed path would.

use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use ferry_core::domain::{FileOrder, Permissions};
use ferry_core::service::{FolderPageRequest, FolderView, PageStart, SessionContext};

use super::error::WebError;
use super::extract::WebId;
use super::page::{csrf_input, esc, frame};
use super::selection::{Item, parse};
use super::session::WebSession;
use crate::router::AppState;

/// Most subfolders shown under one open folder; past it the person types the path.
const MAX_SHOWN: usize = 500;

/// `POST /web/folders/{id}/move-to`: the picker for the ticked items of folder `id`.
pub async fn picker(
    State(state): State<AppState>,
    who: WebSession,
    WebId(folder): WebId,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let s = parse(&body)?;
    who.check_form(&s.csrf)?;
    if s.items.is_empty() {
        return Ok(axum::response::Redirect::to(&format!("/web/folders/{folder}")).into_response());
    }
    let svc = &state.service;
    let mut open = s.open.clone();
    if open.is_empty() && s.close.is_none() {
        // First visit: the tree opened down to the folder the items are in.
        open = path_to(svc, &who.ctx, folder).await?;
    }
    if let Some(closed) = &s.close {
        open.retain(|p| {
            p != closed && !p.starts_with(&format!("{}/", closed.trim_end_matches('/')))
        });
    }
    if !open.iter().any(|p| p == "/") && s.close.as_deref() != Some("/") {
        open.insert(0, "/".into());
    }
    let moving: Vec<i64> = s
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Folder(id) => Some(*id),
            Item::File(_) => None,
        })
        .collect();
    let tree = Tree {
        svc,
        ctx: &who.ctx,
        open: &open,
        moving: &moving,
        chosen: s.to,
        folder,
    };
    let root = svc.root_folder(&who.ctx).await?;
    let mut nodes = String::new();
    let mut shown = Vec::new();
    tree.node(&root, "/", "Everything", &mut nodes, &mut shown)
        .await?;

    let mut hidden = csrf_input(&who);
    for item in &s.items {
        let value = match item {
            Item::File(id) => format!("f:{id}"),
            Item::Folder(id) => format!("d:{id}"),
        };
        hidden.push_str(&format!(
            r#"<input type="hidden" name="item" value="{value}">"#
        ));
    }
    // Only the open folders the tree showed go back: a path that names nothing visible is
    // not repeated to the page.
    for path in &shown {
        hidden.push_str(&format!(
            r#"<input type="hidden" name="open" value="{}">"#,
            esc(path)
        ));
    }
    let count = s.items.len();
    let what = if count == 1 {
        "1 item".to_string()
    } else {
        format!("{count} items")
    };
    let main = format!(
        r#"<h1>Move {what}</h1>
<p>Choose the folder to move {them} into. Open a folder to see its subfolders; folders you may not add to cannot be chosen.</p>
<form method="post" action="/web/folders/{folder}/selection" class="picker">{hidden}
<fieldset><legend>Folders</legend>
<ul class="tree" role="list">{nodes}</ul>
</fieldset>
<p><button type="submit" name="action" value="move">Move here</button> <a href="/web/folders/{folder}">Cancel</a></p>
</form>"#,
        them = if count == 1 { "it" } else { "them" },
    );
    Ok(Html(frame(&format!("Move {what}"), Some(&who), &main)).into_response())
}

/// The open folders from the root down to `folder` (all of them when the caller may see
/// each name on the way; else just the root).
async fn path_to(
    svc: &ferry_core::Service,
    ctx: &SessionContext,
    folder: i64,
) -> Result<Vec<String>, WebError> {
    let page = svc
        .folder_page(
            ctx,
            FolderPageRequest {
                folder,
                order: FileOrder::Name,
                descending: false,
                start: PageStart::First,
                take: 1,
                folders_after: None,
            },
        )
        .await?;
    let mut open = vec!["/".to_string()];
    let mut path = String::new();
    let names = page
        .trail
        .iter()
        .skip(1)
        .map(|c| c.name.clone())
        .chain([Some(page.folder.folder.name.clone())]);
    for name in names {
        let Some(name) = name else { break };
        path.push('/');
        path.push_str(&name);
        open.push(path.clone());
    }
    Ok(open)
}

/// What the tree is drawn from.
struct Tree<'a> {
    svc: &'a ferry_core::Service,
    ctx: &'a SessionContext,
    open: &'a [String],
    moving: &'a [i64],
    chosen: Option<i64>,
    folder: i64,
}

impl Tree<'_> {
    /// One folder's line, and its subfolders' lines when it is open.
    async fn node(
        &self,
        view: &FolderView,
        path: &str,
        label: &str,
        out: &mut String,
        shown: &mut Vec<String>,
    ) -> Result<(), WebError> {
        let id = view.folder.id;
        // A folder can be chosen where the caller may add to it, and that is not one of the
        // folders being moved (the Service refuses both anyway).
        let choosable = view.effective.contains(Permissions::CREATE) && !self.moving.contains(&id);
        let here = if id == self.folder {
            r#" <span class="muted">(where they are now)</span>"#
        } else {
            ""
        };
        let radio = format!(
            r#"<input type="radio" name="to" value="{id}" id="to-{id}"{checked}{disabled}><label for="to-{id}">{name}</label>{here}"#,
            checked = if self.chosen == Some(id) {
                " checked"
            } else {
                ""
            },
            disabled = if choosable { "" } else { " disabled" },
            name = esc(label),
        );
        let is_open = self.open.iter().any(|p| p == path);
        let toggle = format!(
            r#" <button type="submit" class="link" formaction="/web/folders/{here_id}/move-to" name="{field}" value="{value}" aria-expanded="{is_open}" aria-label="{verb} {name}">{verb}</button>"#,
            here_id = self.folder,
            field = if is_open { "close" } else { "open" },
            value = esc(path),
            verb = if is_open { "Close" } else { "Open" },
            name = esc(label),
        );
        out.push_str(&format!("<li>{radio}{toggle}"));
        if is_open {
            shown.push(path.to_string());
            let (_, children, more) = self.svc.tree_subfolders(self.ctx, path, MAX_SHOWN).await?;
            if children.is_empty() {
                out.push_str(r#"<ul role="list"><li class="muted">No subfolders</li></ul>"#);
            } else {
                out.push_str(r#"<ul role="list">"#);
                for child in &children {
                    let child_path =
                        format!("{}/{}", path.trim_end_matches('/'), child.folder.name);
                    Box::pin(self.node(child, &child_path, &child.folder.name, out, shown)).await?;
                }
                if more {
                    out.push_str(
                        r#"<li class="muted">and more: type the folder's path on the folder page</li>"#,
                    );
                }
                out.push_str("</ul>");
            }
        }
        out.push_str("</li>");
        Ok(())
    }
}
