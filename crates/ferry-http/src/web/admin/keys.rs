//! `/admin/users/keys?name=…`: a user's SSH public keys for SFTP sign-in; adding one (an
//! OpenSSH `authorized_keys` line) and removing one by fingerprint. Removing a key ends the
//! SFTP sessions it opened (the Service does). Nobody adds a key to an account above their role.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{AdminSession, console};
use crate::router::AppState;
use crate::web::error::WebError;
use crate::web::extract::{WebForm, WebQuery};
use crate::web::format;
use crate::web::page::{csrf_input, esc};

/// `?name=`.
#[derive(Deserialize)]
pub struct Who {
    name: Option<String>,
}

/// `GET /admin/users/keys?name=…`.
pub async fn list(
    State(state): State<AppState>,
    who: AdminSession,
    WebQuery(q): WebQuery<Who>,
) -> Result<Response, WebError> {
    let name = q.name.unwrap_or_default();
    let keys = state.service.ssh_keys(&who.actor(), &name).await?;
    let csrf = csrf_input(&who.0);
    let ename = esc(&name);
    let mut main = format!(
        r#"<p><a href="/admin/users">All users</a></p>
<form method="post" action="/admin/users/keys" class="stack">{csrf}<input type="hidden" name="name" value="{ename}">
<label for="key-line">Public key (a line of authorized_keys)</label><textarea id="key-line" name="line" rows="3" required maxlength="16384"></textarea>
<button type="submit" class="primary">Add key</button></form>
<table class="listing"><thead><tr><th scope="col">Fingerprint</th><th scope="col">Type</th><th scope="col">Comment</th><th scope="col">Added</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead><tbody>
"#
    );
    if keys.is_empty() {
        main.push_str(r#"<tr><td colspan="5" class="muted">No keys.</td></tr>"#);
    }
    for k in &keys {
        let (shown, full) = format::time(k.created_at);
        main.push_str(&format!(
            r#"<tr><td><code>{fp}</code></td><td>{alg}</td><td>{comment}</td><td><time datetime="{full}">{shown}</time></td><td><form method="post" action="/admin/users/keys/remove" class="inline" data-confirm="Remove this key? SFTP sessions it opened end.">{csrf}<input type="hidden" name="name" value="{ename}"><input type="hidden" name="fingerprint" value="{fp}"><button type="submit" class="danger">Remove<span class="visually-hidden"> key {fp}</span></button></form></td></tr>
"#,
            fp = esc(&k.fingerprint),
            alg = esc(&k.algorithm),
            comment = esc(&k.comment),
        ));
    }
    main.push_str("</tbody></table>");
    Ok(console(
        &who,
        "/admin/users",
        &format!("SSH keys of {name}"),
        &main,
    ))
}

/// The key forms.
#[derive(Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    line: String,
    #[serde(default)]
    fingerprint: String,
}

fn back_to(name: &str) -> Response {
    let q: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
    Redirect::to(&format!("/admin/users/keys?name={q}")).into_response()
}

/// `POST /admin/users/keys`.
pub async fn add(
    State(state): State<AppState>,
    who: AdminSession,
    WebForm(form): WebForm<KeyForm>,
) -> Result<Response, WebError> {
    who.0.check_form(&form.csrf)?;
    state
        .service
        .add_ssh_key(&who.actor(), &form.name, form.line.trim())
        .await?;
    Ok(back_to(&form.name))
}

/// `POST /admin/users/keys/remove`.
pub async fn remove(
    State(state): State<AppState>,
    who: AdminSession,
    WebForm(form): WebForm<KeyForm>,
) -> Result<Response, WebError> {
    who.0.check_form(&form.csrf)?;
    state
        .service
        .remove_ssh_key(&who.actor(), &form.name, &form.fingerprint)
        .await?;
    Ok(back_to(&form.name))
}
