//! User groups: permission grants can name a group instead of a user.

/// A group's integer ID (`UserGroupID`).
pub type GroupId = i64;

/// A user group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserGroup {
    /// `UserGroupID`.
    pub id: GroupId,
    /// `Name`, unique case-insensitively.
    pub name: String,
}
