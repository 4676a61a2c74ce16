//! `GET /web/folders/{id}`: a folder as a page (breadcrumbs, subfolders, a page of files in
//! the order asked for, paging) from one Service call, [`ferry_core::Service::folder_page`].
//! Actions the caller's bits would refuse are left out; the Service checks them anyway.

use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use ferry_core::domain::{File, FileOrder, FolderType, Permissions};
use ferry_core::service::{FILE_COUNT_CAP, FolderPage, FolderPageRequest, FolderView, PageStart};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use super::error::WebError;
use super::extract::{WebId, WebQuery};
use super::format;
use super::page::{csrf_input, esc, frame};
use super::session::WebSession;
use crate::router::AppState;

/// Files on one page.
pub const PAGE_SIZE: i64 = 100;

/// `?sort=name|size|modified&dir=asc|desc`, and `after=ID` or `before=ID` (the file the page
/// follows or precedes: keyset pages, as quick deep in a large folder as at its start), or
/// `folders_after=NAME` (a later page of subfolders, shown without files).
#[derive(Deserialize, Default)]
pub struct Listing {
    sort: Option<String>,
    dir: Option<String>,
    after: Option<i64>,
    before: Option<i64>,
    folders_after: Option<String>,
}

/// The order a listing is in, and where the page starts.
#[derive(Clone, Copy)]
struct Order {
    by: FileOrder,
    descending: bool,
    start: PageStart,
}

impl Order {
    fn from(q: &Listing) -> Order {
        let by = match q.sort.as_deref() {
            Some("size") => FileOrder::Size,
            Some("modified") => FileOrder::Modified,
            _ => FileOrder::Name,
        };
        Order {
            by,
            descending: q.dir.as_deref() == Some("desc"),
            start: match (q.after, q.before) {
                (Some(id), _) => PageStart::After(id),
                (None, Some(id)) => PageStart::Before(id),
                (None, None) => PageStart::First,
            },
        }
    }

    fn key(by: FileOrder) -> &'static str {
        match by {
            FileOrder::Name => "name",
            FileOrder::Size => "size",
            FileOrder::Modified => "modified",
        }
    }

    /// The query of this order starting at `start`.
    fn query(&self, start: PageStart) -> String {
        let from = match start {
            PageStart::First => String::new(),
            PageStart::After(id) => format!("&amp;after={id}"),
            PageStart::Before(id) => format!("&amp;before={id}"),
        };
        format!(
            "?sort={}&amp;dir={}{from}",
            Self::key(self.by),
            if self.descending { "desc" } else { "asc" }
        )
    }
}

/// `GET /web/folders/{id}`.
pub async fn show(
    State(state): State<AppState>,
    who: WebSession,
    WebId(folder): WebId,
    WebQuery(q): WebQuery<Listing>,
) -> Result<Response, WebError> {
    let order = Order::from(&q);
    let page = state
        .service
        .folder_page(
            &who.ctx,
            FolderPageRequest {
                folder,
                order: order.by,
                descending: order.descending,
                start: order.start,
                take: PAGE_SIZE,
                folders_after: q.folders_after.clone(),
            },
        )
        .await?;
    let later = q.folders_after.is_some();
    let main = render(&who, &page, order, state.service.sharing_enabled(), later);
    Ok(Html(frame(&display_name(&page.folder), Some(&who), &main)).into_response())
}

/// A folder's name as people see it (the root has none).
fn display_name(view: &FolderView) -> String {
    match view.folder.folder_type {
        FolderType::Root => "All folders".into(),
        _ => view.folder.name.clone(),
    }
}

fn render(
    who: &WebSession,
    page: &FolderPage,
    order: Order,
    sharing: bool,
    later_folders: bool,
) -> String {
    let id = page.folder.folder.id;
    let held = page.folder.effective;
    let here = format!("/web/folders/{id}{}", order.query(order.start));
    let mut out = String::new();

    out.push_str(r#"<nav aria-label="Breadcrumb" class="crumbs"><ol>"#);
    for crumb in &page.trail {
        match &crumb.name {
            Some(_) if crumb.id == ferry_core::domain::folder::ROOT_FOLDER => {
                out.push_str(&format!(
                    r#"<li><a href="/web/folders/{}">All folders</a></li>"#,
                    crumb.id
                ))
            }
            Some(name) => out.push_str(&format!(
                r#"<li><a href="/web/folders/{}">{}</a></li>"#,
                crumb.id,
                esc(name)
            )),
            None => out.push_str(r#"<li><span title="A folder you may not open">…</span></li>"#),
        }
    }
    out.push_str(&format!(
        r#"<li aria-current="page">{}</li></ol></nav>"#,
        esc(&display_name(&page.folder))
    ));
    out.push_str(&format!("<h1>{}</h1>\n", esc(&display_name(&page.folder))));

    out.push_str(r#"<div class="tools">"#);
    if held.contains(Permissions::CREATE) {
        out.push_str(&format!(
            r#"<details class="new-folder"><summary>New folder</summary>
<form method="post" action="/web/folders/{id}/new-folder" class="inline">{csrf}
<label for="new-folder-name">Folder name</label>
<input id="new-folder-name" name="name" required maxlength="255" autocomplete="off">
<button type="submit">Create folder</button></form></details>"#,
            csrf = csrf_input(who),
        ));
    }
    if held.contains(Permissions::MANAGE) && !ferry_core::domain::is_navigation(id) {
        out.push_str(&format!(
            r#"<a class="button secondary" href="/web/folders/{id}/permissions">Permissions</a>"#
        ));
    }
    if sharing && held.contains(Permissions::DISTRIBUTE.union(Permissions::CREATE)) {
        out.push_str(&format!(
            r#"<details class="request-files"><summary>Request files</summary>
<form method="post" action="/web/folders/{id}/request-link" class="inline">{csrf}
{fields}<button type="submit">Make upload link</button></form></details>"#,
            csrf = csrf_input(who),
            fields = super::sharing::link_fields(false),
        ));
    }
    if held.contains(Permissions::READ.union(Permissions::DOWNLOAD))
        && page.file_count + folders_len(page) > 0
    {
        out.push_str(&format!(
            r#"<a class="button" href="/web/folders/{id}/zip" download>Download folder as ZIP</a>"#
        ));
    }
    out.push_str("</div>\n");
    if held.contains(Permissions::CREATE) {
        out.push_str(&uploader(who, id));
    }

    let folders = &page.folders;
    if folders.is_empty() && page.files.is_empty() {
        out.push_str(if later_folders {
            r#"<p class="empty">No more folders.</p>"#
        } else if held.contains(Permissions::READ) {
            r#"<p class="empty">This folder is empty.</p>"#
        } else {
            r#"<p class="empty">You may see this folder but not its files.</p>"#
        });
        out.push_str(&folder_pager(page, order, later_folders));
        return out;
    }

    out.push_str(&selection_bar(who, page, sharing));
    out.push_str(&format!(
        r#"<table class="listing"><caption class="visually-hidden">Contents of {}</caption>
<thead><tr><th scope="col"><span class="visually-hidden">Select</span></th>{}{}{}<th scope="col">Version</th><th scope="col">By</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>
"#,
        esc(&display_name(&page.folder)),
        header(id, order, FileOrder::Name, "Name"),
        header(id, order, FileOrder::Size, "Size"),
        header(id, order, FileOrder::Modified, "Modified"),
    ));
    if !page.has_before {
        for child in folders {
            out.push_str(&folder_row(who, child, &here));
        }
    }
    for file in &page.files {
        out.push_str(&file_row(who, page, file, held, &here));
    }
    out.push_str("</tbody></table>\n");
    out.push_str(&folder_pager(page, order, later_folders));

    if page.file_count > 0 {
        out.push_str(r#"<nav aria-label="Pages of files" class="pager">"#);
        let total = if page.file_count >= FILE_COUNT_CAP {
            format!("more than {}", format::count(FILE_COUNT_CAP))
        } else {
            format::count(page.file_count)
        };
        out.push_str(&format!(
            "<p>{} files shown of {total} in this folder</p>",
            format::count(page.files.len() as i64)
        ));
        if page.has_before {
            out.push_str(&format!(
                r#"<a href="/web/folders/{id}{}">First page</a>"#,
                order.query(PageStart::First)
            ));
            if let Some(first) = page.files.first() {
                out.push_str(&format!(
                    r#"<a rel="prev" href="/web/folders/{id}{}">Previous page</a>"#,
                    order.query(PageStart::Before(first.id))
                ));
            }
        }
        if page.has_after
            && let Some(last) = page.files.last()
        {
            out.push_str(&format!(
                r#"<a rel="next" href="/web/folders/{id}{}">Next page</a>"#,
                order.query(PageStart::After(last.id))
            ));
        }
        out.push_str("</nav>\n");
    }
    out
}

/// The links between pages of subfolders, when there are more than one page shows.
fn folder_pager(page: &FolderPage, order: Order, later: bool) -> String {
    let id = page.folder.folder.id;
    let next = page.folders.last().filter(|_| page.more_folders);
    if !later && next.is_none() {
        return String::new();
    }
    let mut out = String::from(r#"<nav aria-label="Pages of folders" class="pager">"#);
    out.push_str(&format!(
        "<p>{} folders shown{}</p>",
        format::count(page.folders.len() as i64),
        if later { ", without files" } else { "" }
    ));
    if later {
        out.push_str(&format!(
            r#"<a href="/web/folders/{id}{}">First page</a>"#,
            order.query(PageStart::First)
        ));
    }
    if let Some(last) = next {
        out.push_str(&format!(
            r#"<a rel="next" href="/web/folders/{id}{}&amp;folders_after={}">More folders</a>"#,
            order.query(PageStart::First),
            utf8_percent_encode(&last.folder.name, NON_ALPHANUMERIC)
        ));
    }
    out.push_str("</nav>\n");
    out
}

/// The drop zone and pickers of the uploader (the zone is not itself a control: its pickers
/// are, so a keyboard reaches them and nothing interactive is nested in another) ([`super::assets`]' `upload.js`, the upload
/// tool's, pointed at `/web/tus` with this session's form token and this folder). A name that
/// is already here becomes its next version, where the bits allow (Modify).
fn uploader(who: &WebSession, folder: i64) -> String {
    format!(
        r#"<section id="tool" class="uploader" aria-label="Upload" data-endpoint="/web/tus" data-auth-header="Ferry-Form-Token" data-auth-value="{token}" data-folder="{folder}" data-scope="web:{user}:{folder}" data-history="off" data-success-url="/web/folders/{folder}" data-files-used="0">
<div id="drop" class="drop"><p class="drop-hint"><strong>Drop files or folders here</strong></p>
<p class="pickers"><label class="button">Choose files<input id="pick-files" type="file" multiple></label> <label class="button folder-picker">Choose a folder<input id="pick-folder" type="file" webkitdirectory multiple></label></p></div>
<p id="rules" class="rules">A file whose name is already here becomes its next version.</p>
<section id="total" class="total" hidden aria-label="All files"><progress id="total-bar" max="1" value="0"></progress><p id="total-text" aria-live="polite"></p></section>
<ul id="files" class="files"></ul>
<div id="summary" class="summary" role="status" hidden></div>
<noscript><p>Uploading from this page needs JavaScript; SFTP and FTPS work with the same account.</p></noscript>
</section>
"#,
        token = who.csrf_token(),
        user = who.ctx.user.id,
    )
}

fn folders_len(page: &FolderPage) -> i64 {
    page.folders.len() as i64
}

/// The form the rows' checkboxes belong to, with what may be done to them here: download as
/// ZIP (Read and Download), move (Modify) to the folder above, a subfolder or home, delete
/// (Delete). The Service checks each item anyway.
fn selection_bar(who: &WebSession, page: &FolderPage, sharing: bool) -> String {
    let held = page.folder.effective;
    let id = page.folder.folder.id;
    let mut out = format!(
        r#"<form id="selection" method="post" action="/web/folders/{id}/selection" class="selection-bar">{}<span class="muted">With the ticked items:</span> "#,
        csrf_input(who)
    );
    if held.contains(Permissions::READ.union(Permissions::DOWNLOAD)) {
        out.push_str(
            r#"<button type="submit" name="action" value="zip">Download as ZIP</button> "#,
        );
    }
    // A move takes an item out of this folder (`Permissions::MOVE_AWAY`).
    if held.contains(Permissions::MOVE_AWAY) {
        let mut options = String::new();
        if let Some(parent) = page.trail.last()
            && let Some(name) = &parent.name
            && !ferry_core::domain::is_navigation(parent.id)
        {
            options.push_str(&format!(
                r#"<option value="{}">Up to {}</option>"#,
                parent.id,
                esc(name)
            ));
        }
        for child in &page.folders {
            options.push_str(&format!(
                r#"<option value="{}">Into {}</option>"#,
                child.folder.id,
                esc(&child.folder.name)
            ));
        }
        if let Some(home) = who.ctx.user.home_folder_id
            && home != id
        {
            options.push_str(&format!(
                r#"<option value="{home}">To my home folder</option>"#
            ));
        }
        out.push_str(&format!(
            r#"<label>Move <select name="to">{options}</select></label> <label>or to the folder at <input name="to_path" placeholder="/Shared/Team" maxlength="4096" autocomplete="off" size="14"></label> <button type="submit" name="action" value="move">Move</button> <button type="submit" formaction="/web/folders/{id}/move-to">Move to…</button> "#
        ));
    }
    if sharing
        && held.contains(
            Permissions::DISTRIBUTE
                .union(Permissions::READ)
                .union(Permissions::DOWNLOAD),
        )
    {
        out.push_str(&format!(
            r#"<details class="share"><summary>Share</summary><div class="inline">{}<button type="submit" name="action" value="share">Make download link</button></div></details> "#,
            super::sharing::link_fields(true)
        ));
    }
    if held.contains(Permissions::DELETE) {
        out.push_str(r#"<button type="submit" name="action" value="delete" class="danger" data-confirm="Delete the ticked items?">Delete</button>"#);
    }
    out.push_str("</form>\n");
    out
}

/// A sortable column's heading: a link to the other direction when it is the current order.
fn header(folder: i64, now: Order, by: FileOrder, label: &str) -> String {
    let current = now.by == by;
    let next = Order {
        by,
        descending: current && !now.descending,
        start: PageStart::First,
    };
    let sort = if current {
        if now.descending {
            r#" aria-sort="descending""#
        } else {
            r#" aria-sort="ascending""#
        }
    } else {
        ""
    };
    format!(
        r#"<th scope="col"{sort}><a href="/web/folders/{folder}{}">{label}</a></th>"#,
        next.query(PageStart::First)
    )
}

fn folder_row(who: &WebSession, child: &FolderView, here: &str) -> String {
    let f = &child.folder;
    let (shown, full) = format::time(f.modified_at);
    let actions = item_actions(
        who,
        &format!("/web/folders/{}", f.id),
        &f.name,
        child.effective.contains(Permissions::MODIFY) && changeable(f.folder_type),
        child.effective.contains(Permissions::DELETE) && changeable(f.folder_type),
        here,
    );
    format!(
        r#"<tr class="folder"><td><input type="checkbox" name="item" value="d:{id}" form="selection" aria-label="Select {name}"></td><td><a class="folder-link" href="/web/folders/{id}">{name}</a></td><td>—</td><td><time datetime="{full}">{shown}</time></td><td></td><td></td><td>{actions}</td></tr>
"#,
        id = f.id,
        name = esc(&f.name),
    )
}

/// Whether a folder of this kind may be renamed or deleted at all (the Service refuses the
/// root, the navigation folders and homes).
fn changeable(kind: FolderType) -> bool {
    matches!(kind, FolderType::Regular | FolderType::UserDropBox)
}

fn file_row(
    who: &WebSession,
    page: &FolderPage,
    file: &File,
    held: Permissions,
    here: &str,
) -> String {
    let (shown, full) = format::time(file.modified_at);
    let mut name = format!(
        r#"<a class="file-link" href="/web/files/{}">{}</a>"#,
        file.id,
        esc(&file.name)
    );
    if held.contains(Permissions::DOWNLOAD) {
        name.push_str(&format!(
            r#" <a class="download" href="/web/files/{}/download" download>Download<span class="visually-hidden"> {}</span></a>"#,
            file.id,
            esc(&file.name)
        ));
    }
    let by = file
        .modified_by
        .or(file.created_by)
        .and_then(|u| page.people.get(&u))
        .map(|n| esc(n))
        .unwrap_or_default();
    let actions = item_actions(
        who,
        &format!("/web/files/{}", file.id),
        &file.name,
        held.contains(Permissions::MODIFY),
        held.contains(Permissions::DELETE),
        here,
    );
    format!(
        r#"<tr class="file"><td><input type="checkbox" name="item" value="f:{id}" form="selection" aria-label="Select {label}"></td><td>{name}</td><td data-bytes="{bytes}">{size}</td><td><time datetime="{full}">{shown}</time></td><td>{version}</td><td>{by}</td><td>{actions}</td></tr>
"#,
        id = file.id,
        label = esc(&file.name),
        bytes = file.size,
        size = format::size(file.size),
        version = file.version,
    )
}

/// Rename and delete for one folder or file, as forms that work without a script.
fn item_actions(
    who: &WebSession,
    base: &str,
    name: &str,
    rename: bool,
    delete: bool,
    here: &str,
) -> String {
    if !rename && !delete {
        return String::new();
    }
    let mut out = format!(
        r#"<details class="row-actions"><summary>Actions<span class="visually-hidden"> for {}</span></summary><div class="menu">"#,
        esc(name)
    );
    let csrf = csrf_input(who);
    let back = format!(r#"<input type="hidden" name="back" value="{here}">"#);
    if rename {
        out.push_str(&format!(
            r#"<form method="post" action="{base}/rename" class="inline">{csrf}{back}<label>New name <input name="name" required maxlength="255" value="{name}" autocomplete="off"></label><button type="submit">Rename</button></form>"#,
            name = esc(name),
        ));
    }
    if delete {
        out.push_str(&format!(
            r#"<form method="post" action="{base}/delete" class="inline" data-confirm="Delete {name}?">{csrf}{back}<button type="submit" class="danger">Delete</button></form>"#,
            name = esc(name),
        ));
    }
    out.push_str("</div></details>");
    out
}
