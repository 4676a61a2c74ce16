//! `/admin/configuration`: the effective configuration, read-only, secrets masked (the rows
//! the binary built at start-up from flags, environment, file and defaults).

use axum::extract::State;
use axum::response::Response;

use super::{AdminSession, console};
use crate::router::AppState;
use crate::web::error::WebError;
use crate::web::page::esc;

/// `GET /admin/configuration`.
pub async fn show(State(state): State<AppState>, who: AdminSession) -> Result<Response, WebError> {
    // The rows hold no secrets, but only administrators see how the server is set up.
    state.service.users_for(&who.actor()).await?;
    let mut main = String::from(
        r#"<p class="muted">What this server runs with, after flags, environment, file and defaults; secrets are never shown. Change it in the configuration file and restart.</p>
<table class="listing"><thead><tr><th scope="col">Section</th><th scope="col">Setting</th><th scope="col">Value</th></tr></thead><tbody>
"#,
    );
    for (section, name, value) in state.config_view.iter() {
        main.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td class=\"value\">{}</td></tr>\n",
            esc(if section.is_empty() { "(top)" } else { section }),
            esc(name),
            esc(value)
        ));
    }
    main.push_str("</tbody></table>");
    Ok(console(
        &who,
        "/admin/configuration",
        "Configuration",
        &main,
    ))
}
