//! `/admin/directory`: the directory sync (`[sso.sync]`): where it reads from, its last runs
//! (the audit's `DirectorySynced` records), a dry-run preview of what the next run would change,
//! and a run now. Both go through the configured sync and `Service::sync_directory`, as the
//! schedule and `ferry sso-sync` do.

use axum::extract::State;
use axum::response::Response;
use ferry_core::service::SyncSummary;
use ferry_core::store::AuditFilter;
use serde::Deserialize;

use super::{AdminSession, console};
use crate::router::AppState;
use crate::web::error::WebError;
use crate::web::extract::WebForm;
use crate::web::format;
use crate::web::page::{csrf_input, esc};

/// Runs listed.
const LAST_RUNS: i64 = 10;

async fn page(
    state: &AppState,
    who: &AdminSession,
    outcome: Option<Result<SyncSummary, String>>,
) -> Result<Response, WebError> {
    let Some(directory) = &state.directory else {
        return Ok(console(
            who,
            "/admin/directory",
            "Directory sync",
            r#"<p class="empty">No directory sync is configured. Add an <code>[sso.sync]</code> section to the configuration file (docs/configuration.md) and restart; <code>ferry sso-sync</code> runs one by hand.</p>"#,
        ));
    };
    let csrf = csrf_input(&who.0);
    let mut main = format!(
        r#"<p>Reads {}.</p>
<form method="post" action="/admin/directory" class="inline">{csrf}<button type="submit" name="run" value="preview">Preview the next run</button> <button type="submit" name="run" value="now" class="primary" data-confirm="Run the directory sync now? Accounts may be created, changed or disabled.">Run now</button></form>
"#,
        esc(&directory.describe())
    );
    match outcome {
        Some(Ok(s)) => {
            main.push_str(&format!(
                r#"<section class="ok" role="status" id="sync-result"><h2>{}</h2><p>{}</p>"#,
                if s.dry_run {
                    "What the next run would change"
                } else {
                    "What the run changed"
                },
                esc(&s.to_string())
            ));
            for (label, names) in [
                ("Created", &s.created),
                ("Updated", &s.updated),
                ("Disabled", &s.deactivated),
                ("Conflicts", &s.conflicts),
            ] {
                if !names.is_empty() {
                    let list: String = names.iter().map(|n| format!("<li>{}</li>", esc(n))).collect();
                    main.push_str(&format!("<h3>{label}</h3><ul>{list}</ul>"));
                }
            }
            main.push_str("</section>");
        }
        Some(Err(why)) => main.push_str(&format!(
            r#"<p class="problem" role="alert" id="sync-result">The sync did not run; nothing changed: {}</p>"#,
            esc(&why)
        )),
        None => {}
    }
    let filter = AuditFilter {
        operation: Some("DirectorySynced".into()),
        ..AuditFilter::default()
    };
    let runs = state
        .service
        .audit_log(&who.0.ctx, &filter, 0, LAST_RUNS)
        .await?;
    main.push_str(
        r#"<h2>Last runs</h2><table class="listing"><thead><tr><th scope="col">When</th><th scope="col">Outcome</th><th scope="col">Summary</th></tr></thead><tbody>"#,
    );
    if runs.is_empty() {
        main.push_str(r#"<tr><td colspan="3" class="muted">None yet.</td></tr>"#);
    }
    for r in &runs {
        let (shown, full) = format::time(r.at);
        main.push_str(&format!(
            r#"<tr><td><time datetime="{full}">{shown}</time></td><td>{}</td><td>{}</td></tr>"#,
            esc(&r.entry.status),
            esc(r.entry.detail.as_deref().unwrap_or(""))
        ));
    }
    main.push_str("</tbody></table>");
    Ok(console(who, "/admin/directory", "Directory sync", &main))
}

/// `GET /admin/directory`.
pub async fn show(State(state): State<AppState>, who: AdminSession) -> Result<Response, WebError> {
    page(&state, &who, None).await
}

/// The run form.
#[derive(Deserialize)]
pub struct RunForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    run: String,
}

/// `POST /admin/directory`: `run=preview` (a dry run) or `run=now`.
pub async fn run(
    State(state): State<AppState>,
    who: AdminSession,
    WebForm(form): WebForm<RunForm>,
) -> Result<Response, WebError> {
    who.0.check_form(&form.csrf)?;
    let dry_run = match form.run.as_str() {
        "preview" => true,
        "now" => false,
        _ => return Err(WebError::BadForm("run is preview or now")),
    };
    let Some(directory) = &state.directory else {
        return page(&state, &who, None).await;
    };
    let outcome = directory.run(&who.actor(), dry_run).await;
    page(&state, &who, Some(outcome)).await
}
