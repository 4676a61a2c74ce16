//! `/web/tus`: the web client's uploads, on the browser tools' tus implementation
//! ([`crate::tools::tus`]) with the person's session in place of a page's grant. The upload
//! begins through [`ferry_core::Service::begin_upload_at_path`] (the folder of the page, and
//! the folders a dropped folder brings along), so it is checked, committed and audited as
//! every upload is.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;

use crate::router::AppState;
use crate::server::ClientAddr;
use crate::tools::tus::{self, TusFront};

/// `/web/tus`: `OPTIONS` and `POST` (creation).
pub async fn collection(
    State(state): State<AppState>,
    client: ClientAddr,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    tus::collection_of(TusFront::Web, state, client, method, headers, body).await
}

/// `/web/tus/{id}`: `HEAD`, `PATCH`, `DELETE`.
pub async fn resource(
    State(state): State<AppState>,
    client: ClientAddr,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    tus::resource_of(TusFront::Web, state, client, id, method, headers, body).await
}
