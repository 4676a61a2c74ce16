//! Thru's REST wire (RAPR, issue 19): `/REST/{version}/…` resources for sessions, folders,
//! search and the server, answering `ThruPublic…` objects in JSON or XML by the `Accept`
//! header. Every resource is a call of the method table ([`crate::methods::call`]), so it gets
//! the same checks, audit records and metrics as its JSON and SOAP twins; this module only
//! translates. [`negotiate`] picks the answer's format; [`body`] reads form, JSON and XML
//! bodies strictly; [`objects`] writes RAPR's objects and `ErrorInfo`; `exchange` holds what every
//! resource does around its work; `sessions`, `folders` and `files` are the resources, and
//! `relocate` is their shared move-and-rename. docs/thru-compatibility.md records every choice made where RAPR is silent.

pub mod body;
#[macro_use]
mod exchange;
mod files;
mod folders;
pub mod negotiate;
pub mod objects;
mod relocate;
mod sessions;

use axum::Router;
use axum::routing::{MethodRouter, get, post};

use crate::router::AppState;

/// The REST versions served, as they appear in the address (`/REST/1.3/Session`). RAPR marks
/// `SessionByTicket` as new in 1.2 and `ImmutableSession` in 1.3; older versions do not have
/// them.
pub const VERSIONS: [&str; 4] = ["1.0", "1.1", "1.2", "1.3"];

/// The REST wire's routes. An address under `/REST/` that names no resource, and a verb a
/// resource does not take, are answered with `ErrorInfo` like every other refusal.
pub fn routes() -> Router<AppState> {
    let resources = Router::new()
        .route(
            "/{version}/Session",
            resource(post(sessions::open_session).delete(sessions::close_session)),
        )
        .route(
            "/{version}/ImmutableSession",
            resource(post(sessions::open_immutable)),
        )
        .route(
            "/{version}/SessionByTicket",
            resource(post(sessions::open_by_ticket)),
        )
        .route(
            "/{version}/FileSystem/Folder",
            resource(post(folders::create_folder)),
        )
        .route(
            "/{version}/FileSystem/Folder/{folder_id}",
            resource(
                get(folders::get_folder)
                    .put(folders::update_folder)
                    .delete(folders::delete_folder),
            ),
        )
        .route(
            "/{version}/FileSystem/File/{file_id}",
            resource(
                get(files::get_file)
                    .put(files::update_file)
                    .delete(files::delete_file),
            ),
        )
        .route(
            "/{version}/FileSystem/Folder/{folder_id}/Content/{skip}/{take}",
            resource(get(folders::folder_content)),
        )
        .route(
            "/{version}/Search/{skip}/{take}",
            resource(post(folders::search_both)),
        )
        .route(
            "/{version}/Search/Folders/{skip}/{take}",
            resource(post(folders::search_folders)),
        )
        .route(
            "/{version}/Search/Files/{skip}/{take}",
            resource(post(folders::search_files)),
        )
        .route(
            "/{version}/Server/Info",
            resource(get(sessions::server_info)),
        )
        .fallback(sessions::no_resource);
    Router::new().nest("/REST", resources)
}

/// A resource whose other verbs are answered with `ErrorInfo` (405), not an empty body.
fn resource(methods: MethodRouter<AppState>) -> MethodRouter<AppState> {
    methods.fallback(sessions::verb_not_allowed)
}
