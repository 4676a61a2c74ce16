//! `/admin/audit`: the audit log filtered by user, operation, application, folder and time,
//! newest first, a page at a time; the same filter exported as JSON lines or CSV (the shape of
//! `ferry audit export`); and the chain verified, showing the first broken link.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use ferry_core::Timestamp;
use ferry_core::store::AuditFilter;
use serde::Deserialize;

use super::sessions::{application_name, optional_id};
use super::{AdminSession, console};
use crate::router::AppState;
use crate::web::error::WebError;
use crate::web::extract::{WebForm, WebQuery};
use crate::web::format;
use crate::web::page::{csrf_input, esc};
use crate::wire::{AUDIT_COLUMNS, audit_csv_cells, audit_record};

/// Records on one page.
const PAGE_SIZE: i64 = 100;
/// Records read per query while exporting.
const EXPORT_BATCH: i64 = 1000;

/// The filter, as the form sends it.
#[derive(Deserialize, Default, Clone)]
pub struct Query {
    user: Option<String>,
    op: Option<String>,
    app: Option<String>,
    folder: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<i64>,
    format: Option<String>,
}

/// A time from the form: RFC 3339, or a browser's `datetime-local` (`2026-11-30T07:15`) or a
/// date, read as UTC.
fn time(text: Option<&str>) -> Result<Option<Timestamp>, WebError> {
    let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let candidates = [
        t.to_string(),
        format!("{t}Z"),
        format!("{t}:00Z"),
        format!("{t}T00:00:00Z"),
    ];
    candidates
        .iter()
        .find_map(|c| Timestamp::parse_rfc3339(c))
        .map(Some)
        .ok_or(WebError::BadForm(
            "a time is 2026-11-30T07:15 (UTC) or RFC 3339",
        ))
}

fn filter(q: &Query) -> Result<AuditFilter, WebError> {
    let op = q.op.as_deref().map(str::trim).filter(|o| !o.is_empty());
    Ok(AuditFilter {
        operation: op.map(str::to_string),
        user_id: optional_id(q.user.as_deref())?,
        application_id: optional_id(q.app.as_deref())?,
        folder_id: optional_id(q.folder.as_deref())?,
        file_id: None,
        from: time(q.from.as_deref())?,
        to: time(q.to.as_deref())?,
        before_seq: None,
    })
}

/// The filter as a query string (for paging and export links), HTML-escaped.
fn query_string(q: &Query) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("user", &q.user),
        ("op", &q.op),
        ("app", &q.app),
        ("folder", &q.folder),
        ("from", &q.from),
        ("to", &q.to),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            s.append_pair(k, v);
        }
    }
    esc(&s.finish())
}

/// `GET /admin/audit`.
pub async fn list(
    State(state): State<AppState>,
    who: AdminSession,
    WebQuery(q): WebQuery<Query>,
) -> Result<Response, WebError> {
    let f = filter(&q)?;
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let records = state
        .service
        .audit_log(&who.0.ctx, &f, (page - 1) * PAGE_SIZE, PAGE_SIZE)
        .await?;
    let names: HashMap<i64, String> = state
        .service
        .users_for(&who.actor())
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let field = |v: &Option<String>| esc(v.as_deref().unwrap_or(""));
    let qs = query_string(&q);
    let mut main = format!(
        r#"<form method="get" action="/admin/audit" class="filters grid-form">
<label for="a-user">User ID</label><input id="a-user" name="user" inputmode="numeric" value="{user}">
<label for="a-op">Operation</label><input id="a-op" name="op" value="{op}" placeholder="SignIn, FileUploaded, …">
<label for="a-app">Application ID</label><input id="a-app" name="app" inputmode="numeric" value="{app}">
<label for="a-folder">Folder ID</label><input id="a-folder" name="folder" inputmode="numeric" value="{folder}">
<label for="a-from">From (UTC)</label><input id="a-from" name="from" type="datetime-local" value="{from}">
<label for="a-to">Before (UTC)</label><input id="a-to" name="to" type="datetime-local" value="{to}">
<button type="submit" class="primary">Filter</button>
</form>
<p class="exports">Export these records: <a href="/admin/audit/export?format=jsonl&amp;{qs}" download>JSON lines</a> · <a href="/admin/audit/export?format=csv&amp;{qs}" download>CSV</a></p>
<form method="post" action="/admin/audit/verify" class="inline">{csrf}<button type="submit">Verify the chain</button></form>
<table class="listing"><caption class="visually-hidden">Audit records, newest first</caption><thead><tr><th scope="col">#</th><th scope="col">When</th><th scope="col">Operation</th><th scope="col">User</th><th scope="col">Application</th><th scope="col">From</th><th scope="col">Item</th><th scope="col">Detail</th></tr></thead><tbody>
"#,
        user = field(&q.user),
        op = field(&q.op),
        app = field(&q.app),
        folder = field(&q.folder),
        from = field(&q.from),
        to = field(&q.to),
        csrf = csrf_input(&who.0),
    );
    for r in &records {
        let e = &r.entry;
        let (shown, full) = format::time(r.at);
        let user = e
            .user_id
            .map(|u| {
                names
                    .get(&u)
                    .cloned()
                    .unwrap_or_else(|| format!("user {u}"))
            })
            .unwrap_or_default();
        main.push_str(&format!(
            r#"<tr><td>{seq}</td><td><time datetime="{full}">{shown}</time></td><td>{op}{failed}</td><td>{user}</td><td>{app}</td><td>{ip}</td><td>{path}</td><td>{detail}</td></tr>
"#,
            seq = r.seq,
            op = esc(&e.operation),
            failed = if e.status == "Failure" { " (refused)" } else { "" },
            user = esc(&user),
            app = e
                .application_id
                .map(|a| esc(&application_name(a)))
                .unwrap_or_default(),
            ip = esc(e.client_ip.as_deref().unwrap_or("")),
            path = esc(e.path.as_deref().unwrap_or("")),
            detail = esc(e.detail.as_deref().unwrap_or("")),
        ));
    }
    main.push_str("</tbody></table>\n");
    main.push_str(r#"<nav aria-label="Pages of records" class="pager">"#);
    if page > 1 {
        main.push_str(&format!(
            r#"<a rel="prev" href="/admin/audit?{qs}&amp;page={}">Newer records</a>"#,
            page - 1
        ));
    }
    if records.len() as i64 == PAGE_SIZE {
        main.push_str(&format!(
            r#"<a rel="next" href="/admin/audit?{qs}&amp;page={}">Older records</a>"#,
            page + 1
        ));
    }
    main.push_str("</nav>");
    Ok(console(&who, "/admin/audit", "Audit log", &main))
}

/// `GET /admin/audit/export?format=jsonl|csv&…`: every record the filter selects, newest
/// first, streamed (never the whole log in memory).
pub async fn export(
    State(state): State<AppState>,
    who: AdminSession,
    WebQuery(q): WebQuery<Query>,
) -> Result<Response, WebError> {
    let f = filter(&q)?;
    let csv = match q.format.as_deref() {
        Some("csv") => true,
        Some("jsonl") | None => false,
        Some(_) => return Err(WebError::BadForm("the format is jsonl or csv")),
    };
    // The first page is read before answering, so that a refusal is a page, not a broken
    // download.
    let format = if csv { "CSV" } else { "JSON lines" };
    let first = state
        .service
        .audit_export(&who.0.ctx, &f, format, EXPORT_BATCH)
        .await?;
    // Pages are read by sequence number, not by offset: records appended while the export
    // runs (every sign-in adds one) would shift an offset counted from the newest and repeat
    // records at each page's edge. Two pages wait at most between the reader and the client.
    let (pages, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(2);
    let service = state.service.clone();
    let ctx = who.0.ctx.clone();
    tokio::spawn(async move {
        let mut f = f;
        let mut batch = first;
        if csv {
            let header = csv_line(AUDIT_COLUMNS.iter().map(|c| c.to_string()));
            if pages.send(Ok(header)).await.is_err() {
                return;
            }
        }
        loop {
            let mut out = Vec::new();
            for r in &batch {
                let row = audit_record(r);
                if csv {
                    out.extend(csv_line(audit_csv_cells(&row).into_iter()));
                } else {
                    out.extend(row.to_string().into_bytes());
                    out.push(b'\n');
                }
            }
            let more = batch.len() as i64 == EXPORT_BATCH;
            f.before_seq = batch.last().map(|r| r.seq);
            if pages.send(Ok(out)).await.is_err() || !more {
                return;
            }
            batch = match service.audit_log_continued(&ctx, &f, EXPORT_BATCH).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "audit export ended early");
                    // An error in the body breaks the response off (no last chunk): the
                    // download shows as incomplete instead of passing for the whole log.
                    let broken =
                        std::io::Error::other("the audit log could not be read to the end");
                    let _ = pages.send(Err(broken)).await;
                    return;
                }
            };
        }
    });
    let body = futures_lite::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|page| (page, rx))
    });
    let mut r = Body::from_stream(body).into_response();
    let (ctype, name) = if csv {
        ("text/csv; charset=utf-8", "audit.csv")
    } else {
        ("application/x-ndjson", "audit.jsonl")
    };
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

/// One CSV line, quoted by the csv crate.
fn csv_line(fields: impl Iterator<Item = String>) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fields: Vec<String> = fields.collect();
    if w.write_record(&fields).is_err() {
        return Vec::new();
    }
    w.into_inner().unwrap_or_default()
}

/// The verify form.
#[derive(Deserialize)]
pub struct VerifyForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /admin/audit/verify`: walks the whole chain and says whether it holds, or where it
/// first breaks.
pub async fn verify(
    State(state): State<AppState>,
    who: AdminSession,
    WebForm(form): WebForm<VerifyForm>,
) -> Result<Response, WebError> {
    who.0.check_form(&form.csrf)?;
    let v = state.service.verify_audit_chain_for(&who.actor()).await?;
    let main = match v.first_broken {
        None => format!(
            r#"<p class="ok" role="status" id="chain-result">The chain holds: {} records verified, each linked to the one before it.</p><p>Its head, an anchor to keep off this server (<code>ferry audit verify --anchor</code> checks a later trail against it): <code id="chain-anchor">{}:{}</code></p><p><a href="/admin/audit">Back to the audit log</a></p>"#,
            format::count(v.records),
            v.records,
            esc(&v.last_hash)
        ),
        Some(b) => format!(
            r#"<p class="problem" role="alert" id="chain-result">The chain is broken at record {seq}: {why}. {n} records before it verified.</p><p><a href="/admin/audit?page=1">Back to the audit log</a></p>"#,
            seq = b.seq,
            why = esc(&b.reason),
            n = format::count(v.records)
        ),
    };
    Ok(console(&who, "/admin/audit", "Audit chain", &main))
}
