//! `/admin/users`: every account, with its role and state; create one; change a role; disable,
//! enable; set a password (which ends the user's sessions, as the Service does); reset the
//! second factor (a lost phone: the user enrols again); see what each has stored and set
//! their storage quota.

use axum::extract::State;
use axum::response::Response;
use ferry_core::domain::quota::show_size;
use ferry_core::domain::{QuotaSetting, Role};
use ferry_core::service::NewUserRequest;
use serde::Deserialize;

use super::{AdminSession, back, console};
use crate::router::AppState;
use crate::web::error::WebError;
use crate::web::extract::WebForm;
use crate::web::format;
use crate::web::page::{csrf_input, esc};

/// `GET /admin/users`.
pub async fn list(State(state): State<AppState>, who: AdminSession) -> Result<Response, WebError> {
    let users = state.service.users_for(&who.actor()).await?;
    let storage = state.service.storage_of_users(&who.actor(), &users).await?;
    let csrf = csrf_input(&who.0);
    let role_options = |selected: Role| {
        Role::ALL
            .iter()
            .filter(|r| **r <= who.0.ctx.user.role)
            .map(|r| {
                format!(
                    r#"<option value="{}"{}>{}</option>"#,
                    r.name(),
                    if *r == selected { " selected" } else { "" },
                    r.name()
                )
            })
            .collect::<String>()
    };
    let mut main = format!(
        r#"<details class="panel"><summary>Create a user</summary>
<form method="post" action="/admin/users" class="grid-form">{csrf}
<label for="new-name">User name</label><input id="new-name" name="name" required maxlength="255" autocomplete="off">
<label for="new-email">E-mail</label><input id="new-email" name="email" type="email" maxlength="254" autocomplete="off">
<label for="new-first">First name</label><input id="new-first" name="first_name" maxlength="255" autocomplete="off">
<label for="new-last">Last name</label><input id="new-last" name="last_name" maxlength="255" autocomplete="off">
<label for="new-role">Role</label><select id="new-role" name="role">{roles}</select>
<label for="new-password">Password</label><input id="new-password" name="password" type="password" autocomplete="new-password" minlength="8">
<button type="submit" class="primary">Create user</button>
</form></details>
<p class="muted">{count} users.</p>
<table class="listing"><thead><tr><th scope="col">User</th><th scope="col">Name</th><th scope="col">Role</th><th scope="col">State</th><th scope="col">Stored</th><th scope="col">Created</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead><tbody>
"#,
        roles = role_options(Role::Member),
        count = format::count(users.len() as i64),
    );
    for u in users.iter().filter(|u| !u.deleted) {
        let (shown, full) = format::time(u.created_at);
        let name = esc(&u.name);
        let changeable = u.role <= who.0.ctx.user.role;
        let mut actions = String::new();
        if changeable {
            actions.push_str(&format!(
                r#"<details class="row-actions"><summary>Manage<span class="visually-hidden"> {name}</span></summary><div class="menu">
<form method="post" action="/admin/users/role" class="inline">{csrf}<input type="hidden" name="name" value="{name}"><label>Role <select name="role">{roles}</select></label><button type="submit">Change role</button></form>
<form method="post" action="/admin/users/quota" class="inline">{csrf}<input type="hidden" name="name" value="{name}"><label>Storage quota <input name="quota" value="{quota}" required maxlength="32" size="8" autocomplete="off"></label><button type="submit">Set quota</button> <span class="muted">10G, 500M, none, or default</span></form>
<form method="post" action="/admin/users/password" class="inline">{csrf}<input type="hidden" name="name" value="{name}"><label>New password <input name="password" type="password" autocomplete="new-password" minlength="8" required></label><button type="submit">Set password</button></form>
<form method="post" action="/admin/users/reset-totp" class="inline" data-confirm="Reset two-step sign-in of {name}? They set it up again at their next sign-in.">{csrf}<input type="hidden" name="name" value="{name}"><button type="submit">Reset two-step sign-in</button></form>
<form method="post" action="/admin/users/{verb}" class="inline"{confirm}>{csrf}<input type="hidden" name="name" value="{name}"><button type="submit"{class}>{label}</button></form>
<a href="/admin/users/keys?name={qname}">SSH keys</a> · <a href="/admin/sessions?user={id}">Sessions</a> · <a href="/admin/audit?user={id}">Audit records</a>
</div></details>"#,
                roles = role_options(u.role),
                quota = esc(&u.quota.to_string()),
                verb = if u.active { "disable" } else { "enable" },
                label = if u.active { "Disable" } else { "Enable" },
                class = if u.active { r#" class="danger""# } else { "" },
                confirm = if u.active {
                    format!(r#" data-confirm="Disable {name}? Their sessions end at once.""#)
                } else {
                    String::new()
                },
                id = u.id,
                qname = esc(&url::form_urlencoded::byte_serialize(u.name.as_bytes()).collect::<String>()),
            ));
        }
        main.push_str(&format!(
            r#"<tr><td>{name}</td><td>{person}</td><td>{role}</td><td>{state}</td><td>{stored}</td><td><time datetime="{full}">{shown}</time></td><td>{actions}</td></tr>
"#,
            stored = match storage.get(&u.id) {
                Some((Some(bound), stored)) => {
                    format!("{} of {}", show_size(*stored), show_size(*bound))
                }
                Some((None, stored)) => show_size(*stored),
                None => String::new(),
            },
            person = esc(format!("{} {}", u.first_name, u.last_name).trim()),
            role = u.role.name(),
            state = if u.active { "active" } else { "disabled" },
        ));
    }
    main.push_str("</tbody></table>");
    Ok(console(&who, "/admin/users", "Users", &main))
}

/// The create form.
#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

fn role(text: &str) -> Result<Role, WebError> {
    Role::parse(text).ok_or(WebError::BadForm("the role is not one of Ferry's"))
}

/// `POST /admin/users`.
pub async fn create(
    State(state): State<AppState>,
    who: AdminSession,
    WebForm(form): WebForm<CreateForm>,
) -> Result<Response, WebError> {
    who.0.check_form(&form.csrf)?;
    let req = NewUserRequest {
        name: form.name.trim().to_string(),
        role: role(&form.role)?,
        email: form.email.trim().to_string(),
        first_name: form.first_name.trim().to_string(),
        last_name: form.last_name.trim().to_string(),
        password: (!form.password.is_empty()).then_some(form.password),
    };
    state.service.add_user(&who.actor(), req).await?;
    Ok(back("/admin/users"))
}

/// A form about one user.
#[derive(Deserialize)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    quota: String,
}

/// `POST /admin/users/quota`: `10G`, `500M`, `none`, or `default` (the server's).
pub async fn set_quota(
    State(state): State<AppState>,
    who: AdminSession,
    WebForm(form): WebForm<UserForm>,
) -> Result<Response, WebError> {
    who.0.check_form(&form.csrf)?;
    let quota = QuotaSetting::parse(&form.quota)?;
    state
        .service
        .set_quota(&who.actor(), &form.name, quota)
        .await?;
    Ok(back("/admin/users"))
}

/// `POST /admin/users/role`.
pub async fn set_role(
    State(state): State<AppState>,
    who: AdminSession,
    WebForm(form): WebForm<UserForm>,
) -> Result<Response, WebError> {
    who.0.check_form(&form.csrf)?;
    state
        .service
        .set_role(&who.actor(), &form.name, role(&form.role)?)
        .await?;
    Ok(back("/admin/users"))
}

/// `POST /admin/users/disable`: the user's sessions end at once.
pub async fn disable(
    State(state): State<AppState>,
    who: AdminSession,
    WebForm(form): WebForm<UserForm>,
) -> Result<Response, WebError> {
    who.0.check_form(&form.csrf)?;
    state.service.disable_user(&who.actor(), &form.name).await?;
    Ok(back("/admin/users"))
}

/// `POST /admin/users/enable`.
pub async fn enable(
    State(state): State<AppState>,
    who: AdminSession,
    WebForm(form): WebForm<UserForm>,
) -> Result<Response, WebError> {
    who.0.check_form(&form.csrf)?;
    state.service.enable_user(&who.actor(), &form.name).await?;
    Ok(back("/admin/users"))
}

/// `POST /admin/users/reset-totp`: removes the user's second factor and recovery codes.
pub async fn reset_totp(
    State(state): State<AppState>,
    who: AdminSession,
    WebForm(form): WebForm<UserForm>,
) -> Result<Response, WebError> {
    who.0.check_form(&form.csrf)?;
    state.service.reset_totp(&who.actor(), &form.name).await?;
    Ok(back("/admin/users"))
}

/// `POST /admin/users/password`.
pub async fn set_password(
    State(state): State<AppState>,
    who: AdminSession,
    WebForm(form): WebForm<UserForm>,
) -> Result<Response, WebError> {
    who.0.check_form(&form.csrf)?;
    state
        .service
        .set_password(&who.actor(), &form.name, form.password)
        .await?;
    Ok(back("/admin/users"))
}
