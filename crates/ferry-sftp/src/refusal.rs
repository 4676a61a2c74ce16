//! The Service's errors as SFTP status replies. SFTP v3 has few codes, so most refusals are
//! `SSH_FX_FAILURE`; the reply's message says which (the Service's own text, as FTPS and the
//! JSON API give it), so a client can tell a name already taken from a full disk, and a
//! temporarily unavailable store (error 120, worth a retry) from anything else. An internal
//! error's detail goes to the log only.

use ferry_core::Error;
use russh_sftp::protocol::StatusCode;
use russh_sftp::server::StatusReply;

/// What a refused request answers.
pub(crate) type Refusal = StatusReply;

/// The Service's error `e` as the status reply that refuses a request.
pub(crate) fn refusal(e: Error) -> Refusal {
    let code = match &e {
        Error::FolderNotFound | Error::FileNotFound => StatusCode::NoSuchFile,
        Error::NotPermitted(_) | Error::SessionNotFound | Error::UserInactive => {
            StatusCode::PermissionDenied
        }
        Error::Internal(detail) => {
            tracing::error!(%detail, "SFTP operation failed");
            return StatusCode::Failure
                .with_message("unexpected error; the server's log has the details (error 90000)");
        }
        _ => StatusCode::Failure,
    };
    if code == StatusCode::Failure {
        tracing::debug!(error = %e, code = e.code(), "SFTP request refused");
    }
    code.with_message(format!("{e} (error {})", e.code()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_error_and_keeps_internal_detail_inside() {
        let r = refusal(Error::Unavailable);
        assert_eq!(r.status_code, StatusCode::Failure);
        assert_eq!(
            r.error_message.as_deref(),
            Some("the service is temporarily unavailable (error 120)")
        );
        let r = refusal(Error::FileExists);
        assert!(r.error_message.unwrap().ends_with("(error 204)"));
        let r = refusal(Error::Internal("disk /var/lib/ferry exploded".into()));
        assert!(!r.error_message.unwrap().contains("/var/lib"));
        assert_eq!(
            refusal(Error::FileNotFound).status_code,
            StatusCode::NoSuchFile
        );
    }
}
