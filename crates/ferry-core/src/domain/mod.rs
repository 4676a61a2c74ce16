//! The domain types, named after the public Thru documentation where it names them.

pub mod application;
pub mod audit;
pub mod session;
pub mod user;

pub use application::{Application, ApplicationId};
pub use audit::{AuditEntry, AuditHead, AuditRecord, Operation, Outcome};
pub use session::{Session, SessionData, SessionId};
pub use user::{NewUser, Role, User, UserId};
