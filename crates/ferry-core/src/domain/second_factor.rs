//! A user's second factor: a TOTP secret (sealed; only the Service's key opens it), on once
//! confirmed, with the last step a passcode was accepted for so that a passcode works once.

use crate::clock::Timestamp;
use crate::domain::UserId;

/// One user's TOTP enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondFactor {
    /// The user.
    pub user_id: UserId,
    /// The secret, sealed under the configured key for this user.
    pub sealed_secret: String,
    /// When a correct passcode turned it on; `None` while enrolment is pending.
    pub confirmed_at: Option<Timestamp>,
    /// The last 30-second step a passcode was accepted for.
    pub last_step: i64,
    /// When enrolment began.
    pub created_at: Timestamp,
}
