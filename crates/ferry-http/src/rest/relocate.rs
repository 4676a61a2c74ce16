//! A REST update that moves and renames (RAPR's `PUT` on a folder or a file): a new parent
//! moves the item, a new name renames it, both in one change of the Service
//! (`relocate_folder`, `relocate_file`) with the checks `MoveFolder`/`MoveFile` and
//! `RenameFolder`/`RenameFile` make, so that a refused update changes nothing. (It was a move
//! then a rename, the move undone when the rename was refused; the undo could itself be
//! refused, and then a refused update had moved the item.)

use ferry_core::{Error, text};
use serde_json::Value;

use super::body::Fields;
use super::exchange::{Exchange, RestError, whole};
use crate::router::AppState;

/// How one kind of item is moved and renamed.
pub struct Kind {
    /// The field of its `FTH…Data` holding its parent (`ParentFolderID`).
    pub parent_field: &'static str,
    /// Whether it is a folder (else a file).
    pub folder: bool,
}

/// Folders.
pub const FOLDER: Kind = Kind {
    parent_field: "ParentFolderID",
    folder: true,
};

/// Files.
pub const FILE: Kind = Kind {
    parent_field: "ParentFolderID",
    folder: false,
};

/// Moves the item `id` (now `current`) to `ParentFolderId` and renames it to `Name`, as `f`
/// asks; a field equal to the current value changes nothing.
pub async fn relocate(
    ex: &Exchange,
    state: &AppState,
    kind: &Kind,
    id: &Value,
    current: &Value,
    f: &Fields,
) -> Result<(), RestError> {
    let old_parent = current[kind.parent_field].clone();
    let new_parent = match f.one("ParentFolderId")? {
        Some(p) if !p.is_empty() => Some(whole("ParentFolderId", p)?),
        _ => None,
    }
    .filter(|p| *p != old_parent)
    .and_then(|p| p.as_i64());
    let new_name = f
        .one("Name")?
        .filter(|n| current["Name"].as_str() != Some(n))
        .map(str::to_string);
    if new_parent.is_none() && new_name.is_none() {
        return Ok(());
    }
    if let Some(name) = &new_name {
        text::item_name("name", name)?;
    }
    let id = id
        .as_i64()
        .ok_or_else(|| Error::Internal("a REST item ID is not an integer".into()))?;
    let service = &state.service;
    let ctx = ex.session_context(state).await?;
    let name = new_name.as_deref();
    match kind.folder {
        true => service
            .relocate_folder(&ctx, id, new_parent, name)
            .await
            .map(drop),
        false => service
            .relocate_file(&ctx, id, new_parent, name)
            .await
            .map(drop),
    }?;
    Ok(())
}
