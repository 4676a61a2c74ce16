//! Two-step sign-in (issue 18): enrolment (`BeginTotpEnrollment`, `ConfirmTotpEnrollment`),
//! turning it off (`DisableTotp`) and the caller's state (`GetTotpStatus`). Sign-ins take
//! the passcode as `Open`'s optional `passcode`.

use serde_json::json;

use super::{Method, Param, ParamType, Returns, SESSION_ID, session};

/// `passcode`: six digits from the authenticator app, or a recovery code.
pub(super) const PASSCODE: Param = Param::optional(
    "passcode",
    ParamType::Text {
        required: false,
        max: 32,
    },
    "For accounts with two-step sign-in: the six digits the authenticator app shows now, or one of the recovery codes. Each passcode works once.",
);
const REQUIRED_PASSCODE: Param = Param::required(
    "passcode",
    ParamType::Text {
        required: true,
        max: 32,
    },
    "Six digits from the authenticator app (or, to turn it off, a recovery code).",
);

/// The second-factor methods.
pub static METHODS: &[Method] = &[
    Method {
        name: "BeginTotpEnrollment",
        summary: "Starts setting up two-step sign-in for the caller: a new secret (base32) and its otpauth:// URL for an authenticator app. Nothing changes at sign-in until ConfirmTotpEnrollment.",
        params: &[SESSION_ID],
        returns: Returns::One("TotpEnrollment"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                let e = svc.begin_totp_enrollment(&ctx).await?;
                Ok(Some(
                    json!({"Secret": e.secret, "OtpAuthUrl": e.otpauth_url}),
                ))
            })
        },
    },
    Method {
        name: "ConfirmTotpEnrollment",
        summary: "Turns two-step sign-in on with a correct passcode from the authenticator app and the caller's password (a wrong one counts toward the lock-out like a failed sign-in; an impersonated session is refused); returns ten single-use recovery codes, shown this once.",
        params: &[
            SESSION_ID,
            REQUIRED_PASSCODE,
            Param::required(
                "password",
                ParamType::Password,
                "The caller's current password: a factor outlives the session, so the session alone cannot turn it on.",
            ),
        ],
        returns: Returns::One("TotpRecoveryCodes"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                let codes = svc
                    .confirm_totp_enrollment(
                        &ctx,
                        &a.string("passcode"),
                        a.string("password"),
                        &caller,
                    )
                    .await?;
                Ok(Some(json!({"RecoveryCodes": codes})))
            })
        },
    },
    Method {
        name: "DisableTotp",
        summary: "Turns the caller's two-step sign-in off; needs a current passcode or a recovery code.",
        params: &[SESSION_ID, REQUIRED_PASSCODE],
        returns: Returns::Nothing,
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                svc.disable_totp(&ctx, &a.string("passcode"), &caller)
                    .await?;
                Ok(None)
            })
        },
    },
    Method {
        name: "GetTotpStatus",
        summary: "The caller's two-step sign-in: whether the server offers it, whether it is on, whether the caller's role requires it, and how many recovery codes are left.",
        params: &[SESSION_ID],
        returns: Returns::One("TotpStatus"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                let s = svc.second_factor_status(&ctx.user).await?;
                Ok(Some(json!({
                    "Available": s.available,
                    "Enabled": s.enabled,
                    "Required": s.required,
                    "RecoveryCodesLeft": s.recovery_codes_left,
                })))
            })
        },
    },
];
