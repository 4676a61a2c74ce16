//! Ferry's cryptographic primitives, kept apart from the domain so that every secret-handling
//! choice (algorithms, parameters, comparisons) is reviewed in one small crate.
//!
//! Nothing here knows about users or sessions: the core calls these functions and decides what
//! they protect.

pub mod access_id;
pub mod digest;
pub mod link_session;
pub mod password;
pub mod random;
pub mod ticket_seal;
pub mod tool_grant;
pub mod tool_token;
pub mod totp;

pub use digest::{constant_time_eq, sha256, sha256_hex};
pub use password::{PasswordHasher, PasswordParams};
pub use random::new_session_guid;
pub use ticket_seal::{TicketKey, TicketSealError};
pub use tool_token::{ToolKeyError, ToolTokenError, ToolTokenKeys};
