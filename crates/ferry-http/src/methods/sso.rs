//! Single sign-on methods: spec 2.3.2.2–2.3.2.3's `OpenWithTicket` and `OpenWithTicketEx`,
//! Ferry's `OpenImmutableWithTicket`, and the public Thru reference's `CreateDomainUser`.

use ferry_core::domain::Role;
use ferry_core::service::{DomainUserRequest, OpenMode, TicketExRequest, TicketRequest};
use ferry_core::{Actor, Caller, Error, Result, Service};
use serde_json::json;

use super::sessions::{APPLICATION_ID, CLIENT_VERSION};
use super::{Method, Param, ParamType, Reply, Returns, SESSION_ID, session};
use crate::args::Args;
use crate::wire::{FthSessionData, FthUserData};

const TICKET: Param = Param::required(
    "ticket",
    ParamType::String,
    "The sealed ticket (docs/sso-tickets.md): standard base64 of version, nonce and AES-256-GCM ciphertext.",
);
/// The single sign-on methods.
pub static METHODS: &[Method] = &[
    Method {
        name: "OpenWithTicket",
        summary: "Signs in the user whose DomainUsername the ticket names (created by directory sync or CreateDomainUser); replaces their previous session for the application, like Open.",
        params: &[TICKET, APPLICATION_ID, CLIENT_VERSION],
        returns: Returns::One("FTHSessionData"),
        signs_in: true,
        handler: |svc, a, caller| {
            Box::pin(async move { with_ticket(&svc, a, &caller, OpenMode::Replace).await })
        },
    },
    Method {
        name: "OpenImmutableWithTicket",
        summary: "As OpenWithTicket, but the session is immutable, like OpenImmutable's.",
        params: &[TICKET, APPLICATION_ID, CLIENT_VERSION],
        returns: Returns::One("FTHSessionData"),
        signs_in: true,
        handler: |svc, a, caller| {
            Box::pin(async move { with_ticket(&svc, a, &caller, OpenMode::Immutable).await })
        },
    },
    Method {
        name: "OpenWithTicketEx",
        summary: "The ticket proves freshness and knowledge of the shared password (its user name is ignored); signs in the user with EmailAddress, creating it (Member, with a home folder) if none exists.",
        params: &[
            TICKET,
            Param::required(
                "EmailAddress",
                ParamType::Email { required: true },
                "E-mail address of the user to sign in (compared case-insensitively).",
            ),
            Param::required(
                "FirstName",
                ParamType::Text {
                    required: false,
                    max: 255,
                },
                "Given name, used if the user is created (at most 255 characters).",
            ),
            Param::required(
                "LastName",
                ParamType::Text {
                    required: false,
                    max: 255,
                },
                "Family name, used if the user is created (at most 255 characters).",
            ),
            APPLICATION_ID,
            Param::optional(
                "ClientVersion",
                ParamType::Text {
                    required: false,
                    max: 255,
                },
                "Identifies the connecting client software; recorded in the audit.",
            ),
        ],
        returns: Returns::One("FTHSessionData"),
        signs_in: true,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let req = TicketExRequest {
                    ticket: a.string("ticket"),
                    email: a.string("EmailAddress"),
                    first_name: a.string("FirstName"),
                    last_name: a.string("LastName"),
                    application_id: a.int("applicationID")?,
                    client_version: a.opt_string("ClientVersion"),
                };
                let data = svc.open_with_ticket_ex(req, &caller).await?;
                Ok(Some(json!(FthSessionData::from(data))))
            })
        },
    },
    Method {
        name: "CreateDomainUser",
        summary: "Creates a user who signs in by ticket (OpenWithTicket). Administrators only.",
        params: &[
            SESSION_ID,
            Param::required(
                "domainUsername",
                ParamType::DomainUsername,
                "DOMAIN\\name; the name part becomes the login name.",
            ),
            Param::optional(
                "userSyncID",
                ParamType::Text {
                    required: false,
                    max: 255,
                },
                "The directory GUID (objectGUID or entryUUID), which directory sync keys on.",
            ),
            Param::optional(
                "firstName",
                ParamType::Text {
                    required: false,
                    max: 255,
                },
                "Given name.",
            ),
            Param::optional(
                "lastName",
                ParamType::Text {
                    required: false,
                    max: 255,
                },
                "Family name.",
            ),
            Param::optional(
                "email",
                ParamType::Email { required: false },
                "E-mail address.",
            ),
            Param::optional(
                "createHomeFolder",
                ParamType::Boolean,
                "Whether to make the user's home folder (default true).",
            ),
            Param::optional(
                "role",
                ParamType::Choice(&[1, 2, 3, 4, 5, 6]),
                "Guest 1, Recipient 2, Member 3 (default), Manager 4, Administrator 5, System 6.",
            ),
            Param::optional(
                "active",
                ParamType::Boolean,
                "Whether the user may sign in (default true).",
            ),
        ],
        returns: Returns::One("FTHUserData"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                let role = match a.opt_int("role") {
                    None => Role::Member,
                    Some(code) => Role::from_code(code)
                        .ok_or_else(|| Error::invalid("role must be a code from 1 to 6"))?,
                };
                let req = DomainUserRequest {
                    domain_username: a.string("domainUsername"),
                    user_sync_id: a.opt_string("userSyncID"),
                    first_name: a.opt_string("firstName").unwrap_or_default(),
                    last_name: a.opt_string("lastName").unwrap_or_default(),
                    email: a.opt_string("email").unwrap_or_default(),
                    create_home_folder: a.opt_bool("createHomeFolder").unwrap_or(true),
                    role,
                    active: a.opt_bool("active").unwrap_or(true),
                };
                let user = svc
                    .create_domain_user(&Actor::Session(Box::new(ctx)), req)
                    .await?;
                Ok(Some(json!(FthUserData::from(user))))
            })
        },
    },
];

async fn with_ticket(svc: &Service, a: Args, caller: &Caller, mode: OpenMode) -> Result<Reply> {
    let req = TicketRequest {
        ticket: a.string("ticket"),
        application_id: a.int("applicationID")?,
        client_version: a.opt_string("clientVersion"),
        mode,
    };
    let data = svc.open_with_ticket(req, caller).await?;
    Ok(Some(json!(FthSessionData::from(data))))
}
