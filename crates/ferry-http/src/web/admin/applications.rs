//! `/admin/applications`: Ferry's own front ends and the client applications registered by
//! ID; registering one (1000 and above), enabling and disabling.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::sessions::{application_name, optional_id};
use super::{AdminSession, back, console};
use crate::router::AppState;
use crate::web::error::WebError;
use crate::web::extract::WebForm;
use crate::web::format;
use crate::web::page::{csrf_input, esc};

/// `GET /admin/applications`.
pub async fn list(State(state): State<AppState>, who: AdminSession) -> Result<Response, WebError> {
    let apps = state.service.applications_for(&who.actor()).await?;
    let csrf = csrf_input(&who.0);
    let mut main = format!(
        r#"<form method="post" action="/admin/applications" class="inline panel">{csrf}
<label for="app-id">Application ID</label><input id="app-id" name="id" inputmode="numeric" required size="8">
<label for="app-name">Name</label><input id="app-name" name="name" required maxlength="255">
<button type="submit" class="primary">Register</button></form>
<table class="listing"><thead><tr><th scope="col">ID</th><th scope="col">Name</th><th scope="col">State</th><th scope="col">Registered</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead><tbody>
"#
    );
    for a in &apps {
        let (shown, full) = format::time(a.created_at);
        let own = ferry_core::domain::application::is_reserved(a.id);
        let action = if own {
            format!(
                r#"<span class="muted">Ferry's {}</span>"#,
                esc(&application_name(a.id))
            )
        } else {
            format!(
                r#"<form method="post" action="/admin/applications/enabled" class="inline">{csrf}<input type="hidden" name="id" value="{id}"><input type="hidden" name="enabled" value="{to}"><button type="submit"{class}>{label}<span class="visually-hidden"> application {id}</span></button></form>"#,
                id = a.id,
                to = !a.enabled,
                label = if a.enabled { "Disable" } else { "Enable" },
                class = if a.enabled { r#" class="danger""# } else { "" },
            )
        };
        main.push_str(&format!(
            r#"<tr><td>{id}</td><td>{name}</td><td>{state}</td><td><time datetime="{full}">{shown}</time></td><td>{action}</td></tr>
"#,
            id = a.id,
            name = esc(&a.name),
            state = if a.enabled { "enabled" } else { "disabled" },
        ));
    }
    main.push_str(&format!(
        "</tbody></table><p class=\"muted\">{} applications.</p>",
        format::count(apps.len() as i64)
    ));
    Ok(console(&who, "/admin/applications", "Applications", &main))
}

/// The register form.
#[derive(Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    enabled: String,
}

/// `POST /admin/applications`.
pub async fn register(
    State(state): State<AppState>,
    who: AdminSession,
    WebForm(form): WebForm<RegisterForm>,
) -> Result<Response, WebError> {
    who.0.check_form(&form.csrf)?;
    let id = optional_id(Some(&form.id))?.ok_or(WebError::BadForm("which ID?"))?;
    state
        .service
        .add_application(&who.actor(), id, form.name.trim())
        .await?;
    Ok(back("/admin/applications"))
}

/// `POST /admin/applications/enabled`.
pub async fn set_enabled(
    State(state): State<AppState>,
    who: AdminSession,
    WebForm(form): WebForm<RegisterForm>,
) -> Result<Response, WebError> {
    who.0.check_form(&form.csrf)?;
    let id = optional_id(Some(&form.id))?.ok_or(WebError::BadForm("which ID?"))?;
    let enabled = match form.enabled.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(WebError::BadForm("enabled is true or false")),
    };
    state
        .service
        .set_application_enabled(&who.actor(), id, enabled)
        .await?;
    Ok(back("/admin/applications"))
}
