//! The documented response structures, with their documented field names.

use ferry_core::domain::{SessionData, User};
use serde::Serialize;

/// `FTHSessionData`.
#[derive(Debug, Serialize)]
pub struct FthSessionData {
    /// The new session's GUID.
    #[serde(rename = "SessionID")]
    pub session_id: String,
    /// The signed-in user.
    #[serde(rename = "UserID")]
    pub user_id: i64,
}

impl From<SessionData> for FthSessionData {
    fn from(s: SessionData) -> Self {
        FthSessionData {
            session_id: s.session_id.to_wire(),
            user_id: s.user_id,
        }
    }
}

/// `FTHUserData`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FthUserData {
    #[serde(rename = "UserID")]
    user_id: i64,
    name: String,
    domain_username: Option<String>,
    first_name: String,
    last_name: String,
    email: String,
    role: i64,
    active: bool,
    deleted: bool,
    #[serde(rename = "UserSyncID")]
    user_sync_id: Option<String>,
    #[serde(rename = "HomeFolderID")]
    home_folder_id: Option<i64>,
    date_created: String,
}

impl From<User> for FthUserData {
    fn from(u: User) -> Self {
        FthUserData {
            user_id: u.id,
            name: u.name,
            domain_username: u.domain_username,
            first_name: u.first_name,
            last_name: u.last_name,
            email: u.email,
            role: u.role.code(),
            active: u.active,
            deleted: u.deleted,
            user_sync_id: u.user_sync_id,
            home_folder_id: u.home_folder_id,
            date_created: u.created_at.to_rfc3339(),
        }
    }
}
