//! `GET /web/search?q=…`: names that match, `*` standing for any run of characters (a string
//! without `*` matches names that contain it), over what the caller may see: the Service's
//! `Search`, a page at a time.

use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::error::WebError;
use super::extract::WebQuery;
use super::format;
use super::page::{esc, frame};
use super::session::WebSession;
use crate::router::AppState;

/// Results on one page.
const PAGE_SIZE: i64 = 100;

/// `?q=…&page=N`.
#[derive(Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    page: Option<i64>,
}

/// `GET /web/search`.
pub async fn show(
    State(state): State<AppState>,
    who: WebSession,
    WebQuery(query): WebQuery<SearchQuery>,
) -> Result<Response, WebError> {
    let q = query.q.unwrap_or_default();
    let page = query.page.unwrap_or(1).clamp(1, 1000);
    let mut main = format!(
        r#"<h1>Search</h1>
<form method="get" action="/web/search" role="search" class="inline">
<label for="search-page-q">Names like</label>
<input id="search-page-q" name="q" type="search" value="{}" maxlength="255" required>
<button type="submit">Search</button></form>
<p class="muted">Use * for any characters: <code>*.pdf</code>, <code>report*2026</code>.</p>
"#,
        esc(&q)
    );
    if q.trim().is_empty() {
        return Ok(Html(frame("Search", Some(&who), &main)).into_response());
    }
    let (found, folder_names) = state
        .service
        .search_page(&who.ctx, q.trim(), (page - 1) * PAGE_SIZE, PAGE_SIZE)
        .await?;
    let n = found.folders.len() + found.files.len();
    if n == 0 {
        main.push_str(
            r#"<p class="empty" role="status">Nothing you may see has a name like that.</p>"#,
        );
    } else {
        main.push_str(&format!(
            r#"<p role="status">{} found on this page.</p><ul class="results">"#,
            format::count(n as i64)
        ));
        for f in &found.folders {
            main.push_str(&format!(
                r#"<li><a class="folder-link" href="/web/folders/{}">{}</a></li>"#,
                f.folder.id,
                esc(&f.folder.name)
            ));
        }
        for f in &found.files {
            main.push_str(&format!(
                r#"<li><a class="file-link" href="/web/files/{}">{}</a> <span class="muted">{} · in <a href="/web/folders/{}">{}</a></span></li>"#,
                f.file.id,
                esc(&f.file.name),
                format::size(f.file.size),
                f.file.folder_id,
                esc(folder_names
                    .get(&f.file.folder_id)
                    .map_or("its folder", String::as_str)),
            ));
        }
        main.push_str("</ul>");
        let enc = url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>();
        main.push_str(r#"<nav aria-label="Pages of results" class="pager">"#);
        if page > 1 {
            main.push_str(&format!(
                r#"<a rel="prev" href="/web/search?q={enc}&amp;page={}">Previous page</a>"#,
                page - 1
            ));
        }
        if n as i64 == PAGE_SIZE {
            main.push_str(&format!(
                r#"<a rel="next" href="/web/search?q={enc}&amp;page={}">Next page</a>"#,
                page + 1
            ));
        }
        main.push_str("</nav>");
    }
    Ok(Html(frame("Search", Some(&who), &main)).into_response())
}
