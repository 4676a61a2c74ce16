//! A file's page, `GET /web/files/{id}`: its details and SHA-256, every version (download
//! one, restore one as the newest), and, for those who may read the audit log, its activity.
//! One Service call, [`ferry_core::Service::file_page`].

use axum::extract::State;
use axum::http::Method;
use axum::response::{Html, IntoResponse, Redirect, Response};
use ferry_core::domain::{FolderType, Permissions};
use ferry_core::service::{FILE_VERSIONS_SHOWN, FilePage};
use serde::Deserialize;

use super::error::WebError;
use super::extract::{WebForm, WebId};
use super::format;
use super::page::{csrf_input, esc, frame};
use super::session::WebSession;
use crate::router::AppState;

/// `GET /web/files/{id}`.
pub async fn show(
    State(state): State<AppState>,
    who: WebSession,
    WebId(file): WebId,
) -> Result<Response, WebError> {
    let page = state.service.file_page(&who.ctx, file).await?;
    let main = render(&who, &page);
    Ok(Html(frame(&page.file.file.name, Some(&who), &main)).into_response())
}

fn render(who: &WebSession, page: &FilePage) -> String {
    let f = &page.file.file;
    let held = page.file.effective;
    let folder = &page.folder.folder;
    let folder_name = if folder.folder_type == FolderType::Root {
        "All folders".to_string()
    } else {
        folder.name.clone()
    };
    let person = |id: Option<i64>| {
        id.and_then(|u| page.people.get(&u))
            .map(|n| esc(n))
            .unwrap_or_default()
    };
    let (shown, full) = format::time(f.modified_at);
    let mut out = format!(
        r#"<nav aria-label="Breadcrumb" class="crumbs"><ol><li><a href="/web/folders/{fid}">{fname}</a></li><li aria-current="page">{name}</li></ol></nav>
<h1>{name}</h1>
<dl class="facts">
<dt>Size</dt><dd>{size} <span class="muted">({bytes} bytes)</span></dd>
<dt>Version</dt><dd>{version}</dd>
<dt>Modified</dt><dd><time datetime="{full}">{shown}</time> by {by}</dd>
<dt>SHA-256</dt><dd><code class="digest">{sha}</code></dd>
</dl>
"#,
        fid = folder.id,
        fname = esc(&folder_name),
        name = esc(&f.name),
        size = format::size(f.size),
        bytes = format::count(f.size),
        version = f.version,
        by = person(f.modified_by.or(f.created_by)),
        sha = esc(&f.sha256),
    );
    if held.contains(Permissions::DOWNLOAD) {
        out.push_str(&format!(
            r#"<p><a class="button" href="/web/files/{}/download" download>Download</a></p>"#,
            f.id
        ));
    }

    out.push_str(
        r#"<h2>Versions</h2>
<table class="listing"><thead><tr><th scope="col">Version</th><th scope="col">Size</th><th scope="col">Made</th><th scope="col">By</th><th scope="col">SHA-256</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead><tbody>
"#,
    );
    for v in &page.versions {
        let (shown, full) = format::time(v.created_at);
        let mut actions = String::new();
        if held.contains(Permissions::DOWNLOAD) {
            actions.push_str(&format!(
                r#"<a href="/web/files/{}/versions/{}/download" download>Download<span class="visually-hidden"> version {}</span></a> "#,
                f.id, v.version, v.version
            ));
        }
        if held.contains(Permissions::MODIFY) && v.version != f.version {
            actions.push_str(&format!(
                r#"<form method="post" action="/web/files/{}/versions/{}/restore" class="inline" data-confirm="Make version {} the newest?">{}<button type="submit">Restore<span class="visually-hidden"> version {}</span></button></form>"#,
                f.id,
                v.version,
                v.version,
                csrf_input(who),
                v.version
            ));
        }
        let current = if v.version == f.version {
            r#" <span class="tag">newest</span>"#
        } else {
            ""
        };
        out.push_str(&format!(
            r#"<tr><td>{version}{current}</td><td>{size}</td><td><time datetime="{full}">{shown}</time></td><td>{by}</td><td><code class="digest short" title="{sha}">{short}…</code></td><td>{actions}</td></tr>
"#,
            version = v.version,
            size = format::size(v.size),
            by = person(v.created_by),
            sha = esc(&v.sha256),
            short = esc(v.sha256.get(..12).unwrap_or(&v.sha256)),
        ));
    }
    out.push_str("</tbody></table>\n");
    if page.older_versions {
        out.push_str(&format!(
            r#"<p class="muted">The {FILE_VERSIONS_SHOWN} newest versions are shown; older ones are kept, and the API's <code>GetFileVersions</code> pages through them all.</p>
"#
        ));
    }

    if let Some(activity) = &page.activity {
        out.push_str(
            r#"<h2>Activity</h2>
<table class="listing"><thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Who</th><th scope="col">From</th><th scope="col">Detail</th></tr></thead><tbody>
"#,
        );
        for r in activity {
            let (shown, full) = format::time(r.at);
            let e = &r.entry;
            out.push_str(&format!(
                r#"<tr><td><time datetime="{full}">{shown}</time></td><td>{op}{failed}</td><td>{who}</td><td>{ip}</td><td>{detail}</td></tr>
"#,
                op = esc(&e.operation),
                failed = if e.status == "Failure" { " (refused)" } else { "" },
                who = person(e.user_id),
                ip = esc(e.client_ip.as_deref().unwrap_or("")),
                detail = esc(e.detail.as_deref().unwrap_or("")),
            ));
        }
        out.push_str("</tbody></table>\n");
    }
    out
}

/// The path of a version.
pub struct VersionPath {
    file: i64,
    version: i64,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for VersionPath {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, WebError> {
        let axum::extract::Path((file, version)) =
            axum::extract::Path::<(String, String)>::from_request_parts(parts, state)
                .await
                .map_err(|_| WebError::NotFound)?;
        match (file.parse(), version.parse()) {
            (Ok(file), Ok(version)) => Ok(VersionPath { file, version }),
            _ => Err(WebError::NotFound),
        }
    }
}

/// `GET /web/files/{id}/versions/{n}/download`; a `HEAD` checks the same and answers the same
/// headers, but opens nothing and records no download.
pub async fn download_version(
    State(state): State<AppState>,
    who: WebSession,
    method: Method,
    path: VersionPath,
) -> Result<Response, WebError> {
    if method == Method::HEAD {
        let (view, version) = state
            .service
            .version_to_download(&who.ctx, path.file, path.version)
            .await?;
        return Ok(crate::transfer::attachment_head(
            &view.file.name,
            version.size as u64,
        ));
    }
    let dl = state
        .service
        .download_version(&who.ctx, path.file, path.version)
        .await?;
    Ok(crate::transfer::whole_attachment(
        &state.service,
        &who.ctx,
        dl,
    ))
}

/// The restore form.
#[derive(Deserialize)]
pub struct RestoreForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /web/files/{id}/versions/{n}/restore`.
pub async fn restore_version(
    State(state): State<AppState>,
    who: WebSession,
    path: VersionPath,
    WebForm(form): WebForm<RestoreForm>,
) -> Result<Response, WebError> {
    who.check_form(&form.csrf)?;
    state
        .service
        .restore_version(&who.ctx, path.file, path.version)
        .await?;
    Ok(Redirect::to(&format!("/web/files/{}", path.file)).into_response())
}
