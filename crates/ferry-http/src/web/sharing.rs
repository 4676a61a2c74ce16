//! Sharing from the web client: "Request files" on a folder (an upload link), "Share" on ticked
//! files (a download link), the links a person made (`/web/links`), each shown again or
//! revoked. The Service makes, lists and revokes them ([`ferry_core::Service::share`]); a link
//! is the browser tools' page with a version-2 token, so this module only builds its URL.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use ferry_core::domain::ShareTarget;
use ferry_core::service::{MAX_LINK_DOWNLOADS, ShareRequest, SharedLink};
use serde::Deserialize;

use super::error::WebError;
use super::extract::{WebForm, WebId};
use super::format;
use super::page::{csrf_input, esc, frame};
use super::session::{WebSession, web_caller};
use crate::router::AppState;
use crate::server::{ClientAddr, OverHttps};

/// How long a link may last, in days, as the forms offer it.
pub const DAY_CHOICES: [i64; 5] = [1, 3, 7, 30, 90];

/// The expiry and recipient fields a link form shows, and for a download link how many
/// downloads it allows.
pub fn link_fields(download: bool) -> String {
    let options: String = DAY_CHOICES
        .iter()
        .map(|d| {
            format!(
                r#"<option value="{d}"{}>{d} day{}</option>"#,
                if *d == 7 { " selected" } else { "" },
                if *d == 1 { "" } else { "s" }
            )
        })
        .collect();
    let downloads = if download {
        format!(
            r#"
<label>Downloads allowed (optional) <input name="downloads" type="number" min="1" max="{MAX_LINK_DOWNLOADS}" inputmode="numeric" placeholder="any number"></label>"#
        )
    } else {
        String::new()
    };
    format!(
        r#"<label>Ends after <select name="days">{options}</select></label>
<label>Recipient's e-mail (optional) <input name="email" type="email" maxlength="254" autocomplete="off"></label>{downloads}"#
    )
}

/// The form of a new link.
#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    downloads: String,
}

/// Days from the form, checked against the choices offered.
pub fn days(text: &str) -> Result<i64, WebError> {
    text.parse::<i64>()
        .ok()
        .filter(|d| DAY_CHOICES.contains(d))
        .ok_or(WebError::BadForm("a link lasts 1, 3, 7, 30 or 90 days"))
}

/// Downloads allowed, from the form: blank for any number.
fn max_downloads(text: &str) -> Result<Option<i64>, WebError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<i64>()
        .ok()
        .filter(|n| (1..=MAX_LINK_DOWNLOADS).contains(n))
        .map(Some)
        .ok_or(WebError::BadForm(
            "downloads allowed: a whole number from 1 to 10,000, or blank for any number",
        ))
}

/// The link's address on this server, as the browser reached it.
fn link_url(headers: &HeaderMap, https: OverHttps, shared: &SharedLink) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    let page = match shared.link.target {
        ShareTarget::Upload(_) => "upload",
        ShareTarget::Download(_) => "download",
    };
    let token: String = url::form_urlencoded::byte_serialize(shared.token.as_bytes()).collect();
    format!(
        "{}://{host}/tools/{page}?token={token}",
        if https.0 { "https" } else { "http" }
    )
}

/// The page that hands a link to its maker.
fn link_page(who: &WebSession, url: &str, shared: &SharedLink) -> Response {
    let (ends, ends_full) = format::time(shared.link.expires_at);
    let what = match (&shared.link.target, shared.link.max_downloads) {
        (ShareTarget::Upload(_), _) => {
            "Anyone with this link can upload files into the folder.".to_string()
        }
        (ShareTarget::Download(_), None) => {
            "Anyone with this link can download the files.".to_string()
        }
        (ShareTarget::Download(_), Some(n)) => format!(
            "Anyone with this link can download the files, {n} download{} in all (each file, or the ZIP of all, is one).",
            if n == 1 { "" } else { "s" }
        ),
    };
    let main = format!(
        r#"<h1>Your link</h1>
<p>{what} It ends <time datetime="{ends_full}">{ends}</time>{to}; you can revoke it sooner from <a href="/web/links">your links</a>.</p>
<div class="copy-row"><label for="link">Link</label><input id="link" class="link-field" readonly value="{url}"><button type="button" class="copy" data-copy="link">Copy</button></div>
"#,
        url = esc(url),
        to = shared
            .link
            .email
            .as_deref()
            .map(|e| format!(", for {}", esc(e)))
            .unwrap_or_default(),
    );
    Html(frame("Your link", Some(who), &main)).into_response()
}

/// `POST /web/folders/{id}/request-link`: an upload link into the folder.
pub async fn request_files(
    State(state): State<AppState>,
    who: WebSession,
    WebId(folder): WebId,
    client: ClientAddr,
    https: OverHttps,
    headers: HeaderMap,
    WebForm(form): WebForm<LinkForm>,
) -> Result<Response, WebError> {
    who.check_form(&form.csrf)?;
    let shared = make(
        &state,
        &who,
        client,
        &headers,
        ShareTarget::Upload(folder),
        &form,
    )
    .await?;
    Ok(link_page(
        &who,
        &link_url(&headers, https, &shared),
        &shared,
    ))
}

impl LinkForm {
    /// The link fields of another form (the selection's).
    pub fn new(days: &str, email: &str, downloads: &str) -> LinkForm {
        LinkForm {
            csrf: String::new(),
            days: days.to_string(),
            email: email.to_string(),
            downloads: downloads.to_string(),
        }
    }
}

/// A download link for ticked files (from the selection form).
pub async fn share_files(
    state: &AppState,
    who: &WebSession,
    (client, https): (ClientAddr, OverHttps),
    headers: &HeaderMap,
    files: Vec<i64>,
    form: LinkForm,
) -> Result<Response, WebError> {
    let shared = make(
        state,
        who,
        client,
        headers,
        ShareTarget::Download(files),
        &form,
    )
    .await?;
    Ok(link_page(who, &link_url(headers, https, &shared), &shared))
}

async fn make(
    state: &AppState,
    who: &WebSession,
    client: ClientAddr,
    headers: &HeaderMap,
    target: ShareTarget,
    form: &LinkForm,
) -> Result<SharedLink, WebError> {
    let days = days(&form.days)?;
    let max_downloads = max_downloads(&form.downloads)?;
    Ok(state
        .service
        .share(
            &who.ctx,
            ShareRequest {
                target,
                lasts_ms: days * 86_400_000,
                email: Some(form.email.clone()),
                max_downloads,
            },
            &web_caller(client, headers),
        )
        .await?)
}

/// `GET /web/links`: the links the person made.
pub async fn list(State(state): State<AppState>, who: WebSession) -> Result<Response, WebError> {
    let links = state.service.my_share_links(&who.ctx).await?;
    let csrf = csrf_input(&who);
    let mut main = String::from("<h1>Your links</h1>\n");
    if links.is_empty() {
        main.push_str(r#"<p class="empty">You have not shared a link yet. Use "Request files" on a folder, or tick files and choose "Share".</p>"#);
    } else {
        main.push_str(r#"<table class="listing"><thead><tr><th scope="col">Link</th><th scope="col">For</th><th scope="col">Made</th><th scope="col">Ends</th><th scope="col">Downloads</th><th scope="col">State</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead><tbody>
"#);
        for (l, live) in &links {
            let live = *live;
            let (made, made_full) = format::time(l.created_at);
            let (ends, ends_full) = format::time(l.expires_at);
            let what = match &l.target {
                ShareTarget::Upload(f) => {
                    format!(r#"Upload into <a href="/web/folders/{f}">a folder</a>"#)
                }
                ShareTarget::Download(ids) if ids.len() == 1 => {
                    format!(r#"Download of <a href="/web/files/{}">a file</a>"#, ids[0])
                }
                ShareTarget::Download(ids) => format!("Download of {} files", ids.len()),
            };
            let used_up = l.max_downloads.is_some_and(|m| l.downloads >= m);
            let downloads = match (&l.target, l.max_downloads) {
                (ShareTarget::Upload(_), _) => String::new(),
                (ShareTarget::Download(_), Some(m)) => format!("{} of {m}", l.downloads),
                (ShareTarget::Download(_), None) => "any number".to_string(),
            };
            let state_text = if l.revoked_at.is_some() {
                "revoked"
            } else if !live {
                "ended"
            } else if used_up {
                "used up"
            } else {
                "active"
            };
            let actions = if live {
                format!(
                    r#"<form method="post" action="/web/links/{id}/show" class="inline">{csrf}<button type="submit">Show link<span class="visually-hidden"> {id}</span></button></form> <form method="post" action="/web/links/{id}/revoke" class="inline" data-confirm="Revoke this link? It stops working at once.">{csrf}<button type="submit" class="danger">Revoke<span class="visually-hidden"> link {id}</span></button></form>"#,
                    id = l.id
                )
            } else {
                String::new()
            };
            main.push_str(&format!(
                r#"<tr><td>{what}</td><td>{to}</td><td><time datetime="{made_full}">{made}</time></td><td><time datetime="{ends_full}">{ends}</time></td><td>{downloads}</td><td>{state_text}</td><td>{actions}</td></tr>
"#,
                to = esc(l.email.as_deref().unwrap_or("anyone with the link")),
            ));
        }
        main.push_str("</tbody></table>");
    }
    Ok(Html(frame("Your links", Some(&who), &main)).into_response())
}

/// A form that only carries the token.
#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /web/links/{id}/show`: the link's address again (a new token for the same link).
pub async fn show(
    State(state): State<AppState>,
    who: WebSession,
    WebId(id): WebId,
    https: OverHttps,
    headers: HeaderMap,
    WebForm(form): WebForm<TokenForm>,
) -> Result<Response, WebError> {
    who.check_form(&form.csrf)?;
    let shared = state.service.share_link_token(&who.ctx, id).await?;
    Ok(link_page(
        &who,
        &link_url(&headers, https, &shared),
        &shared,
    ))
}

/// `POST /web/links/{id}/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    who: WebSession,
    WebId(id): WebId,
    WebForm(form): WebForm<TokenForm>,
) -> Result<Response, WebError> {
    who.check_form(&form.csrf)?;
    state.service.revoke_share_link(&who.ctx, id).await?;
    Ok(Redirect::to("/web/links").into_response())
}
