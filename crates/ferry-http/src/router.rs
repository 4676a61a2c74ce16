//! The HTTP router: the API endpoint dispatching through the method table, the documents, the
//! operational endpoints, and the layers around them (request metrics, panic catching).

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use ferry_core::Service;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::args::Args;
use crate::error::ApiError;
use crate::server::ClientAddr;
use crate::{archive, methods, openapi, ops, transfer};

/// Largest JSON request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The Service.
    pub service: Arc<Service>,
    /// The Prometheus recorder's handle, rendered by `/metrics`.
    pub metrics: PrometheusHandle,
    /// The browser tools' own state.
    pub tools: crate::tools::SharedTools,
    /// When set, `/metrics` answers only requests with `Authorization: Bearer <token>`.
    pub metrics_token: Option<Arc<str>>,
    /// The effective configuration, secrets masked, as `(section, name, value)` rows: what the
    /// administration console shows.
    pub config_view: Arc<Vec<(String, String, String)>>,
    /// The configured directory sync, which the console can preview and run.
    pub directory: Option<Arc<dyn crate::directory::DirectorySync>>,
    /// The SOAP wire's target namespace (`[soap] namespace`).
    pub soap_namespace: Arc<str>,
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let swagger = utoipa_swagger_ui::SwaggerUi::new("/api/v1/docs")
        .external_url_unchecked("/api/v1/openapi.json", openapi::document());
    Router::new()
        .route("/api/v1/{method}", any(call_method))
        .route(
            "/api/v1/folders/{folder_id}/files/{name}",
            axum::routing::put(transfer::upload),
        )
        .route("/api/v1/files/{file_id}/content", get(transfer::content))
        .route("/api/v1/folders/{folder_id}/zip", get(archive::folder_zip))
        .route("/download.aspx", get(transfer::legacy_download))
        .route(
            "/upload.aspx",
            axum::routing::post(crate::legacy_upload::upload_aspx),
        )
        .route(
            "/soap",
            get(crate::soap::endpoint::describe).post(crate::soap::endpoint::call),
        )
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .merge(crate::rest::routes())
        .merge(crate::tools::routes())
        .merge(crate::web::routes())
        .layer(middleware::map_response(not_stored))
        .with_state(state)
        .merge(
            Router::from(swagger)
                .layer(middleware::from_fn(style_docs))
                .layer(middleware::map_response(harden_docs)),
        )
        .layer(middleware::from_fn(count_requests))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                tracing::error!("a request handler panicked");
                ApiError::from(ferry_core::Error::Internal("handler panicked".into()))
                    .into_response()
            },
        ))
}

/// Every answer but the API's documentation pages: not kept by any cache unless the route
/// says otherwise (a download's `private, no-cache`, an asset's `no-cache`), and never
/// sniffed. The API's answers carry session IDs, users and file lists, and without a word on
/// caching a shared proxy or the browser's disk cache may keep a `GET` of them (OWASP ASVS
/// 8.2.1).
async fn not_stored(mut response: Response) -> Response {
    use axum::http::{HeaderValue, header};
    let h = response.headers_mut();
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if !h.contains_key(header::X_CONTENT_TYPE_OPTIONS) {
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
    }
    response
}

/// The Swagger UI's pages get the headers of every page Ferry serves: nothing but its own
/// script, style and images, no framing, no referrer. (Swagger UI's bundle sets styles through
/// the DOM and draws some images from `data:` URLs; its "Try it out" calls this same origin.)
async fn harden_docs(mut response: Response) -> Response {
    use axum::http::{HeaderValue, header};
    let h = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Swagger UI draws Markdown tables (the error table of the API's description) without cell
/// padding, so headings run together ("HTTPMeaning"); its stylesheet gets these rules added.
const DOCS_TABLE_STYLE: &str = "\n/* Ferry: Markdown tables in descriptions */\n\
.swagger-ui .renderedMarkdown table, .swagger-ui .markdown table { border-collapse: collapse; \
margin: 0.5em 0; }\n\
.swagger-ui .renderedMarkdown th, .swagger-ui .renderedMarkdown td, .swagger-ui .markdown th, \
.swagger-ui .markdown td { padding: 0.3em 0.9em; text-align: left; \
border-bottom: 1px solid #d9d9d9; vertical-align: top; }\n";

async fn style_docs(request: Request, next: Next) -> Response {
    let is_stylesheet = request.uri().path().ends_with("/index.css");
    let response = next.run(request).await;
    if !is_stylesheet || !response.status().is_success() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "stylesheet unavailable").into_response();
    };
    let mut css = bytes.to_vec();
    css.extend_from_slice(DOCS_TABLE_STYLE.as_bytes());
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(css))
}

/// `POST /api/v1/{Method}`.
async fn call_method(
    State(state): State<AppState>,
    Path(name): Path<String>,
    client: ClientAddr,
    request: Request,
) -> Response {
    // The body is read (or drained) before any answer, even a refusal: a connection closed
    // with unread request bytes is reset, and the client can lose the answer (seen with an
    // unknown method under load).
    let is_post = request.method() == axum::http::Method::POST;
    let body = read_limited(request.into_body(), MAX_BODY_BYTES).await;
    let Some(method) = methods::find(&name) else {
        return ApiError::UnknownMethod.into_response();
    };
    if !is_post {
        return ApiError::VerbNotAllowed.into_response();
    }
    let Some(body) = body else {
        return ApiError::BodyTooLarge(MAX_BODY_BYTES).into_response();
    };
    let result = methods::call(
        &state.service,
        method,
        Args::parse(&body, method.params),
        client.caller(),
    )
    .await;
    match result {
        Ok(Some(json)) => axum::Json(json).into_response(),
        Ok(None) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The whole body if it fits in `limit` bytes; otherwise `None`, after discarding the rest (see
/// [`crate::drain`]).
pub(crate) async fn read_limited(mut body: Body, limit: usize) -> Option<axum::body::Bytes> {
    use http_body_util::BodyExt;
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return None;
        };
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                crate::drain::discard(body).await;
                return None;
            }
            buf.extend_from_slice(&data);
        }
    }
    Some(buf.into())
}

/// Counts requests and their latency by route and status.
async fn count_requests(request: Request<Body>, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("ferry_http_requests_total", "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("ferry_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}
