//! Sign-in for FTPS: `USER`/`PASS` become an `OpenImmutable` for application 3 through the
//! Service, so the lock-out shared by every protocol applies and a user's FTPS connections
//! share one immutable session (spec 2.3.2.4); a success also takes the connection's place in
//! its user's connection count.

use std::net::IpAddr;
use std::sync::Arc;

use ferry_core::connection_limit::{ConnectionPermit, UserConnectionLimit};
use ferry_core::domain::{SessionId, application};
use ferry_core::service::{OpenMode, OpenRequest};
use ferry_core::{Caller, Error, Service};

/// A signed-in control connection.
#[derive(Debug)]
pub struct SignedIn {
    /// The immutable FTPS session the connection acts in.
    pub session: SessionId,
    /// The login name, for the logs.
    pub name: String,
    /// The connection's place in its user's count, given back when the connection ends.
    _permit: ConnectionPermit,
}

/// Why a sign-in failed. Every credential failure is one answer (no hint which part was
/// wrong, nor whether the account is locked); the reason is in the audit.
#[derive(Debug)]
pub enum SignInRefused {
    /// Wrong name or password, an inactive user, or a lock-out.
    Credentials,
    /// The user holds all the connections allowed.
    TooManyConnections(usize),
    /// The Service could not answer.
    Unavailable,
}

/// Checks the password through the Service and admits the connection in its user's count.
pub async fn sign_in(
    service: &Service,
    limit: &Arc<UserConnectionLimit>,
    name: &str,
    password: &str,
    ip: IpAddr,
) -> Result<SignedIn, SignInRefused> {
    let req = OpenRequest {
        user_name: name.to_string(),
        password: password.to_string(),
        application_id: application::FTPS,
        client_version: Some("FTPS".into()),
        mode: OpenMode::Immutable,
    };
    let caller = Caller {
        ip: Some(ip),
        client_version: None,
    };
    let data = match service.open(req, &caller).await {
        Ok(data) => data,
        Err(Error::BadCredentials | Error::LockedOut { .. } | Error::UserInactive) => {
            return Err(SignInRefused::Credentials);
        }
        Err(e) => {
            tracing::warn!(error = %e, "FTPS sign-in could not be checked");
            return Err(SignInRefused::Unavailable);
        }
    };
    let Some(permit) = limit.admit(data.user_id) else {
        tracing::warn!(
            user = name,
            max = limit.max(),
            "FTPS sign-in refused: too many connections for this user"
        );
        return Err(SignInRefused::TooManyConnections(limit.max()));
    };
    Ok(SignedIn {
        session: data.session_id,
        name: name.to_string(),
        _permit: permit,
    })
}
