//! Metadata items of folders (SARG 2.4.2: `GetFolderMetadata`, `CreateFolderMetadata`,
//! `SaveFolderMetadata`) and of files (the same calls for a file, with SARG 2.4.4's
//! `FTHFileMetadataItemData`). A folder's `Description` item is the folder's description,
//! kept with the folder; a file's items belong to the file, so every version shares them.
//! Reading needs what reading the folder or file needs; writing needs Modify. Every write is
//! audited in the same transaction.

use super::{Service, SessionContext};
use crate::clock::Timestamp;
use crate::domain::metadata::{DESCRIPTION_ITEM_ID, MAX_METADATA_ITEMS};
use crate::domain::{
    AuditEntry, FileId, FolderId, MetadataItem, MetadataOwner, MetadataWrite, Operation, Outcome,
    Permissions,
};
use crate::error::{Error, Result};
use crate::store::StoreTx;
use crate::text;

/// The metadata name that reads and writes a folder's description.
const DESCRIPTION: &str = "Description";
/// Longest metadata value, in characters.
pub const MAX_METADATA_VALUE: usize = 4000;
/// Longest metadata name, in characters.
const MAX_METADATA_NAME: usize = 255;

impl Service {
    /// `GetFolderMetadata`: `Description` first, then the stored items by name. Needs Show.
    pub async fn folder_metadata(
        &self,
        ctx: &SessionContext,
        id: FolderId,
    ) -> Result<Vec<MetadataItem>> {
        let view = self.folder(ctx, id).await?;
        let mut items = vec![MetadataItem {
            id: DESCRIPTION_ITEM_ID,
            name: DESCRIPTION.into(),
            value: view.folder.description,
        }];
        items.extend(self.store.metadata(MetadataOwner::Folder(id)).await?);
        Ok(items)
    }

    /// `CreateFolderMetadata` and `SaveFolderMetadata`. Needs Modify. `Description` always
    /// exists (it may be empty): creating it fails once it has text, saving it always works.
    pub async fn put_folder_metadata(
        &self,
        ctx: &SessionContext,
        id: FolderId,
        name: &str,
        value: &str,
        write: MetadataWrite,
    ) -> Result<MetadataItem> {
        check_item(name, value)?;
        let operation = Operation::FolderMetadataChanged;
        self.require(ctx, id, Permissions::MODIFY, operation)
            .await?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let mut folder = tx.folder(id).await?.ok_or(Error::FolderNotFound)?;
        if folder.deleted {
            return Err(Error::FolderNotFound);
        }
        let item_id = if name.eq_ignore_ascii_case(DESCRIPTION) {
            if write == MetadataWrite::Create && !folder.description.is_empty() {
                return Err(Error::AlreadyExists(
                    "the folder already has a Description".into(),
                ));
            }
            folder.description = value.to_string();
            folder.modified_at = now;
            folder.modified_by = Some(ctx.user.id);
            tx.update_folder(&folder).await?;
            DESCRIPTION_ITEM_ID
        } else {
            put_stored_item(tx.as_mut(), MetadataOwner::Folder(id), name, value, write).await?
        };
        let mut e = AuditEntry::new(operation, Outcome::Success);
        e.folder_id = Some(id);
        commit_item(tx, ctx, now, e, item_id, name, value).await
    }

    /// `GetFileMetadata`: the file's items by name. Needs Read on its folder, as `GetFile`.
    pub async fn file_metadata(
        &self,
        ctx: &SessionContext,
        id: FileId,
    ) -> Result<Vec<MetadataItem>> {
        self.readable_file(ctx, id).await?;
        Ok(self.store.metadata(MetadataOwner::File(id)).await?)
    }

    /// `CreateFileMetadata` and `SaveFileMetadata`. Needs Read and Modify on the file's folder.
    pub async fn put_file_metadata(
        &self,
        ctx: &SessionContext,
        id: FileId,
        name: &str,
        value: &str,
        write: MetadataWrite,
    ) -> Result<MetadataItem> {
        check_item(name, value)?;
        let operation = Operation::FileMetadataChanged;
        let view = self.readable_file(ctx, id).await?;
        self.require(ctx, view.file.folder_id, Permissions::MODIFY, operation)
            .await?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        // Deleted (or moved where the check above did not look) since: ask again inside.
        let file = match tx.file(id).await? {
            Some(f) if !f.deleted && f.folder_id == view.file.folder_id => f,
            _ => return Err(Error::FileNotFound),
        };
        let item_id =
            put_stored_item(tx.as_mut(), MetadataOwner::File(id), name, value, write).await?;
        let mut e = AuditEntry::new(operation, Outcome::Success);
        e.folder_id = Some(file.folder_id);
        e.file_id = Some(id);
        commit_item(tx, ctx, now, e, item_id, name, value).await
    }
}

/// Writes a stored item (anything but a folder's `Description`) inside the change, keeping
/// the owner's item count under [`MAX_METADATA_ITEMS`]; its ID.
async fn put_stored_item(
    tx: &mut dyn StoreTx,
    owner: MetadataOwner,
    name: &str,
    value: &str,
    write: MetadataWrite,
) -> Result<i64> {
    if write == MetadataWrite::Create && tx.metadata_count(owner).await? >= MAX_METADATA_ITEMS {
        return Err(Error::invalid(format!(
            "a folder or file holds at most {MAX_METADATA_ITEMS} metadata items"
        )));
    }
    tx.put_metadata(owner, name, value, write)
        .await?
        .ok_or(Error::MetadataItemNotFound)
}

/// Audits a written item (`entry` names its folder or file; the path is the item's name),
/// commits the change, and answers the item as written.
async fn commit_item(
    mut tx: Box<dyn StoreTx>,
    ctx: &SessionContext,
    now: Timestamp,
    mut entry: AuditEntry,
    id: i64,
    name: &str,
    value: &str,
) -> Result<MetadataItem> {
    ctx.stamp(&mut entry);
    entry.path = Some(name.to_string());
    tx.append_audit(now, entry).await?;
    tx.commit().await?;
    Ok(MetadataItem {
        id,
        name: name.to_string(),
        value: value.to_string(),
    })
}

/// The rules every item's name and value follow.
fn check_item(name: &str, value: &str) -> Result<()> {
    text::required("name", name, MAX_METADATA_NAME)?;
    text::plain("data", value, MAX_METADATA_VALUE)
}
