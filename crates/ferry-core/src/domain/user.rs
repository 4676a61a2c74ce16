//! Users and their roles.

use crate::clock::Timestamp;

/// A user's integer ID (`UserID` on the wire).
pub type UserId = i64;

/// What a user may do across the whole system (folder permissions come on top).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// May only use what is shared with them explicitly.
    Guest = 1,
    /// Receives files.
    Recipient = 2,
    /// An ordinary account.
    Member = 3,
    /// Manages folders and members.
    Manager = 4,
    /// Administers the server; may impersonate.
    Administrator = 5,
    /// Service accounts of integrations; may impersonate.
    System = 6,
}

impl Role {
    /// All roles, in code order.
    pub const ALL: [Role; 6] = [
        Role::Guest,
        Role::Recipient,
        Role::Member,
        Role::Manager,
        Role::Administrator,
        Role::System,
    ];

    /// The numeric code used on the wire and in the store.
    pub fn code(self) -> i64 {
        self as i64
    }

    /// The role with that numeric code.
    pub fn from_code(code: i64) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The lowercase name used on the command line (`administrator`, `member`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Role::Guest => "guest",
            Role::Recipient => "recipient",
            Role::Member => "member",
            Role::Manager => "manager",
            Role::Administrator => "administrator",
            Role::System => "system",
        }
    }

    /// Parses a role name case-insensitively (`admin` is accepted for `administrator`), or a code.
    pub fn parse(s: &str) -> Option<Role> {
        let s = s.trim().to_ascii_lowercase();
        if s == "admin" {
            return Some(Role::Administrator);
        }
        if let Ok(code) = s.parse::<i64>() {
            return Role::from_code(code);
        }
        Role::ALL.into_iter().find(|r| r.name() == s)
    }

    /// Whether this role may open sessions on behalf of other users.
    pub fn may_impersonate(self) -> bool {
        matches!(self, Role::Administrator | Role::System)
    }
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// `UserID`.
    pub id: UserId,
    /// Login name, unique case-insensitively.
    pub name: String,
    /// `DOMAIN\name` for users signed in by SSO ticket.
    pub domain_username: Option<String>,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// E-mail address, possibly empty.
    pub email: String,
    /// System-wide role.
    pub role: Role,
    /// A disabled user cannot sign in and their sessions stop working.
    pub active: bool,
    /// Soft-deleted.
    pub deleted: bool,
    /// The directory GUID of a user created by directory sync.
    pub user_sync_id: Option<String>,
    /// The user's home folder, once the file system exists.
    pub home_folder_id: Option<i64>,
    /// Argon2id PHC string; `None` for accounts that only sign in by ticket.
    pub password_hash: Option<String>,
    /// When the account was made.
    pub created_at: Timestamp,
    /// The account's storage quota ([`super::quota`]).
    pub quota: super::QuotaSetting,
}

/// The form in which e-mail addresses are compared: trimmed, ASCII letters folded to lowercase
/// (domains are case-insensitive, and no mail system in practice tells `Ann@` from `ann@`).
pub fn email_key(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

/// The form in which `DOMAIN\name` is compared: Windows account names are case-insensitive.
pub fn domain_username_key(domain_username: &str) -> String {
    domain_username.trim().to_lowercase()
}

/// What is needed to create a user.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name (already validated).
    pub name: String,
    /// `DOMAIN\name`, if any.
    pub domain_username: Option<String>,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// E-mail address, possibly empty.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Active from the start?
    pub active: bool,
    /// Directory GUID, if any.
    pub user_sync_id: Option<String>,
    /// Argon2id PHC string, if any.
    pub password_hash: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_by_name_code_and_alias() {
        assert_eq!(Role::parse("Administrator"), Some(Role::Administrator));
        assert_eq!(Role::parse("admin"), Some(Role::Administrator));
        assert_eq!(Role::parse("3"), Some(Role::Member));
        assert_eq!(Role::parse("root"), None);
        assert_eq!(Role::parse("7"), None);
        for r in Role::ALL {
            assert_eq!(Role::from_code(r.code()), Some(r));
            assert_eq!(Role::parse(r.name()), Some(r));
        }
    }

    #[test]
    fn only_administrators_and_system_impersonate() {
        let allowed: Vec<_> = Role::ALL
            .into_iter()
            .filter(|r| r.may_impersonate())
            .collect();
        assert_eq!(allowed, vec![Role::Administrator, Role::System]);
    }
}
