//! Sign-in for FTPS: `USER`/`PASS` become an `OpenImmutable` for application 3 through the
//! Service, so the lock-out shared by every protocol applies and a user's FTPS connections
//! share one immutable session (spec 2.3.2.4); a success also takes the connection's place in
//! its user's connection count, and the session starts in the user's home folder.
//!
//! Users with two-step sign-in send `PASS password+passcode` when the server allows it
//! (`[ftps] passcode_in_password`): the text after the last `+` is taken as the passcode when
//! it has a passcode's or a recovery code's shape, and if the password before it is wrong the
//! whole text is tried as a password (a password may end in `+123456`): both in one sign-in
//! attempt of the Service (`OpenRequest::passcode_appended`), so a wrong password counts once.

use std::net::IpAddr;
use std::sync::Arc;

use ferry_core::connection_limit::{ConnectionPermit, UserConnectionLimit};
use ferry_core::domain::{SessionKey, UserId, application};
use ferry_core::service::{OpenMode, OpenRequest};
use ferry_core::{Caller, Error, Service};

use crate::reply::Reply;
use crate::session::{ControlSession, MAX_FAILED_SIGN_INS};

/// A signed-in control connection.
#[derive(Debug)]
pub struct SignedIn {
    /// The immutable FTPS session the connection acts in.
    pub session: SessionKey,
    /// The session's user.
    pub user: UserId,
    /// The login name, for the logs.
    pub name: String,
    /// The connection's place in its user's count, given back when the connection ends.
    _permit: ConnectionPermit,
}

/// Why a sign-in failed. Every credential failure is one answer (no hint which part was
/// wrong, or whether the right password met the user's connection limit); the reason is in
/// the audit. What the person can act on is said, as the API and SFTP say it: a lock-out and
/// its time left (the same for every password, and for names that are no account), a second
/// factor to set up.
#[derive(Debug)]
pub enum SignInRefused {
    /// Wrong name or password, an inactive user, a wrong passcode, or no connection left.
    Credentials,
    /// Refused for a reason the person can act on: the explanation.
    Explained(String),
    /// The Service could not answer (and why, when there is something to say).
    Unavailable(Option<String>),
}

/// Checks the password through the Service, which admits the connection in its user's count.
pub async fn sign_in(
    service: &Service,
    limit: &Arc<UserConnectionLimit>,
    name: &str,
    password: &str,
    ip: IpAddr,
    passcode_in_password: bool,
) -> Result<SignedIn, SignInRefused> {
    let caller = Caller {
        ip: Some(ip),
        client_version: None,
    };
    let request = OpenRequest {
        user_name: name.to_string(),
        password: password.to_string(),
        application_id: application::FTPS,
        client_version: Some("FTPS".into()),
        mode: OpenMode::Immutable,
        passcode: None,
        user_string: None,
        passcode_appended: passcode_in_password,
    };
    match service.open_counted(request, &caller, limit).await {
        Ok((data, permit)) => Ok(SignedIn {
            session: data.key,
            user: data.user_id,
            name: name.to_string(),
            _permit: permit,
        }),
        Err(e @ (Error::LockedOut { .. } | Error::SecondFactorSetupRequired)) => Err(
            SignInRefused::Explained(e.sign_in_explanation().unwrap_or_default()),
        ),
        Err(
            Error::BadCredentials
            | Error::UserInactive
            | Error::PasscodeRequired
            | Error::PasscodeRefused,
        ) => Err(SignInRefused::Credentials),
        Err(e) => {
            tracing::warn!(error = %e, "FTPS sign-in could not be checked");
            Err(SignInRefused::Unavailable(e.sign_in_explanation()))
        }
    }
}

impl ControlSession {
    /// `USER`.
    pub(crate) fn user(&mut self, arg: &str) -> Reply {
        if self.tls.is_none() {
            return Reply::new(530, "Sign-in needs TLS: send AUTH TLS first");
        }
        if self.signed_in.is_some() {
            return Reply::new(503, "Already signed in");
        }
        if arg.is_empty() {
            return Reply::new(501, "USER needs a name");
        }
        self.user_name = Some(arg.to_string());
        Reply::new(331, "Password required")
    }

    /// `PASS`: the sign-in; the session then starts in the user's home folder.
    pub(crate) async fn pass(&mut self, password: &str) -> Reply {
        if self.tls.is_none() {
            return Reply::new(530, "Sign-in needs TLS: send AUTH TLS first");
        }
        if self.signed_in.is_some() {
            return Reply::new(503, "Already signed in");
        }
        let Some(name) = self.user_name.take() else {
            return Reply::new(503, "Send USER first");
        };
        let shared = Arc::clone(&self.shared);
        match sign_in(
            &shared.service,
            &shared.per_user,
            &name,
            password,
            self.peer,
            shared.settings.passcode_in_password,
        )
        .await
        {
            Ok(signed_in) => {
                self.signed_in = Some(signed_in);
                // In the home folder, as OpenSSH and vsftpd start in the home directory.
                self.cwd = match self.ctx().await {
                    Ok(ctx) => shared.service.tree_start(&ctx).await,
                    Err(_) => "/".into(),
                };
                Reply::new(230, "Signed in")
            }
            Err(refused @ (SignInRefused::Credentials | SignInRefused::Explained(_))) => {
                self.failed_sign_ins += 1;
                let reply = match refused {
                    SignInRefused::Explained(why) => Reply::new(530, why),
                    _ => Reply::new(530, "Sign-in failed"),
                };
                if self.failed_sign_ins >= MAX_FAILED_SIGN_INS {
                    reply.closing()
                } else {
                    reply
                }
            }
            Err(SignInRefused::Unavailable(why)) => Reply::new(
                421,
                why.unwrap_or_else(|| "The service is unavailable; try again later".into()),
            )
            .closing(),
        }
    }
}
