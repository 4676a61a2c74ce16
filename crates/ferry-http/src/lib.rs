//! Ferry's HTTP front end: the JSON API (`POST /api/v1/{Method}`), its OpenAPI document and
//! Swagger UI, and the operational endpoints (`/healthz`, `/readyz`, `/metrics`).
//!
//! Every API method is one row of the table in [`methods`]; the router dispatches through it
//! and [`openapi`] describes it, so the routes and the document cannot drift apart. This crate
//! translates HTTP into [`ferry_core::Service`] calls and back; it never touches a store.

mod archive;
mod args;
pub mod client_addr;
pub mod directory;
mod drain;
mod error;
mod extract;
pub mod https_redirect;
pub mod legacy_upload;
pub mod methods;
mod multipart_bound;
pub mod openapi;
mod openapi_streams;
mod ops;
mod record_cork;
mod request_body;
pub mod rest;
mod router;
pub mod server;
mod session_bound;
pub mod soap;
mod stay_on_worker;
pub mod strict_json;
pub mod tools;
mod transfer;
pub mod web;
pub mod wire;
mod zip_names;

pub use error::ApiError;
pub use router::{AppState, router};
