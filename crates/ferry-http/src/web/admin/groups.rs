//! `/admin/groups`: the user groups and their members; creating a group; adding and removing
//! members by user name. The Service's rule holds: changing a group's members hands out what
//! the group is granted, so it needs every bit the group holds (administrators hold them all).

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::{AdminSession, back, console};
use crate::router::AppState;
use crate::web::error::WebError;
use crate::web::extract::WebForm;
use crate::web::page::{csrf_input, esc};

/// `GET /admin/groups`.
pub async fn list(State(state): State<AppState>, who: AdminSession) -> Result<Response, WebError> {
    let actor = who.actor();
    let groups = state.service.groups_with_members(&actor).await?;
    let names: HashMap<i64, String> = state
        .service
        .users_for(&actor)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let csrf = csrf_input(&who.0);
    let mut main = format!(
        r#"<form method="post" action="/admin/groups" class="inline panel">{csrf}
<label for="group-name">New group</label><input id="group-name" name="name" required maxlength="128">
<button type="submit" class="primary">Create group</button></form>
"#
    );
    if groups.is_empty() {
        main.push_str(r#"<p class="empty">No groups yet.</p>"#);
    }
    for (g, members) in &groups {
        let gname = esc(&g.name);
        main.push_str(&format!(
            r#"<section class="group" aria-labelledby="group-{id}"><h2 id="group-{id}">{gname}</h2><ul class="members">"#,
            id = g.id
        ));
        if members.is_empty() {
            main.push_str(r#"<li class="muted">No members.</li>"#);
        }
        for m in members {
            let uname = esc(names.get(m).map(String::as_str).unwrap_or("?"));
            main.push_str(&format!(
                r#"<li>{uname} <form method="post" action="/admin/groups/members" class="inline">{csrf}<input type="hidden" name="group" value="{id}"><input type="hidden" name="user" value="{uname}"><input type="hidden" name="add" value="false"><button type="submit" class="link">Remove<span class="visually-hidden"> {uname} from {gname}</span></button></form></li>"#,
                id = g.id
            ));
        }
        main.push_str(&format!(
            r#"</ul><form method="post" action="/admin/groups/members" class="inline">{csrf}<input type="hidden" name="group" value="{id}"><input type="hidden" name="add" value="true"><label>Add user <input name="user" required maxlength="255" autocomplete="off"></label><button type="submit">Add<span class="visually-hidden"> to {gname}</span></button></form></section>
"#,
            id = g.id
        ));
    }
    Ok(console(&who, "/admin/groups", "Groups", &main))
}

/// The create form.
#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

/// `POST /admin/groups`.
pub async fn create(
    State(state): State<AppState>,
    who: AdminSession,
    WebForm(form): WebForm<CreateForm>,
) -> Result<Response, WebError> {
    who.0.check_form(&form.csrf)?;
    state
        .service
        .create_user_group(&who.0.ctx, form.name.trim())
        .await?;
    Ok(back("/admin/groups"))
}

/// The membership form.
#[derive(Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    add: String,
}

/// `POST /admin/groups/members`.
pub async fn membership(
    State(state): State<AppState>,
    who: AdminSession,
    WebForm(form): WebForm<MemberForm>,
) -> Result<Response, WebError> {
    who.0.check_form(&form.csrf)?;
    let group = super::sessions::optional_id(Some(&form.group))?
        .ok_or(WebError::BadForm("which group?"))?;
    let add = match form.add.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(WebError::BadForm("add is true or false")),
    };
    let user = state.service.user_named(form.user.trim()).await?;
    state
        .service
        .change_group_membership(&who.0.ctx, group, user.id, add)
        .await?;
    Ok(back("/admin/groups"))
}
