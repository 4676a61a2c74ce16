//! The tool pages: `GET /tools/upload?token=…` and its compatibility form
//! `GET /ExternalJavaUpload.aspx?ThruFolderID=<token>&…`, `GET /tools/download?token=…`, and
//! the download tool's file links.
//!
//! A refused token gets [`REFUSED_PAGE`], the same status and the same bytes whatever the
//! reason (or, when the link names an allowed `ThruErrorReportingUrl`, the same redirect).
//! Pages are fixed templates; every value put into them goes through [`escape`].

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_core::Error;
use ferry_core::service::{ToolGrant, ToolKind, ToolLimits};
use ferry_core::tool_token::ToolTarget;

use super::{cross_site, harden_page};
use crate::error::ApiError;
use crate::router::AppState;
use crate::server::ClientAddr;

/// The one answer to every refused token.
pub const REFUSED_PAGE: &str = concat!(
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
    "<title>Link not valid</title><link rel=\"stylesheet\" href=\"/tools/assets/tool.css\"><link rel=\"icon\" href=\"/tools/assets/icon.svg\">",
    "</head><body><main class=\"refused\"><h1>This link is not valid</h1>",
    "<p>It may have expired, it may have been used already, or it was made for another ",
    "computer. Ask the person who sent it for a new link.</p></main></body></html>\n"
);

/// The error code a refused token reports to a `ThruErrorReportingUrl`.
const REFUSED_CODE: u32 = 140;
/// Largest `ThruMaxFileNumber` accepted.
const MAX_FILE_NUMBER: u32 = 10_000;

/// Query parameters, looked up without regard to case (ASP.NET links vary).
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(raw: Option<String>) -> Params {
        Params(
            url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }
}

/// HTML-escapes text for an element's content or a quoted attribute.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(status: StatusCode, html: String) -> Response {
    let mut r = (status, html).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    harden_page(r.headers_mut());
    r
}

fn refused(error_url: Option<&url::Url>) -> Response {
    match error_url {
        Some(u) => {
            let mut target = u.clone();
            target
                .query_pairs_mut()
                .append_pair("ThruErrorCode", &REFUSED_CODE.to_string());
            let mut r = StatusCode::SEE_OTHER.into_response();
            if let Ok(v) = HeaderValue::from_str(target.as_str()) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            harden_page(r.headers_mut());
            r
        }
        None => page(StatusCode::FORBIDDEN, REFUSED_PAGE.to_string()),
    }
}

fn bad_link(message: &str) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Link not \
             valid</title><link rel=\"stylesheet\" href=\"/tools/assets/tool.css\"><link rel=\"icon\" href=\"/tools/assets/icon.svg\"></head><body>\
             <main class=\"refused\"><h1>This link is malformed</h1><p>{}</p></main></body></html>\n",
            escape(message)
        ),
    )
}

fn unavailable() -> Response {
    let mut r = page(
        StatusCode::SERVICE_UNAVAILABLE,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Try again \
         </title></head><body><main><h1>The service is busy</h1><p>Try again in a moment.</p>\
         </main></body></html>\n"
            .into(),
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    r
}

/// A `ThruSuccessUrl` / `ThruErrorReportingUrl`: absolute https on an allowed host.
fn redirect_url(
    params: &Params,
    name: &str,
    allowed: &[String],
) -> Result<Option<url::Url>, String> {
    let Some(raw) = params.get(name) else {
        return Ok(None);
    };
    let parsed = url::Url::parse(raw).map_err(|_| format!("{name} is not an absolute URL"))?;
    let host = parsed.host_str().unwrap_or_default();
    if parsed.scheme() != "https" || !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!("{name} must be an https URL without credentials"));
    }
    if !allowed.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return Err(format!(
            "{name} points to a host this server is not configured to send people to"
        ));
    }
    Ok(Some(parsed))
}

/// `Desc: ext1, ext2` (or `*.ext1;*.ext2`) to lowercase extensions without dots.
fn extensions(filter: &str) -> Vec<String> {
    let list = filter.split_once(':').map_or(filter, |(_, l)| l);
    list.split([',', ';', ' '])
        .map(|e| e.trim().trim_start_matches('*').trim_start_matches('.'))
        .filter(|e| !e.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The page options of a link (Thru's parameters).
struct PageOptions {
    limits: ToolLimits,
    success_url: Option<url::Url>,
    error_url: Option<url::Url>,
    /// `FerryTitle`: the upload page's heading, as the integrator words it.
    title: Option<String>,
}

/// Longest `FerryTitle`, in characters.
const MAX_TITLE_CHARS: usize = 120;

/// `FerryTitle`, when given: 1 to 120 characters, no control or bidirectional characters.
fn page_title(params: &Params) -> Result<Option<String>, String> {
    let Some(title) = params.get("FerryTitle") else {
        return Ok(None);
    };
    let title = title.trim();
    let n = title.chars().count();
    if n == 0
        || n > MAX_TITLE_CHARS
        || title
            .chars()
            .any(|c| c.is_control() || ferry_core::text::is_bidi_control(c))
    {
        return Err(format!(
            "FerryTitle must be 1 to {MAX_TITLE_CHARS} characters, without control characters"
        ));
    }
    Ok(Some(title.to_string()))
}

fn page_options(params: &Params, allowed_hosts: &[String]) -> Result<PageOptions, String> {
    let max_files = match params.get("ThruMaxFileNumber") {
        None => None,
        Some(n) => Some(
            n.trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_FILE_NUMBER).contains(n))
                .ok_or_else(|| {
                    format!("ThruMaxFileNumber must be a whole number from 1 to {MAX_FILE_NUMBER}")
                })?,
        ),
    };
    if let Some(app) = params.get("ThruApplicationID")
        && app.trim().parse::<i64>().is_err()
    {
        return Err("ThruApplicationID must be a number".into());
    }
    let allowed_extensions = params
        .get("ThruFileFilter")
        .map(extensions)
        .filter(|l| !l.is_empty());
    let refused_extensions = params
        .get("ThruFileFilterExceptions")
        .map(extensions)
        .unwrap_or_default();
    Ok(PageOptions {
        limits: ToolLimits {
            max_files,
            allowed_extensions,
            refused_extensions,
        },
        success_url: redirect_url(params, "ThruSuccessUrl", allowed_hosts)?,
        error_url: redirect_url(params, "ThruErrorReportingUrl", allowed_hosts)?,
        title: page_title(params)?,
    })
}

/// `GET /tools/upload?token=…` (the Thru parameters are accepted here too).
pub async fn upload_page(
    State(state): State<AppState>,
    client: ClientAddr,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query);
    let token = params.get("token").unwrap_or_default().to_string();
    open_page(&state, client, &params, &token, ToolKind::Upload).await
}

/// `GET /ExternalJavaUpload.aspx?ThruFolderID=<token>&ThruApplicationID=…`.
pub async fn legacy_upload_page(
    State(state): State<AppState>,
    client: ClientAddr,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query);
    let token = params.get("ThruFolderID").unwrap_or_default().to_string();
    open_page(&state, client, &params, &token, ToolKind::Upload).await
}

/// `GET /tools/download?token=…`.
pub async fn download_page(
    State(state): State<AppState>,
    client: ClientAddr,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query);
    let token = params.get("token").unwrap_or_default().to_string();
    open_page(&state, client, &params, &token, ToolKind::Download).await
}

async fn open_page(
    state: &AppState,
    client: ClientAddr,
    params: &Params,
    token: &str,
    kind: ToolKind,
) -> Response {
    let options = match page_options(params, &state.tools.redirect_hosts) {
        Ok(o) => o,
        Err(message) => return bad_link(&message),
    };
    let ip = client.0;
    match state
        .service
        .open_tool(token, kind, options.limits.clone(), ip)
        .await
    {
        Ok(grant) => match kind {
            ToolKind::Upload => page(StatusCode::OK, upload_html(&grant, &options)),
            ToolKind::Download => page(StatusCode::OK, download_html(&grant)),
        },
        Err(Error::Unavailable) => unavailable(),
        Err(Error::ToolTokenRefused) => refused(options.error_url.as_ref()),
        Err(e) => {
            tracing::error!(error = %e, "opening a tool page failed");
            refused(options.error_url.as_ref())
        }
    }
}

fn head(title: &str, script: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><link rel=\"stylesheet\" href=\"/tools/assets/tool.css\"><link rel=\"icon\" href=\"/tools/assets/icon.svg\">\
         <script src=\"/tools/assets/{script}\" defer></script></head>",
        escape(title)
    )
}

fn upload_html(grant: &ToolGrant, options: &PageOptions) -> String {
    // The heading the outside person sees: the integrator's `FerryTitle`, else the folder's
    // description, else a plain one; never the folder's name, which for a home folder is the
    // internal login name.
    let description = grant
        .folder
        .as_ref()
        .map(|f| f.folder.description.trim().to_string())
        .filter(|d| !d.is_empty());
    let title = options
        .title
        .clone()
        .or(description)
        .unwrap_or_else(|| "Upload files".to_string());
    let limits = &grant.limits;
    let mut rules = Vec::new();
    if let Some(max) = limits.max_files {
        rules.push(format!("at most {max} files"));
    }
    if let Some(list) = &limits.allowed_extensions {
        rules.push(format!("only {}", list.join(", ")));
    }
    if !limits.refused_extensions.is_empty() {
        rules.push(format!("not {}", limits.refused_extensions.join(", ")));
    }
    let rules = if rules.is_empty() {
        "Any number of files, of any type.".to_string()
    } else {
        format!("This link accepts {}.", rules.join("; "))
    };
    let accept = limits
        .allowed_extensions
        .as_ref()
        .map(|l| {
            l.iter()
                .map(|e| format!(".{e}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let who = grant
        .email
        .as_ref()
        .map(|e| format!("<p class=\"who\">Uploading as {}</p>", escape(e)))
        .unwrap_or_default();
    format!(
        "{head}<body><main id=\"tool\" data-grant=\"{grant}\" data-max-files=\"{max}\" \
         data-files-used=\"{used}\" data-accept=\"{accept}\" data-refuse=\"{refuse}\" \
         data-success-url=\"{success}\">\
         <h1>{title}</h1>{who}\
         <div id=\"drop\" class=\"drop\" tabindex=\"0\" role=\"button\" \
         aria-describedby=\"rules\"><p class=\"drop-hint\"><strong>Drop files or folders \
         here</strong></p>\
         <p class=\"pickers\"><label class=\"button\">Choose files<input id=\"pick-files\" \
         type=\"file\" multiple accept=\"{accept}\"></label> \
         <label class=\"button folder-picker\">Choose a folder<input id=\"pick-folder\" \
         type=\"file\" webkitdirectory multiple></label></p></div>\
         <p id=\"rules\" class=\"rules\">{rules}</p>\
         <section id=\"total\" class=\"total\" hidden aria-label=\"All files\">\
         <progress id=\"total-bar\" max=\"1\" value=\"0\"></progress>\
         <p id=\"total-text\" aria-live=\"polite\"></p></section>\
         <ul id=\"files\" class=\"files\"></ul>\
         <div id=\"summary\" class=\"summary\" role=\"status\" hidden></div>\
         <noscript><p>This page needs JavaScript to upload files.</p></noscript>\
         </main></body></html>\n",
        head = head(&title, "upload.js"),
        grant = escape(&grant.id),
        max = limits.max_files.map(|m| m.to_string()).unwrap_or_default(),
        used = grant.files_used,
        accept = escape(&accept),
        refuse = escape(&limits.refused_extensions.join(",")),
        success = options
            .success_url
            .as_ref()
            .map(|u| escape(u.as_str()))
            .unwrap_or_default(),
        title = escape(&title),
        who = who,
        rules = escape(&rules),
    )
}

fn download_html(grant: &ToolGrant) -> String {
    let rows: String = grant
        .files
        .iter()
        .map(|f| {
            format!(
                "<li><span class=\"name\">{name}</span> \
                 <span class=\"size\" data-bytes=\"{size}\">{size} bytes</span> \
                 <a class=\"button\" href=\"/tools/files/{id}?grant={grant}\" download \
                 aria-label=\"Download {name}\">Download</a>\
                 <p class=\"digest\"><span class=\"label\">SHA-256</span> \
                 <code>{sha}</code></p></li>",
                id = f.file.id,
                grant = escape(&grant.id),
                name = escape(&f.file.name),
                size = f.file.size,
                sha = escape(&f.file.sha256),
            )
        })
        .collect();
    let all = if grant.files.len() > 1 {
        format!(
            "<p class=\"all\"><a class=\"button\" href=\"/tools/zip?grant={}\" download>\
             Download all ({} files, ZIP)</a></p>",
            escape(&grant.id),
            grant.files.len()
        )
    } else {
        String::new()
    };
    let left = match grant.downloads_left {
        Some(1) => "<p class=\"allowance\">This link allows one more download.</p>".to_string(),
        Some(n) => format!(
            "<p class=\"allowance\">This link allows {n} more downloads (each file, or the \
             ZIP of all, is one).</p>"
        ),
        None => String::new(),
    };
    format!(
        "{head}<body><main id=\"tool\"><h1>Files for you</h1>{left}{all}\
         <ul class=\"downloads\">{rows}</ul></main></body></html>\n",
        head = head("Download files", "download.js"),
    )
}

/// The grant of a download page's request, and the files its token names: refused when the
/// request comes from another site, or the grant is unknown, expired or from another address;
/// an upload page's grant finds no file here.
async fn download_access(
    state: &AppState,
    client: ClientAddr,
    headers: &HeaderMap,
    query: Option<String>,
) -> Result<(ferry_core::service::ToolAccess, Vec<i64>), Error> {
    if cross_site(headers) {
        return Err(Error::ToolGrantInvalid);
    }
    let params = Params::parse(query);
    let grant = params.get("grant").ok_or(Error::ToolGrantInvalid)?;
    let access = state.service.tool_access(grant, client.0).await?;
    match &access.target {
        ToolTarget::Files(ids) if access.kind == ToolKind::Download => {
            let ids = ids.clone();
            Ok((access, ids))
        }
        _ => Err(Error::FileNotFound),
    }
}

/// `GET /tools/zip?grant=…`: every file of a download page in one ZIP archive, each file's
/// download audited with the token's `Email` like a single one.
pub async fn download_all(
    State(state): State<AppState>,
    client: ClientAddr,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let result = async {
        let (access, ids) = download_access(&state, client, &headers, query).await?;
        // A `HEAD` (routed here with the `GET`) sends no archive: it takes no download.
        if method != Method::HEAD {
            state.service.take_tool_download(&access).await?;
        }
        let mut contents = ferry_core::service::ArchiveContents::new();
        for id in ids {
            // A file gone since the page was opened is left out, as in a folder's ZIP.
            if let Ok(view) = state.service.file(&access.ctx, id).await {
                contents.add_file(view.file.name.clone(), view.file);
            }
        }
        let mut response = crate::archive::stream_zip(
            std::sync::Arc::clone(&state.service),
            access.ctx,
            contents,
            "files",
        );
        harden_page(response.headers_mut());
        Ok(response)
    }
    .await;
    result.unwrap_or_else(|e: Error| ApiError::from(e).into_response())
}

/// `GET /tools/files/{fileID}?grant=…`: one file of a download page, as an attachment.
pub async fn download_file(
    State(state): State<AppState>,
    client: ClientAddr,
    method: Method,
    Path(file): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let result = async {
        let (access, ids) = download_access(&state, client, &headers, query).await?;
        let id: i64 = file.parse().map_err(|_| Error::FileNotFound)?;
        if !ids.contains(&id) {
            return Err(Error::FileNotFound);
        }
        let head = method == Method::HEAD;
        if !head {
            state.service.take_tool_download(&access).await?;
        }
        crate::transfer::send_file(&state.service, &access.ctx, id, &headers, head).await
    }
    .await;
    result.unwrap_or_else(|e| ApiError::from(e).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            escape("<img src=x onerror='a()'>&\""),
            "&lt;img src=x onerror=&#39;a()&#39;&gt;&amp;&quot;"
        );
    }

    #[test]
    fn filters_read_thrus_forms() {
        assert_eq!(extensions("Images: JPG, png"), vec!["jpg", "png"]);
        assert_eq!(extensions("*.pdf;*.txt"), vec!["pdf", "txt"]);
        assert_eq!(extensions(".csv"), vec!["csv"]);
        assert!(extensions("Nothing:").is_empty());
    }

    #[test]
    fn redirects_only_to_allowed_https_hosts() {
        let allowed = vec!["portal.example.com".to_string()];
        let p = |v: &str| Params(vec![("ThruSuccessUrl".into(), v.into())]);
        let ok = redirect_url(
            &p("https://portal.example.com/done?x=1"),
            "ThruSuccessUrl",
            &allowed,
        );
        assert!(ok.unwrap().is_some());
        for bad in [
            "http://portal.example.com/",
            "https://evil.example.net/",
            "https://portal.example.com@evil.example.net/",
            "https://user:pw@portal.example.com/",
            "javascript:alert(1)",
            "/relative",
        ] {
            assert!(
                redirect_url(&p(bad), "ThruSuccessUrl", &allowed).is_err(),
                "{bad}"
            );
        }
        assert!(redirect_url(&p("https://portal.example.com/"), "ThruSuccessUrl", &[]).is_err());
    }
}
