//! `/admin/sessions`: the live sessions, by user and application, each named by its tag;
//! ending one (its user's next request finds it gone: a browser lands on the sign-in page, an
//! SFTP or FTPS connection closes).

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::{AdminSession, back, console};
use crate::router::AppState;
use crate::web::error::WebError;
use crate::web::extract::{WebForm, WebQuery};
use crate::web::format;
use crate::web::page::{csrf_input, esc};

/// `?user=ID&app=ID`.
#[derive(Deserialize)]
pub struct Filter {
    user: Option<String>,
    app: Option<String>,
}

/// An optional number from a form field ("" is none).
pub(super) fn optional_id(text: Option<&str>) -> Result<Option<i64>, WebError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => t
            .parse()
            .map(Some)
            .map_err(|_| WebError::BadForm("an ID is a whole number")),
    }
}

/// What an application ID means to a person.
pub(super) fn application_name(id: i64) -> String {
    match id {
        1 => "browser tools".into(),
        2 => "SFTP".into(),
        3 => "FTPS".into(),
        4 => "command line".into(),
        5 => "web client".into(),
        n => format!("application {n}"),
    }
}

/// `GET /admin/sessions`.
pub async fn list(
    State(state): State<AppState>,
    who: AdminSession,
    WebQuery(filter): WebQuery<Filter>,
) -> Result<Response, WebError> {
    let user = optional_id(filter.user.as_deref())?;
    let app = optional_id(filter.app.as_deref())?;
    let actor = who.actor();
    let sessions = state.service.live_sessions(&actor, user, app).await?;
    let names: HashMap<i64, String> = state
        .service
        .users_for(&actor)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let csrf = csrf_input(&who.0);
    let mut main = format!(
        r#"<form method="get" action="/admin/sessions" class="inline filters">
<label for="f-user">User ID</label><input id="f-user" name="user" inputmode="numeric" value="{u}" size="6">
<label for="f-app">Application ID</label><input id="f-app" name="app" inputmode="numeric" value="{a}" size="6">
<button type="submit">Filter</button></form>
<p class="muted">{n} live sessions{limit}.</p>
<table class="listing"><thead><tr><th scope="col">User</th><th scope="col">Application</th><th scope="col">Session</th><th scope="col">From</th><th scope="col">Client</th><th scope="col">Opened</th><th scope="col">Last used</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead><tbody>
"#,
        u = user.map(|v| v.to_string()).unwrap_or_default(),
        a = app.map(|v| v.to_string()).unwrap_or_default(),
        n = format::count(sessions.len() as i64),
        limit = if sessions.len() as i64 == ferry_core::service::MAX_LISTED_SESSIONS {
            " (the most recently used; filter to see others)"
        } else {
            ""
        },
    );
    for s in &sessions {
        let (opened, opened_full) = format::time(s.created_at);
        let (used, used_full) = format::time(s.last_used_at);
        let user_name = names.get(&s.user_id).map(String::as_str).unwrap_or("?");
        main.push_str(&format!(
            r#"<tr><td>{user}</td><td>{app}</td><td><code>{tag}</code>{imp}</td><td>{ip}</td><td>{client}</td><td><time datetime="{opened_full}">{opened}</time></td><td><time datetime="{used_full}">{used}</time></td><td><form method="post" action="/admin/sessions/end" class="inline" data-confirm="End this session of {user}?">{csrf}<input type="hidden" name="user" value="{uid}"><input type="hidden" name="tag" value="{tag}"><button type="submit" class="danger">End<span class="visually-hidden"> session {tag} of {user}</span></button></form></td></tr>
"#,
            user = esc(user_name),
            uid = s.user_id,
            app = esc(&application_name(s.application_id)),
            tag = esc(&s.tag),
            imp = s
                .impersonator_id
                .map(|i| format!(" (opened by user {i})"))
                .unwrap_or_default(),
            ip = esc(s.client_ip.as_deref().unwrap_or("")),
            client = esc(s.client_version.as_deref().unwrap_or("")),
        ));
    }
    main.push_str("</tbody></table>");
    Ok(console(&who, "/admin/sessions", "Live sessions", &main))
}

/// The end form.
#[derive(Deserialize)]
pub struct EndForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    tag: String,
}

/// `POST /admin/sessions/end`.
pub async fn end(
    State(state): State<AppState>,
    who: AdminSession,
    WebForm(form): WebForm<EndForm>,
) -> Result<Response, WebError> {
    who.0.check_form(&form.csrf)?;
    let user = optional_id(Some(&form.user))?.ok_or(WebError::BadForm("which user?"))?;
    state
        .service
        .end_session(&who.actor(), user, form.tag.trim())
        .await?;
    Ok(back("/admin/sessions"))
}
