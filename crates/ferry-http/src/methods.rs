//! The method table: every JSON API method with its parameters, its result and its handler.
//! The router dispatches through it and the OpenAPI document is generated from it; adding a
//! method means adding a row here and nothing else.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use ferry_core::service::{ImpersonateRequest, OpenMode, OpenRequest};
use ferry_core::{Caller, Result, Service};
use serde_json::{Value, json};

use crate::args::Args;
use crate::wire::{FthSessionData, FthUserData};

/// The type of a parameter on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// A JSON string.
    String,
    /// A JSON integer (64-bit).
    Integer,
    /// A JSON string holding a GUID.
    Guid,
}

impl ParamType {
    /// How the type reads in an error message.
    pub fn described(self) -> &'static str {
        match self {
            ParamType::String => "a string",
            ParamType::Integer => "an integer",
            ParamType::Guid => "a GUID",
        }
    }

    /// The JSON Schema of the type.
    pub fn schema(self) -> Value {
        match self {
            ParamType::String => json!({"type": "string"}),
            ParamType::Integer => json!({"type": "integer", "format": "int64"}),
            ParamType::Guid => json!({"type": "string", "format": "uuid"}),
        }
    }
}

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

/// What a method answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returns {
    /// `FTHSessionData`.
    SessionData,
    /// `FTHUserData`.
    UserData,
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

const APPLICATION_ID: Param = Param::required(
    "applicationID",
    ParamType::Integer,
    "A registered application ID: 1000 and above for client developers, below 1000 reserved for Ferry.",
);
const CLIENT_VERSION: Param = Param::optional(
    "clientVersion",
    ParamType::String,
    "Identifies the connecting client software; recorded in the audit (at most 255 characters).",
);
const USER_NAME: Param = Param::required("userName", ParamType::String, "User name for sign-in.");
const PASSWORD: Param = Param::required("password", ParamType::String, "Password for sign-in.");
const SERVICE_SESSION: Param = Param::required(
    "serviceSessionId",
    ParamType::Guid,
    "A live session of an Administrator or System user, who may impersonate.",
);
const USER_ID: Param = Param::required(
    "userID",
    ParamType::Integer,
    "ID of the user to sign in as.",
);
const IP_ADDRESS: Param = Param::required(
    "ipAddress",
    ParamType::String,
    "IPv4 or IPv6 address of the impersonated user's workstation or firewall.",
);
const SESSION_ID: Param = Param::required(
    "sessionID",
    ParamType::Guid,
    "A live session, from an Open call.",
);

/// Every method of the JSON API.
pub static METHODS: &[Method] = &[
    Method {
        name: "Open",
        summary: "Signs in with user name and password; replaces this user's previous session for the same application.",
        params: &[USER_NAME, PASSWORD, APPLICATION_ID, CLIENT_VERSION],
        returns: Returns::SessionData,
        signs_in: true,
        handler: |svc, a, caller| {
            Box::pin(async move { open(&svc, a, &caller, OpenMode::Replace).await })
        },
    },
    Method {
        name: "OpenImmutable",
        summary: "Signs in with user name and password; the session is never replaced and expires 48 hours after creation. For the SFTP (2) and FTPS (3) IDs the user's existing immutable session is returned.",
        params: &[USER_NAME, PASSWORD, APPLICATION_ID, CLIENT_VERSION],
        returns: Returns::SessionData,
        signs_in: true,
        handler: |svc, a, caller| {
            Box::pin(async move { open(&svc, a, &caller, OpenMode::Immutable).await })
        },
    },
    Method {
        name: "OpenImmutableImpersonate",
        summary: "A service user (Administrator or System) opens an immutable session as another, active user.",
        params: &[SERVICE_SESSION, USER_ID, APPLICATION_ID, IP_ADDRESS],
        returns: Returns::SessionData,
        signs_in: true,
        handler: |svc, a, caller| {
            Box::pin(async move { impersonate(&svc, a, &caller, None).await })
        },
    },
    Method {
        name: "OpenImmutableUserString",
        summary: "As OpenImmutableImpersonate; userString is recorded as the external user in the audit of every upload, download and delete of the session.",
        params: &[
            SERVICE_SESSION,
            USER_ID,
            APPLICATION_ID,
            IP_ADDRESS,
            Param::optional(
                "userString",
                ParamType::String,
                "Information about the external user, at most 255 characters.",
            ),
        ],
        returns: Returns::SessionData,
        signs_in: true,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let user_string = a.opt_string("userString");
                impersonate(&svc, a, &caller, user_string).await
            })
        },
    },
    Method {
        name: "Close",
        summary: "Deletes the session; every later call with it fails with error 101.",
        params: &[SESSION_ID],
        returns: Returns::Nothing,
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                svc.close(&a.guid("sessionID")?, &caller).await?;
                Ok(None)
            })
        },
    },
    Method {
        name: "GetCurrentUser",
        summary: "The user of a live session.",
        params: &[SESSION_ID],
        returns: Returns::UserData,
        signs_in: false,
        handler: |svc, a, _caller| {
            Box::pin(async move {
                let user = svc.current_user(&a.guid("sessionID")?).await?;
                Ok(Some(json!(FthUserData::from(user))))
            })
        },
    },
];

/// The method with this name, compared case-insensitively.
pub fn find(name: &str) -> Option<&'static Method> {
    METHODS.iter().find(|m| m.name.eq_ignore_ascii_case(name))
}

async fn open(svc: &Service, a: Args, caller: &Caller, mode: OpenMode) -> Result<Reply> {
    let req = OpenRequest {
        user_name: a.string("userName"),
        password: a.string("password"),
        application_id: a.int("applicationID")?,
        client_version: a.opt_string("clientVersion"),
        mode,
    };
    let data = svc.open(req, caller).await?;
    Ok(Some(json!(FthSessionData::from(data))))
}

async fn impersonate(
    svc: &Service,
    a: Args,
    caller: &Caller,
    user_string: Option<String>,
) -> Result<Reply> {
    let req = ImpersonateRequest {
        service_session_id: a.guid("serviceSessionId")?,
        user_id: a.int("userID")?,
        application_id: a.int("applicationID")?,
        ip_address: a.string("ipAddress"),
        user_string,
    };
    let data = svc.open_impersonated(req, caller).await?;
    Ok(Some(json!(FthSessionData::from(data))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found_case_insensitively() {
        for m in METHODS {
            assert_eq!(find(&m.name.to_lowercase()).map(|f| f.name), Some(m.name));
            assert_eq!(METHODS.iter().filter(|o| o.name == m.name).count(), 1);
        }
        assert!(find("Nope").is_none());
    }
}
