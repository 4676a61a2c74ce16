//! SFTP for Ferry: russh speaks SSH (modern algorithms only, no RSA: see ARCHITECTURE.md),
//! russh-sftp the SFTP protocol, and every operation is a Service call on the tree shared with
//! FTPS (`ferry_core::service::TreeNode`), so permissions and audit are the JSON API's.
//!
//! Modules: `host_key` (generated once, kept in the data directory), `ssh` (connections,
//! password sign-in as application 2's immutable session, the sftp subsystem), `sftp` (the
//! protocol handler: handles, reads, listings), `writing` (files open for writing: the open
//! flags, copy-on-write, commit at close), `set_attrs` (`SETSTAT`/`FSETSTAT`: times stored,
//! modes ignored, sizes on files being written), `refusal` (the Service's errors as status
//! replies that say which error it was).

mod attrs;
mod channel;
mod client_id;
mod handles;
mod host_key;
mod interactive;
mod listing;
mod paths;
mod reading;
mod refusal;
mod session_watch;
mod set_attrs;
mod sftp;
mod ssh;
mod writing;

pub use host_key::load_or_generate_host_key;

/// Decodes one request body (the bytes after its length) as a channel would, with nothing
/// behind it: what the fuzz target `sftp_packet` drives.
#[doc(hidden)]
pub fn decode_request(body: &[u8]) {
    channel::decode_only(body);
}
pub use ssh::{SftpServer, SftpSettings};
