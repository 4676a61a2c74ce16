//! Operational endpoints: liveness, readiness (the metadata and content stores answer) and Prometheus
//! metrics. None of them needs a session. Health and readiness say nothing but "ok"; metrics
//! say more (sign-ins by outcome, sessions alive, requests by route), so they answer only this
//! machine unless a scraper holds the bearer token (`[metrics] bearer_token`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::router::AppState;
use crate::server::ClientAddr;

/// `GET /healthz`: the process is up and serving HTTP.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: the metadata store and the content store answer; 503 otherwise.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.service.ready().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "metadata store or content store unavailable\n",
            )
                .into_response()
        }
    }
}

/// `GET /metrics`: Prometheus text format. The live-session gauge is read from the store at
/// scrape time, so it is the cluster's count, not this node's. Without a bearer token
/// configured, only a client on this machine (loopback, after `trusted_proxies`) is answered;
/// before 2026-12-06 anyone who reached the port was.
pub async fn metrics(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
) -> Response {
    if state.metrics_token.is_none() && !client.0.is_loopback() {
        return (
            StatusCode::FORBIDDEN,
            "/metrics answers this machine only; set [metrics] bearer_token to scrape it from elsewhere\n",
        )
            .into_response();
    }
    if let Some(token) = &state.metrics_token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        // Digests of equal length, so that the comparison's time says nothing of the token.
        let presented = ferry_crypto::sha256_hex(presented.trim().as_bytes());
        let expected = ferry_crypto::sha256_hex(token.as_bytes());
        if !ferry_crypto::constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "a bearer token is required\n",
            )
                .into_response();
        }
    }
    match state.service.live_session_count().await {
        Ok(n) => metrics::gauge!("ferry_sessions_active").set(n as f64),
        Err(e) => tracing::warn!(error = %e, "could not count sessions for metrics"),
    }
    let body = state.metrics.render();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
