//! Folders, their permission bits, and the grants that give those bits to users and groups.

use crate::clock::Timestamp;
use crate::domain::UserId;

/// A folder's integer ID (`FolderID`).
pub type FolderId = i64;

/// The root of the whole tree (created by the migration).
pub const ROOT_FOLDER: FolderId = 1;
/// The parent of every user's home folder.
pub const HOME_ROOT_FOLDER: FolderId = 2;
/// The parent of shared folders.
pub const SHARED_ROOT_FOLDER: FolderId = 3;

/// Whether `folder` is a navigation folder (the root, Home or Shared): everyone sees them,
/// since SFTP and FTPS pass through them to reach anything.
pub fn is_navigation(folder: FolderId) -> bool {
    matches!(folder, ROOT_FOLDER | HOME_ROOT_FOLDER | SHARED_ROOT_FOLDER)
}

/// What kind of folder it is (`FolderType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderType {
    /// An ordinary folder.
    Regular = 0,
    /// The root of the tree.
    Root = 1,
    /// A user's home.
    UserHome = 2,
    /// A user's documents folder.
    UserDocuments = 3,
    /// A drop box: others may put files in, only its owner reads them.
    UserDropBox = 4,
    /// The root of shared folders.
    FolderRoot = 5,
    /// The root of home folders.
    HomeRoot = 6,
}

impl FolderType {
    /// The numeric code.
    pub fn code(self) -> i64 {
        self as i64
    }

    /// The type with that code.
    pub fn from_code(code: i64) -> Option<FolderType> {
        use FolderType::*;
        [
            Regular,
            Root,
            UserHome,
            UserDocuments,
            UserDropBox,
            FolderRoot,
            HomeRoot,
        ]
        .into_iter()
        .find(|t| t.code() == code)
    }

    /// Folders the system made and that nobody may rename, move or delete.
    pub fn is_structural(self) -> bool {
        matches!(
            self,
            FolderType::Root | FolderType::FolderRoot | FolderType::HomeRoot | FolderType::UserHome
        )
    }
}

/// The most names a folder's tree path may have (`/Shared/Deals/2026/…`: 64 names, `Shared`
/// and `Deals` among them). Every check on a folder reads the folders above it, so a chain
/// thousands deep made each request on it cost milliseconds and a ZIP of it seconds.
pub const MAX_FOLDER_DEPTH: usize = 64;

/// A set of permission bits (`Permission`, `EffectivePermission`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Permissions(pub i64);

impl Permissions {
    /// See the folder and its name.
    pub const SHOW: Permissions = Permissions(1);
    /// List and read the folder's files' metadata.
    pub const READ: Permissions = Permissions(2);
    /// Create folders and upload new files.
    pub const CREATE: Permissions = Permissions(4);
    /// Download files' content.
    pub const DOWNLOAD: Permissions = Permissions(8);
    /// Share files with others (links, tokens).
    pub const DISTRIBUTE: Permissions = Permissions(16);
    /// Change the folder's permissions.
    pub const MANAGE: Permissions = Permissions(32);
    /// Rename, move, overwrite (new versions), edit metadata.
    pub const MODIFY: Permissions = Permissions(64);
    /// Delete.
    pub const DELETE: Permissions = Permissions(128);
    /// No bits.
    pub const NONE: Permissions = Permissions(0);
    /// Every bit.
    pub const ALL: Permissions = Permissions(255);
    /// What moving a file or a folder out of a folder needs there: Modify (it changes),
    /// Delete (it leaves everyone who reached it there), and Read and Download (it may land
    /// where the mover holds more, so a move must give nothing that downloading it and
    /// uploading a copy elsewhere would not).
    pub const MOVE_AWAY: Permissions = Permissions(2 | 8 | 64 | 128);

    /// Whether every bit of `other` is set here.
    pub fn contains(self, other: Permissions) -> bool {
        self.0 & other.0 == other.0
    }

    /// Both sets together.
    pub const fn union(self, other: Permissions) -> Permissions {
        Permissions(self.0 | other.0)
    }

    /// The bits set here and not in `other`.
    pub fn difference(self, other: Permissions) -> Permissions {
        Permissions(self.0 & !other.0)
    }

    /// Whether no bit is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether only defined bits are set.
    pub fn is_valid(self) -> bool {
        self.0 >= 0 && self.0 & !Permissions::ALL.0 == 0
    }
}

/// A folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// `FolderID`.
    pub id: FolderId,
    /// `ParentFolderID`; `None` for the root.
    pub parent_id: Option<FolderId>,
    /// `Name`, NFC-normalised.
    pub name: String,
    /// `FolderType`.
    pub folder_type: FolderType,
    /// The `Description` metadata.
    pub description: String,
    /// Whether grants of the folders above apply here too.
    pub inherit_permissions: bool,
    /// The user whose home or drop box this is.
    pub owner_user_id: Option<UserId>,
    /// `DateCreated`.
    pub created_at: Timestamp,
    /// `DateModified`.
    pub modified_at: Timestamp,
    /// `CreatedByUserID`.
    pub created_by: Option<UserId>,
    /// `ModifiedByUserID`.
    pub modified_by: Option<UserId>,
    /// `IsDeleted`.
    pub deleted: bool,
}

/// Who a grant is for: a user or a group, never both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grantee {
    /// A user.
    User(UserId),
    /// A user group.
    Group(i64),
}

/// One grant of permission bits on a folder (`FTHPermissionListItemData`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// `FolderPermissionID` (0 before it is stored).
    pub id: i64,
    /// `FolderID`.
    pub folder_id: FolderId,
    /// `Permission`.
    pub permission: Permissions,
    /// `UserID` or `UserGroupID`.
    pub grantee: Grantee,
}

/// One folder of an ancestor chain with the caller's own grants on it, as the store reports it
/// for permission evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainLink {
    /// The folder.
    pub folder_id: FolderId,
    /// Whether the folder is deleted (then everything below it is gone too).
    pub deleted: bool,
    /// Whether it inherits from its parent.
    pub inherit_permissions: bool,
    /// The bits granted on it to the user or one of the user's groups.
    pub granted: Permissions,
}

/// The bits a (non-administrator) user holds on the first folder of `chain` (which runs from
/// the folder up to the root): the union of their grants on it and on its ancestors, up to and
/// including the first folder that does not inherit.
pub fn effective_permissions(chain: &[ChainLink]) -> Permissions {
    let mut bits = Permissions::NONE;
    for link in chain {
        bits = bits.union(link.granted);
        if !link.inherit_permissions {
            break;
        }
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(id: i64, inherit: bool, bits: i64) -> ChainLink {
        ChainLink {
            folder_id: id,
            deleted: false,
            inherit_permissions: inherit,
            granted: Permissions(bits),
        }
    }

    #[test]
    fn grants_inherit_down_until_a_folder_overrides() {
        // child (inherits) <- parent (does not inherit) <- root
        let chain = [link(3, true, 2), link(2, false, 1), link(1, true, 128)];
        assert_eq!(effective_permissions(&chain), Permissions(3));
        let chain = [link(3, true, 2), link(2, true, 1), link(1, true, 128)];
        assert_eq!(effective_permissions(&chain), Permissions(131));
        let chain = [link(3, false, 0), link(2, true, 255)];
        assert_eq!(effective_permissions(&chain), Permissions::NONE);
    }

    #[test]
    fn bit_sets() {
        assert!(Permissions(255).contains(Permissions::MANAGE));
        assert!(!Permissions(31).contains(Permissions::MANAGE));
        assert!(Permissions(0).is_valid());
        assert!(!Permissions(256).is_valid());
        assert!(!Permissions(-1).is_valid());
        assert_eq!(FolderType::from_code(4), Some(FolderType::UserDropBox));
        assert_eq!(FolderType::from_code(7), None);
    }
}
