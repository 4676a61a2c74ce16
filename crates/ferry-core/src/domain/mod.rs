//! The domain types, named after the public Thru documentation where it names them.

pub mod application;
pub mod audit;
pub mod file;
pub mod folder;
pub mod group;
pub mod metadata;
pub mod quota;
pub mod second_factor;
pub mod session;
pub mod share_link;
pub mod ssh_key;
pub mod user;

pub use application::{Application, ApplicationId};
pub use audit::{AuditEntry, AuditHead, AuditRecord, Operation, Outcome};
pub use file::{File, FileId, FileOrder, FileVersion};
pub use folder::{
    ChainLink, Folder, FolderId, FolderType, Grant, Grantee, MAX_FOLDER_DEPTH, Permissions,
    is_navigation,
};
pub use group::{GroupId, UserGroup};
pub use metadata::{MetadataItem, MetadataOwner, MetadataWrite};
pub use quota::QuotaSetting;
pub use second_factor::SecondFactor;
pub use session::{OpenedSession, Session, SessionData, SessionId, SessionKey};
pub use share_link::{DownloadAllowance, ShareLink, ShareLinkId, ShareTarget};
pub use ssh_key::{ParsedKey, SshKey};
pub use user::{NewUser, Role, User, UserId, domain_username_key, email_key};
