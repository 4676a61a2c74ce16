//! A REST update that moves and renames (RAPR's `PUT` on a folder or a file): a new parent
//! moves the item, a new name renames it, each through its method of the table. The name's
//! own rules are checked before anything moves, and a rename refused after the move undoes
//! the move, so that a refused update changes nothing.

use serde_json::{Value, json};

use super::body::Fields;
use super::exchange::{Exchange, RestError, whole};
use crate::router::AppState;

/// How one kind of item is moved and renamed.
pub struct Kind {
    /// The item's ID parameter (`folderID`, `fileID`).
    pub id_param: &'static str,
    /// The field of its `FTH…Data` holding its parent (`ParentFolderID`).
    pub parent_field: &'static str,
    /// The move method and its destination parameter.
    pub move_method: &'static str,
    /// The destination parameter of the move method.
    pub move_param: &'static str,
    /// The rename method.
    pub rename_method: &'static str,
}

/// Folders: `MoveFolder`, `RenameFolder`.
pub const FOLDER: Kind = Kind {
    id_param: "folderID",
    parent_field: "ParentFolderID",
    move_method: "MoveFolder",
    move_param: "newParentFolderID",
    rename_method: "RenameFolder",
};

/// Files: `MoveFile`, `RenameFile`.
pub const FILE: Kind = Kind {
    id_param: "fileID",
    parent_field: "ParentFolderID",
    move_method: "MoveFile",
    move_param: "newFolderID",
    rename_method: "RenameFile",
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
    .filter(|p| *p != old_parent);
    let new_name = f
        .one("Name")?
        .filter(|n| current["Name"].as_str() != Some(n))
        .map(str::to_string);
    if let Some(name) = &new_name {
        ferry_core::text::item_name("name", name)?;
    }
    let args = |param: &str, value: Value| {
        vec![
            (kind.id_param.to_string(), id.clone()),
            (param.to_string(), value),
        ]
    };
    if let Some(parent) = &new_parent {
        ex.call(
            state,
            kind.move_method,
            args(kind.move_param, parent.clone()),
            true,
        )
        .await?;
    }
    if let Some(name) = new_name {
        let renamed = ex
            .call(state, kind.rename_method, args("name", json!(name)), true)
            .await;
        if let Err(e) = renamed {
            if new_parent.is_some() {
                let undo = ex
                    .call(
                        state,
                        kind.move_method,
                        args(kind.move_param, old_parent),
                        true,
                    )
                    .await;
                if let Err(u) = undo {
                    tracing::error!(error = ?u, "a REST update could not undo its move");
                }
            }
            return Err(e);
        }
    }
    Ok(())
}
