//! The heart of Ferry: the domain types and the [`Service`], which carries out every operation
//! with its authentication, permission check and audit record.
//!
//! Front ends (HTTP today; SFTP and FTPS later) translate their protocol into `Service` calls
//! and never touch a store. Stores implement the [`store`] port traits defined here. Time comes
//! from a [`Clock`] so that expiry rules are tested by moving time, never by sleeping.

pub mod clock;
pub mod connection_counts;
pub mod connection_limit;
pub mod content;
pub mod domain;
pub mod error;
pub mod guessable_passwords;
pub mod inline_content;
pub mod proxy_protocol;
pub mod service;
pub mod store;
pub mod text;
pub mod ticket;
pub mod tool_token;
pub mod transfer_state;
pub mod xml_reference;

pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use error::{Error, Result};
pub use service::{Actor, Caller, LockoutPolicy, Service, ServiceConfig};
