//! FTPS for Ferry (explicit `AUTH TLS`): libunftp speaks the protocol; Ferry plugs in an
//! authenticator that signs in through the Service (the shared lock-out, application 3's
//! immutable session) and a storage back end that maps every FTP operation onto the Service's
//! tree (`ferry_core::service::TreeNode`), so permissions and audit are the JSON API's.
//!
//! Modules: `auth` (sign-in and the per-connection user), `storage` (the back end),
//! `certificate` (the TLS identity: given, or generated once and kept), `listener` (our own
//! accept loop, with per-address connection limits).

mod auth;
mod certificate;
mod listener;
mod storage;

pub use certificate::{CertificateError, LoadedIdentity, TlsIdentity, load_or_generate};
pub use listener::{FtpsServer, FtpsSettings};
