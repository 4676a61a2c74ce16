//! The session methods: spec 2.3's `Open*` and `Close`, and `GetCurrentUser`.

use ferry_core::service::{ImpersonateRequest, OpenMode, OpenRequest};
use ferry_core::{Caller, Result, Service};
use serde_json::json;

use super::second_factor::PASSCODE;
use super::{Method, Param, ParamType, Reply, Returns, SESSION_ID};
use crate::args::Args;
use crate::wire::{FthServerSettingData, FthSessionData, FthUserData};

/// `applicationID`, shared by every sign-in method.
pub(super) const APPLICATION_ID: Param = Param::required(
    "applicationID",
    ParamType::Integer,
    "A registered application ID: 1000 and above for client developers, below 1000 reserved for Ferry.",
);
/// `clientVersion`, shared by every sign-in method.
pub(super) const CLIENT_VERSION: Param = Param::optional(
    "clientVersion",
    ParamType::Text {
        required: false,
        max: 255,
    },
    "Identifies the connecting client software; recorded in the audit (at most 255 characters).",
);
const USER_NAME: Param = Param::required(
    "userName",
    ParamType::Text {
        required: true,
        max: ferry_core::text::MAX_USER_NAME,
    },
    "User name for sign-in.",
);
const PASSWORD: Param = Param::required("password", ParamType::Password, "Password for sign-in.");
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
    ParamType::IpAddress,
    "IPv4 or IPv6 address of the impersonated user's workstation or firewall.",
);

/// `userString` of an impersonation.
const USER_STRING: Param = Param::optional(
    "userString",
    ParamType::Text {
        required: false,
        max: 255,
    },
    "Information about the external user, at most 255 characters.",
);
/// `userString` of a password sign-in: Ferry's addition to `Open` and `OpenImmutable`, which
/// RAPR's `Session` and `ImmutableSession` take.
const SIGNIN_USER_STRING: Param = Param::optional(
    "userString",
    ParamType::Text {
        required: false,
        max: 255,
    },
    "Optional: who is behind the client (at most 255 characters), recorded as the external user in the audit of the sign-in and of every upload, download and delete of the session. Ferry's addition, as Thru's REST sign-in takes it.",
);

/// The session methods of spec 2.3 (and `GetCurrentUser`).
pub static METHODS: &[Method] = &[
    Method {
        name: "Open",
        summary: "Signs in with user name and password; replaces this user's previous session for the same application.",
        params: &[
            USER_NAME,
            PASSWORD,
            APPLICATION_ID,
            CLIENT_VERSION,
            PASSCODE,
            SIGNIN_USER_STRING,
        ],
        returns: Returns::One("FTHSessionData"),
        signs_in: true,
        handler: |svc, a, caller| {
            Box::pin(async move { open(&svc, a, &caller, OpenMode::Replace).await })
        },
    },
    Method {
        name: "OpenImmutable",
        summary: "Signs in with user name and password; the session is never replaced and expires 48 hours after creation. For the SFTP (2) and FTPS (3) IDs the user's existing immutable session is returned.",
        params: &[
            USER_NAME,
            PASSWORD,
            APPLICATION_ID,
            CLIENT_VERSION,
            PASSCODE,
            SIGNIN_USER_STRING,
        ],
        returns: Returns::One("FTHSessionData"),
        signs_in: true,
        handler: |svc, a, caller| {
            Box::pin(async move { open(&svc, a, &caller, OpenMode::Immutable).await })
        },
    },
    Method {
        name: "OpenImmutableImpersonate",
        summary: "A service user (Administrator or System) opens an immutable session as another, active user.",
        params: &[SERVICE_SESSION, USER_ID, APPLICATION_ID, IP_ADDRESS],
        returns: Returns::One("FTHSessionData"),
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
            USER_STRING,
        ],
        returns: Returns::One("FTHSessionData"),
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
        name: "ChangePassword",
        summary: "The session's user replaces their own password, giving the current one (a wrong one counts toward the lock-out like a failed sign-in). Every other session of the user ends, on every protocol; this one lives on.",
        params: &[
            SESSION_ID,
            Param::required("oldPassword", ParamType::Password, "The current password."),
            Param::required(
                "newPassword",
                ParamType::NewPassword,
                "The new password (the same rules as any password).",
            ),
        ],
        returns: Returns::Nothing,
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = super::session(&svc, &a, &caller).await?;
                svc.change_own_password(
                    &ctx,
                    a.string("oldPassword"),
                    a.string("newPassword"),
                    &caller,
                )
                .await?;
                Ok(None)
            })
        },
    },
    Method {
        name: "GetCurrentUser",
        summary: "The user of a live session.",
        params: &[SESSION_ID],
        returns: Returns::One("FTHUserData"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let user = svc.current_user(&a.guid("sessionID")?, &caller).await?;
                Ok(Some(json!(FthUserData::from(user))))
            })
        },
    },
    Method {
        name: "GetServerInfo",
        summary: "The server's product name and version, for a live session (Thru's REST Server/Info). Not answered without a session, so that an anonymous caller learns nothing of the version.",
        params: &[SESSION_ID],
        returns: Returns::One("FerryServerInfo"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                super::session(&svc, &a, &caller).await?;
                Ok(Some(json!({
                    "ServerName": "Ferry",
                    "ServerVersion": env!("CARGO_PKG_VERSION"),
                })))
            })
        },
    },
    Method {
        name: "GetServerSettings",
        summary: "The server's rules a client can follow instead of learning them from refusals (SARG 2.2's FTHServerSettingData, with Ferry's fields). Needs a live session.",
        params: &[SESSION_ID],
        returns: Returns::One("FTHServerSettingData"),
        signs_in: false,
        handler: |svc, a, caller| Box::pin(async move { settings(&svc, &a, &caller).await }),
    },
    Method {
        name: "GetDataCenterSettings",
        summary: "The same answer as GetServerSettings: a Ferry site is one server, however many nodes serve it. Needs a live session.",
        params: &[SESSION_ID],
        returns: Returns::One("FTHServerSettingData"),
        signs_in: false,
        handler: |svc, a, caller| Box::pin(async move { settings(&svc, &a, &caller).await }),
    },
];

/// `GetServerSettings` and `GetDataCenterSettings`.
async fn settings(svc: &Service, a: &Args, caller: &Caller) -> Result<Reply> {
    let ctx = super::session(svc, a, caller).await?;
    Ok(Some(json!(FthServerSettingData::from(
        svc.server_settings(&ctx)
    ))))
}

async fn open(svc: &Service, a: Args, caller: &Caller, mode: OpenMode) -> Result<Reply> {
    let req = OpenRequest {
        user_name: a.string("userName"),
        password: a.string("password"),
        application_id: a.int("applicationID")?,
        client_version: a.opt_string("clientVersion"),
        mode,
        passcode: a.opt_string("passcode"),
        user_string: a.opt_string("userString"),
        passcode_appended: false,
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
