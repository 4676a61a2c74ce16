//! FTP replies: a three-digit code and text, on one line or several (`211-…` … `211 End`), and
//! the one place where the Service's errors become reply codes. Internal failures are logged
//! and answered with a generic text: their detail never reaches the client.

use ferry_core::Error;

/// One reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The code (RFC 959 §4.2).
    pub code: u16,
    /// The text; more than one line makes a multi-line reply.
    pub lines: Vec<String>,
    /// Close the control connection after sending it.
    pub close: bool,
}

impl Reply {
    /// A one-line reply.
    pub fn new(code: u16, text: impl Into<String>) -> Reply {
        Reply {
            code,
            lines: vec![text.into()],
            close: false,
        }
    }

    /// Nothing to send (after `AUTH TLS`'s handshake the client speaks next).
    pub fn none() -> Reply {
        Reply {
            code: 0,
            lines: Vec::new(),
            close: false,
        }
    }

    /// A multi-line reply: `first`, then `body` (each line indented by a space), then `last`.
    pub fn multi(code: u16, first: &str, body: &[String], last: &str) -> Reply {
        let mut lines = Vec::with_capacity(body.len() + 2);
        lines.push(first.to_string());
        lines.extend(body.iter().map(|l| format!(" {l}")));
        lines.push(last.to_string());
        Reply {
            code,
            lines,
            close: false,
        }
    }

    /// The same reply, after which the connection is closed.
    pub fn closing(mut self) -> Reply {
        self.close = true;
        self
    }

    /// The bytes on the wire.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let n = self.lines.len();
        for (i, line) in self.lines.iter().enumerate() {
            // A text line with a CR or LF in it would end the reply early and let the rest be
            // read as another reply; names are checked elsewhere, this is the last guard.
            let line = line.replace(['\r', '\n'], " ");
            if i + 1 == n {
                out.push_str(&format!("{} {line}\r\n", self.code));
            } else if i == 0 {
                out.push_str(&format!("{}-{line}\r\n", self.code));
            } else {
                out.push_str(&line);
                out.push_str("\r\n");
            }
        }
        out
    }

    /// The reply for a Service error. A dead session closes the connection.
    pub fn from_error(e: &Error) -> Reply {
        match e {
            Error::FolderNotFound | Error::FileNotFound => {
                Reply::new(550, "No such file or folder")
            }
            Error::NotPermitted(why) => Reply::new(550, format!("Permission denied: {why}")),
            Error::InvalidArgument(why) => Reply::new(553, format!("Not allowed: {why}")),
            Error::FileExists | Error::AlreadyExists(_) => {
                Reply::new(550, "A file or folder with that name already exists")
            }
            Error::FolderNotEmpty => Reply::new(550, "The folder is not empty"),
            Error::StorageFull => {
                Reply::new(452, "No space left on the server; nothing was stored")
            }
            // RFC 959's "exceeded storage allocation".
            Error::OverQuota { .. } => Reply::new(552, e.to_string()),
            Error::ContentMismatch(_) => Reply::new(451, e.to_string()),
            Error::Unavailable => {
                Reply::new(451, "The service is temporarily unavailable; try again")
            }
            Error::TooManyUploads(_) => Reply::new(450, e.to_string()),
            Error::SessionNotFound | Error::UserInactive => {
                Reply::new(421, "Your session has ended; sign in again").closing()
            }
            other => {
                tracing::error!(error = %other, "FTPS operation failed");
                Reply::new(451, "Local error; the server's log has the details")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_encode() {
        assert_eq!(Reply::new(200, "OK").encode(), "200 OK\r\n");
        let feat = Reply::multi(211, "Features:", &["UTF8".into(), "EPSV".into()], "End");
        assert_eq!(
            feat.encode(),
            "211-Features:\r\n UTF8\r\n EPSV\r\n211 End\r\n"
        );
        assert_eq!(
            Reply::new(550, "a\r\n200 fake").encode(),
            "550 a  200 fake\r\n"
        );
    }

    #[test]
    fn internal_detail_stays_inside() {
        let r = Reply::from_error(&Error::Internal("disk /var/lib/ferry exploded".into()));
        assert_eq!(r.code, 451);
        assert!(!r.encode().contains("/var/lib"));
        assert!(Reply::from_error(&Error::SessionNotFound).close);
    }
}
