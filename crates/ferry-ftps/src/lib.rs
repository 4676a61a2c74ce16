//! FTPS for Ferry (explicit `AUTH TLS`, RFC 4217), served by Ferry's own control loop on
//! tokio-rustls: every FTP operation is resolved on the Service's tree
//! (`ferry_core::service::TreeNode`) in the connection's session, so permissions and audit are
//! the JSON API's.
//!
//! Modules: `listener` (the accept loop, per-address limits), `session` (one control
//! connection: TLS upgrade, sign-in, data-connection set-up, dispatch), `command` (command
//! lines), `data_setup` (`PASV`, `EPSV`, `PORT`, `EPRT`), `reply` (replies, and the Service's
//! errors as reply codes), `auth` (sign-in),
//! `tree_commands` and `transfer` (the commands), `data` (data connections: where from, TLS
//! resumption, how they end), `listing` (LIST/MLSD formats), `stream` (a connection in clear or under TLS), `certificate` (the TLS identity).

mod auth;
mod certificate;
pub mod command;
mod data;
mod data_setup;
mod listener;
mod listing;
mod reply;
mod session;
mod stream;
mod transfer;
mod tree_commands;

pub use certificate::{
    CertificateError, LoadedIdentity, TlsIdentity, fingerprint_sha1, load_or_generate,
};
#[doc(hidden)]
pub use data::{parse_eprt, parse_port};
pub use listener::{FtpsServer, FtpsSettings};
