//! The method table: every JSON API method with its parameters, its result and its handler.
//! The router dispatches through it and the OpenAPI document is generated from it; adding a
//! method means adding a row to one of the area tables (`sessions`, `folders`) and nothing else.

mod audit;
mod files;
mod folders;
mod metadata;
mod param_type;
mod second_factor;
mod sessions;
mod sso;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use ferry_core::service::SessionContext;
use ferry_core::{Caller, Result, Service};
use serde_json::Value;

use crate::args::Args;

pub use param_type::ParamType;

/// One parameter of a method.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// The name, as the spec spells it (matched case-insensitively).
    pub name: &'static str,
    /// Its type.
    pub ty: ParamType,
    /// Whether the call fails without it.
    pub required: bool,
    /// What it means.
    pub description: &'static str,
}

impl Param {
    /// A required parameter.
    pub const fn required(name: &'static str, ty: ParamType, description: &'static str) -> Self {
        Param {
            name,
            ty,
            required: true,
            description,
        }
    }

    /// An optional parameter.
    pub const fn optional(name: &'static str, ty: ParamType, description: &'static str) -> Self {
        Param {
            name,
            ty,
            required: false,
            description,
        }
    }
}

/// What a method answers: one structure or an array of them, named as in
/// [`crate::openapi`]'s schemas, or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returns {
    /// One structure.
    One(&'static str),
    /// An array of structures.
    Many(&'static str),
    /// Nothing (HTTP 204).
    Nothing,
}

/// A handler's answer: a JSON body, or none.
pub type Reply = Option<Value>;

/// A method's implementation.
pub type Handler =
    fn(Arc<Service>, Args, Caller) -> Pin<Box<dyn Future<Output = Result<Reply>> + Send>>;

/// One API method.
pub struct Method {
    /// The name in the URL (`/api/v1/{name}`), matched case-insensitively.
    pub name: &'static str,
    /// One line for the OpenAPI summary.
    pub summary: &'static str,
    /// Its parameters.
    pub params: &'static [Param],
    /// Its result.
    pub returns: Returns,
    /// Whether it is a sign-in (counted in the sign-in metrics).
    pub signs_in: bool,
    /// Its implementation.
    pub handler: Handler,
}

/// Every method of the JSON API, area by area.
pub fn all() -> impl Iterator<Item = &'static Method> {
    sessions::METHODS
        .iter()
        .chain(second_factor::METHODS.iter())
        .chain(sso::METHODS.iter())
        .chain(folders::METHODS.iter())
        .chain(metadata::METHODS.iter())
        .chain(files::METHODS.iter())
        .chain(audit::METHODS.iter())
}

/// The method with this name, compared case-insensitively.
pub fn find(name: &str) -> Option<&'static Method> {
    all().find(|m| m.name.eq_ignore_ascii_case(name))
}

/// Calls `method` with `args` (or answers the error that reading them gave), counting the
/// call and, for a sign-in, its outcome: the one path every wire (JSON, SOAP) goes through.
pub async fn call(
    service: &Arc<Service>,
    method: &'static Method,
    args: Result<Args>,
    caller: Caller,
) -> Result<Reply> {
    let result = match args {
        Ok(args) => (method.handler)(Arc::clone(service), args, caller).await,
        Err(e) => Err(e),
    };
    let code = match &result {
        Ok(_) => 0,
        Err(e) => e.code(),
    };
    metrics::counter!("ferry_api_calls_total", "method" => method.name, "code" => code.to_string())
        .increment(1);
    if method.signs_in {
        let outcome = match &result {
            Ok(_) => "success",
            Err(ferry_core::Error::LockedOut { .. }) => "locked_out",
            Err(_) => "failure",
        };
        metrics::counter!("ferry_signins_total", "result" => outcome).increment(1);
    }
    result
}

/// Checks the `sessionID` argument and returns the live session (every method but the sign-ins
/// starts here).
pub(crate) async fn session(svc: &Service, a: &Args, caller: &Caller) -> Result<SessionContext> {
    svc.authenticate(&a.guid("sessionID")?, caller).await
}

/// The `sessionID` parameter.
pub(crate) const SESSION_ID: Param = Param::required(
    "sessionID",
    ParamType::Guid,
    "A live session, from an Open call.",
);

/// The `skip` parameter of a paged list (`GetFiles`, `GetFolders`).
pub(crate) const SKIP: Param = Param::optional(
    "skip",
    ParamType::Range {
        min: 0,
        max: i64::MAX,
    },
    "Items to skip (default 0).",
);

/// The page [`SKIP`] and [`TAKE`] ask for (default `take` 100), or `None` for the whole list
/// when neither is given.
pub(crate) fn page(a: &Args) -> Option<(i64, i64)> {
    let (skip, take) = (a.opt_int("skip"), a.opt_int("take"));
    (skip.is_some() || take.is_some()).then(|| (skip.unwrap_or(0), take.unwrap_or(100)))
}

/// The `take` parameter of a paged list.
pub(crate) const TAKE: Param = Param::optional(
    "take",
    ParamType::Range { min: 1, max: 1000 },
    "Items to return, 1 to 1000 (default 100).",
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found_case_insensitively() {
        for m in all() {
            assert_eq!(find(&m.name.to_lowercase()).map(|f| f.name), Some(m.name));
            assert_eq!(all().filter(|o| o.name == m.name).count(), 1);
        }
        assert!(find("Nope").is_none());
    }
}
