//! The audit trail: one record per sign-in, sign-out, change and refused attempt, chained by
//! hash so that `ferry audit verify` finds a record removed or edited; a trail rewritten whole,
//! hashes recomputed, is found against an anchor kept from before (`--anchor SEQ:HASH`).
//!
//! Record `n` stores `hash_n = SHA-256(canonical JSON of {seq, at, entry fields…, prev_hash})`
//! where `prev_hash` is `hash_{n-1}` (64 zeros for the first record). The canonical JSON is
//! serde_json's rendering of [`ChainInput`], whose field order is fixed by its declaration, so
//! any change to a stored field, a removed record or a reordering breaks the chain.

use serde::Serialize;

use crate::clock::Timestamp;
use crate::domain::{ApplicationId, UserId};

/// The `prev_hash` of the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened. Stored by name; names are part of the export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// A session was opened (any `Open*` call, or a front end's login).
    SignIn,
    /// A sign-in was refused.
    SignInFailed,
    /// A session was closed by `Close`.
    SignOut,
    /// A session was deleted because the same user signed in again to the same application.
    SessionReplaced,
    /// An immutable session reached its age limit and was removed.
    SessionExpired,
    /// A session was ended by a change to its user (disabled, password or role changed, the
    /// SSH key that opened it removed); the detail says which.
    SessionRevoked,
    /// An impersonation attempt was refused.
    ImpersonationRefused,
    /// A user account was created.
    UserCreated,
    /// A user's password was set.
    PasswordChanged,
    /// A user account was disabled.
    UserDisabled,
    /// An application ID was registered.
    ApplicationRegistered,
    /// An application ID was enabled or disabled.
    ApplicationChanged,
    /// A folder was created.
    FolderCreated,
    /// A folder was renamed.
    FolderRenamed,
    /// A folder was moved.
    FolderMoved,
    /// A folder was deleted.
    FolderDeleted,
    /// A folder's metadata was created or changed.
    FolderMetadataChanged,
    /// A folder's permission list was replaced.
    PermissionsChanged,
    /// A user group was created.
    GroupCreated,
    /// A user was added to a group.
    GroupMemberAdded,
    /// A user was removed from a group.
    GroupMemberRemoved,
    /// An operation was refused for lack of permission.
    AccessDenied,
    /// A file (or a new version of it) was uploaded.
    FileUploaded,
    /// A file was downloaded (recorded before the first byte is sent).
    FileDownloaded,
    /// A download ended before its last byte (the client gone, its session ended): `size`
    /// is the bytes sent, the detail how far of how many. Follows its `FileDownloaded`.
    DownloadBrokenOff,
    /// A file was renamed.
    FileRenamed,
    /// A file's metadata was created or changed.
    FileMetadataChanged,
    /// A file was moved.
    FileMoved,
    /// A file was deleted.
    FileDeleted,
    /// A client set a file's modification time (SFTP `SETSTAT`, FTP `MFMT`).
    FileTimeSet,
    /// An older version's content became the file's newest version (the web client's
    /// "Restore"); the detail names both versions.
    FileVersionRestored,
    /// An upload failed or was refused.
    UploadFailed,
    /// A deleted file's content was removed after the retention period.
    FilePurged,
    /// A user's names, e-mail, role or directory identity changed (directory sync, CLI).
    UserUpdated,
    /// A disabled user was enabled again.
    UserEnabled,
    /// A directory sync ran; the detail holds its summary.
    DirectorySynced,
    /// A browser tool's page was opened with a valid token.
    ToolOpened,
    /// A person shared a link from the web client (upload or download).
    LinkCreated,
    /// A shared link was revoked (its session ended).
    LinkRevoked,
    /// A browser tool's token was refused; the detail says why.
    ToolTokenRefused,
    /// A user turned two-step sign-in on (a correct passcode confirmed the enrolment).
    SecondFactorEnabled,
    /// A user turned it off, or an administrator reset it (the detail says which).
    SecondFactorDisabled,
    /// A recovery code was spent at a sign-in.
    RecoveryCodeUsed,
    /// An administrator read the audit log (the detail says what they asked for and how many
    /// records came back, or that an export began).
    AuditLogRead,
}

impl Operation {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::SignIn => "SignIn",
            Operation::SignInFailed => "SignInFailed",
            Operation::SignOut => "SignOut",
            Operation::SessionReplaced => "SessionReplaced",
            Operation::SessionExpired => "SessionExpired",
            Operation::SessionRevoked => "SessionRevoked",
            Operation::ImpersonationRefused => "ImpersonationRefused",
            Operation::UserCreated => "UserCreated",
            Operation::PasswordChanged => "PasswordChanged",
            Operation::UserDisabled => "UserDisabled",
            Operation::ApplicationRegistered => "ApplicationRegistered",
            Operation::ApplicationChanged => "ApplicationChanged",
            Operation::FolderCreated => "FolderCreated",
            Operation::FolderRenamed => "FolderRenamed",
            Operation::FolderMoved => "FolderMoved",
            Operation::FolderDeleted => "FolderDeleted",
            Operation::FolderMetadataChanged => "FolderMetadataChanged",
            Operation::PermissionsChanged => "PermissionsChanged",
            Operation::GroupCreated => "GroupCreated",
            Operation::GroupMemberAdded => "GroupMemberAdded",
            Operation::GroupMemberRemoved => "GroupMemberRemoved",
            Operation::AccessDenied => "AccessDenied",
            Operation::FileUploaded => "FileUploaded",
            Operation::FileDownloaded => "FileDownloaded",
            Operation::DownloadBrokenOff => "DownloadBrokenOff",
            Operation::FileRenamed => "FileRenamed",
            Operation::FileMetadataChanged => "FileMetadataChanged",
            Operation::FileMoved => "FileMoved",
            Operation::FileDeleted => "FileDeleted",
            Operation::FileTimeSet => "FileTimeSet",
            Operation::FileVersionRestored => "FileVersionRestored",
            Operation::UploadFailed => "UploadFailed",
            Operation::FilePurged => "FilePurged",
            Operation::UserUpdated => "UserUpdated",
            Operation::UserEnabled => "UserEnabled",
            Operation::DirectorySynced => "DirectorySynced",
            Operation::ToolOpened => "ToolOpened",
            Operation::LinkCreated => "LinkCreated",
            Operation::LinkRevoked => "LinkRevoked",
            Operation::ToolTokenRefused => "ToolTokenRefused",
            Operation::SecondFactorEnabled => "SecondFactorEnabled",
            Operation::SecondFactorDisabled => "SecondFactorDisabled",
            Operation::RecoveryCodeUsed => "RecoveryCodeUsed",
            Operation::AuditLogRead => "AuditLogRead",
        }
    }
}

/// Whether the recorded operation succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It happened.
    Success,
    /// It was refused or failed.
    Failure,
}

impl Outcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "Success",
            Outcome::Failure => "Failure",
        }
    }
}

/// The content of one audit record, before it is placed in the chain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// [`Operation`] name.
    pub operation: String,
    /// [`Outcome`] name.
    pub status: String,
    /// The user the operation was done as (or attempted for).
    pub user_id: Option<UserId>,
    /// The service user who impersonated `user_id`.
    pub impersonator_id: Option<UserId>,
    /// The application of the session or sign-in.
    pub application_id: Option<ApplicationId>,
    /// The client's `clientVersion`.
    pub client_version: Option<String>,
    /// The client's IP address.
    pub client_ip: Option<String>,
    /// The external user: the session's `userString`, or an upload token's `Email`.
    pub external_user: Option<String>,
    /// [`crate::domain::SessionId::tag`] of the session concerned.
    pub session_tag: Option<String>,
    /// Another user the operation concerned (the account created, disabled, ...).
    pub target_user_id: Option<UserId>,
    /// Folder concerned.
    pub folder_id: Option<i64>,
    /// File concerned.
    pub file_id: Option<i64>,
    /// Path or name concerned.
    pub path: Option<String>,
    /// Bytes transferred.
    pub size: Option<i64>,
    /// SHA-256 of the content transferred.
    pub digest: Option<String>,
    /// Free text for administrators: a reason, an attempted name. Never a secret.
    pub detail: Option<String>,
    /// In an impersonated session, the workstation address the service declared
    /// (`OpenImmutableImpersonate`'s `ipAddress`); `client_ip` is where the request came from.
    /// Left out of the hash input when empty, so records written before it existed still
    /// verify.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_ip: Option<String>,
}

impl AuditEntry {
    /// An entry for `operation` with `outcome`, every other field empty.
    pub fn new(operation: Operation, outcome: Outcome) -> Self {
        AuditEntry {
            operation: operation.as_str().to_string(),
            status: outcome.as_str().to_string(),
            ..AuditEntry::default()
        }
    }
}

/// A record as stored: its place in the chain, its time, its content and its hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// When it was written.
    pub at: Timestamp,
    /// What it records.
    pub entry: AuditEntry,
    /// The hash of the record before (or [`GENESIS_HASH`]).
    pub prev_hash: String,
    /// This record's hash.
    pub hash: String,
}

/// The end of the chain: the last record's sequence number and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    /// Sequence number of the last record (0 when empty).
    pub seq: i64,
    /// Hash of the last record ([`GENESIS_HASH`] when empty).
    pub hash: String,
}

/// The exact structure hashed for a record. Field order is part of the chain format.
#[derive(Serialize)]
struct ChainInput<'a> {
    seq: i64,
    at: i64,
    #[serde(flatten)]
    entry: &'a AuditEntry,
    prev_hash: &'a str,
}

/// The hash of a record with this content placed after `prev_hash`.
pub fn chain_hash(seq: i64, at: Timestamp, entry: &AuditEntry, prev_hash: &str) -> String {
    let input = ChainInput {
        seq,
        at: at.0,
        entry,
        prev_hash,
    };
    // Serialising plain strings, integers and options cannot fail.
    let bytes = serde_json::to_vec(&input).unwrap_or_default();
    ferry_crypto::sha256_hex(&bytes)
}

impl AuditRecord {
    /// Builds the record that follows `head`.
    pub fn next(head: &AuditHead, at: Timestamp, entry: AuditEntry) -> AuditRecord {
        let seq = head.seq + 1;
        let hash = chain_hash(seq, at, &entry, &head.hash);
        AuditRecord {
            seq,
            at,
            entry,
            prev_hash: head.hash.clone(),
            hash,
        }
    }

    /// Whether the stored hash matches the stored content.
    pub fn hash_is_consistent(&self) -> bool {
        let expected = chain_hash(self.seq, self.at, &self.entry, &self.prev_hash);
        ferry_crypto::constant_time_eq(expected.as_bytes(), self.hash.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn genesis() -> AuditHead {
        AuditHead {
            seq: 0,
            hash: GENESIS_HASH.to_string(),
        }
    }

    #[test]
    fn records_chain_and_detect_edits() {
        let mut e = AuditEntry::new(Operation::SignIn, Outcome::Success);
        e.user_id = Some(7);
        let r1 = AuditRecord::next(&genesis(), Timestamp(1), e.clone());
        assert_eq!(r1.seq, 1);
        assert!(r1.hash_is_consistent());
        let head = AuditHead {
            seq: r1.seq,
            hash: r1.hash.clone(),
        };
        let r2 = AuditRecord::next(&head, Timestamp(2), e);
        assert_eq!(r2.prev_hash, r1.hash);

        let mut edited = r2.clone();
        edited.entry.user_id = Some(8);
        assert!(!edited.hash_is_consistent());
        let mut moved = r2;
        moved.at = Timestamp(3);
        assert!(!moved.hash_is_consistent());
    }

    #[test]
    fn an_absent_declared_ip_leaves_the_hash_input_as_it_was() {
        let mut e = AuditEntry::new(Operation::SignIn, Outcome::Success);
        e.user_id = Some(7);
        // The hash of this record as computed before `declared_ip` existed.
        let before = chain_hash(1, Timestamp(5), &e, GENESIS_HASH);
        let input = serde_json::to_string(&ChainInput {
            seq: 1,
            at: 5,
            entry: &e,
            prev_hash: GENESIS_HASH,
        })
        .unwrap();
        assert!(!input.contains("declared_ip"), "{input}");
        e.declared_ip = Some("10.0.0.1".into());
        assert_ne!(chain_hash(1, Timestamp(5), &e, GENESIS_HASH), before);
    }

    #[test]
    fn none_and_empty_string_hash_differently() {
        let mut a = AuditEntry::new(Operation::SignIn, Outcome::Success);
        let mut b = a.clone();
        a.detail = None;
        b.detail = Some(String::new());
        assert_ne!(
            chain_hash(1, Timestamp(0), &a, GENESIS_HASH),
            chain_hash(1, Timestamp(0), &b, GENESIS_HASH)
        );
    }
}
