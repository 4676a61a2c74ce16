//! A folder's permissions dialog (`/web/folders/{id}/permissions`, Manage bit): its grants to
//! users and groups with a checkbox per bit, a form to grant bits to a user or group by name,
//! and whether the folder inherits its parent's grants. Each change is one Service call; the
//! Service refuses a bit the person does not hold themselves.

use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use ferry_core::domain::{Grantee, Permissions};
use ferry_core::service::GranteeName;

use super::error::WebError;
use super::extract::WebId;
use super::page::{csrf_input, esc, frame};
use super::session::WebSession;
use crate::router::AppState;

/// The bits, in the order of their values, with the words people read.
const BITS: [(i64, &str); 8] = [
    (1, "Show"),
    (2, "Read"),
    (4, "Create"),
    (8, "Download"),
    (16, "Distribute"),
    (32, "Manage"),
    (64, "Modify"),
    (128, "Delete"),
];

fn checkboxes(held: Permissions, granted: Permissions, label: &str) -> String {
    BITS.iter()
        .map(|(bit, word)| {
            let on = granted.contains(Permissions(*bit));
            // A bit the person does not hold cannot be granted: shown, not offered.
            let disabled = !held.contains(Permissions(*bit));
            format!(
                r#"<label class="bit"><input type="checkbox" name="bit" value="{bit}"{}{} aria-label="{word} for {label}"> {word}</label>"#,
                if on { " checked" } else { "" },
                if disabled { " disabled" } else { "" },
            )
        })
        .collect()
}

/// `GET /web/folders/{id}/permissions`.
pub async fn show(
    State(state): State<AppState>,
    who: WebSession,
    WebId(folder): WebId,
) -> Result<Response, WebError> {
    let page = state.service.permissions_page(&who.ctx, folder).await?;
    let held = page.folder.effective;
    let f = &page.folder.folder;
    let csrf = csrf_input(&who);
    let mut main = format!(
        r#"<nav aria-label="Breadcrumb" class="crumbs"><ol><li><a href="/web/folders/{id}">{name}</a></li><li aria-current="page">Permissions</li></ol></nav>
<h1>Permissions of {name}</h1>
<form method="post" action="/web/folders/{id}/permissions/inherit" class="inline">{csrf}<input type="hidden" name="inherit" value="{flip}"><span>{inherits}</span> <button type="submit">{flip_label}</button></form>
<table class="listing"><thead><tr><th scope="col">Who</th><th scope="col">Bits</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead><tbody>
"#,
        id = f.id,
        name = esc(&f.name),
        flip = !f.inherit_permissions,
        inherits = if f.inherit_permissions {
            "This folder also gives what its parent folder grants."
        } else {
            "This folder gives only its own grants (it does not inherit)."
        },
        flip_label = if f.inherit_permissions {
            "Stop inheriting"
        } else {
            "Inherit again"
        },
    );
    for (g, name) in &page.grants {
        let (kind, label) = match g.grantee {
            Grantee::User(_) => ("user", format!("user {name}")),
            Grantee::Group(_) => ("group", format!("group {name}")),
        };
        let form_id = format!("grant-{}", g.id);
        main.push_str(&format!(
            r#"<tr><td>{label}</td><td><form id="{form_id}" method="post" action="/web/folders/{id}/permissions/grant" class="bits">{csrf}<input type="hidden" name="kind" value="{kind}"><input type="hidden" name="name" value="{ename}">{boxes}</form></td><td><button type="submit" form="{form_id}">Save<span class="visually-hidden"> {label}</span></button> <form method="post" action="/web/folders/{id}/permissions/grant" class="inline" data-confirm="Remove every bit of {label}?">{csrf}<input type="hidden" name="kind" value="{kind}"><input type="hidden" name="name" value="{ename}"><button type="submit" class="danger">Remove<span class="visually-hidden"> {label}</span></button></form></td></tr>
"#,
            label = esc(&label),
            ename = esc(name),
            id = f.id,
            boxes = checkboxes(held, g.permission, &esc(&label)),
        ));
    }
    main.push_str("</tbody></table>\n");
    main.push_str(&format!(
        r#"<h2>Give bits to someone</h2>
<form method="post" action="/web/folders/{id}/permissions/grant" class="stack grant-form">{csrf}
<fieldset class="inline"><legend>To a</legend><label><input type="radio" name="kind" value="user" checked> user</label><label><input type="radio" name="kind" value="group"> group</label></fieldset>
<label for="grantee">User or group name</label><input id="grantee" name="name" required maxlength="255" autocomplete="off">
<div class="bits">{boxes}</div>
<button type="submit" class="primary">Give</button></form>"#,
        id = f.id,
        boxes = checkboxes(held, Permissions(3), "the new grant"),
    ));
    Ok(Html(frame("Permissions", Some(&who), &main)).into_response())
}

/// `POST /web/folders/{id}/permissions/grant`: `kind`, `name` and the ticked `bit`s (none
/// removes the grant).
pub async fn grant(
    State(state): State<AppState>,
    who: WebSession,
    WebId(folder): WebId,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let (mut csrf, mut kind, mut name, mut bits) = (String::new(), String::new(), String::new(), 0);
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "csrf" => csrf = v.into_owned(),
            "kind" => kind = v.into_owned(),
            "name" => name = v.trim().to_string(),
            "bit" => {
                let bit = v
                    .parse::<i64>()
                    .ok()
                    .filter(|b| BITS.iter().any(|(x, _)| x == b))
                    .ok_or(WebError::BadForm("a bit is one of 1, 2, 4, … 128"))?;
                bits |= bit;
            }
            _ => {}
        }
    }
    who.check_form(&csrf)?;
    let grantee = match kind.as_str() {
        "user" => GranteeName::User(name),
        "group" => GranteeName::Group(name),
        _ => return Err(WebError::BadForm("a grant is to a user or a group")),
    };
    state
        .service
        .set_grant_by_name(&who.ctx, folder, &grantee, Permissions(bits))
        .await?;
    Ok(Redirect::to(&format!("/web/folders/{folder}/permissions")).into_response())
}

/// The inherit form.
#[derive(serde::Deserialize)]
pub struct InheritForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    inherit: String,
}

/// `POST /web/folders/{id}/permissions/inherit`.
pub async fn inherit(
    State(state): State<AppState>,
    who: WebSession,
    WebId(folder): WebId,
    super::extract::WebForm(form): super::extract::WebForm<InheritForm>,
) -> Result<Response, WebError> {
    who.check_form(&form.csrf)?;
    let inherit = match form.inherit.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(WebError::BadForm("inherit is true or false")),
    };
    state
        .service
        .set_inheritance(&who.ctx, folder, inherit)
        .await?;
    Ok(Redirect::to(&format!("/web/folders/{folder}/permissions")).into_response())
}
