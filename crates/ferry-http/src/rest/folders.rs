//! RAPR 6.2's folder resources (`FileSystem/Folder`: create, read, update as rename and move,
//! delete), a folder's content (Ferry's address: RAPR's listing call is not public), and 6.4's
//! `Search`, `Search/Folders` and `Search/Files`.

use std::collections::HashMap;

use axum::extract::{Path, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use ferry_core::Error;
use ferry_core::domain::FolderType;
use serde_json::{Value, json};

use super::body::Fields;
use super::exchange::{Exchange, RestError, path_int, whole};
use super::objects;
use super::relocate::{FOLDER, relocate};
use crate::router::AppState;
use crate::server::ClientAddr;
use crate::wire::FthFolderData;

/// What a folder request may set.
const FOLDER_FIELDS: [&str; 6] = [
    "Name",
    "ParentFolderId",
    "Description",
    "Tags",
    "Keywords",
    "FolderType",
];

/// Fields that RAPR's objects carry but a request may not set: ignored, as RAPR says.
const IGNORED_FOLDER_FIELDS: [&str; 9] = [
    "FolderId",
    "EffectivePermission",
    "DateCreated",
    "DateModified",
    "CreatedByUserId",
    "ModifiedByUserId",
    "Path",
    "Size",
    "InFavorite",
];

/// Refuses what Ferry cannot keep: tags (keywords), which Ferry's folders and files do not
/// have.
pub(super) fn no_tags(f: &Fields) -> Result<(), RestError> {
    if f.many("Tags")
        .iter()
        .chain(f.many("Keywords").iter())
        .any(|t| !t.is_empty())
    {
        return Err(
            Error::invalid("Ferry keeps no folder tags: send Tags empty or leave it out").into(),
        );
    }
    Ok(())
}

fn known_folder_fields() -> Vec<&'static str> {
    FOLDER_FIELDS
        .iter()
        .chain(IGNORED_FOLDER_FIELDS.iter())
        .copied()
        .collect()
}

async fn folder_value(
    ex: &Exchange,
    state: &AppState,
    folder_id: Value,
) -> Result<Value, RestError> {
    ex.call_value(
        state,
        "GetFolder",
        vec![("folderID".into(), folder_id)],
        true,
    )
    .await
}

/// `POST FileSystem/Folder`: `CreateFolder` under `ParentFolderId`, its `Description` made in
/// the same change of the Service (`create_described_folder`).
pub async fn create_folder(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    client: ClientAddr,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    respond!(params, parts.headers, client, "1.0", |ex| {
        let f = ex.fields(&parts.headers, body).await?;
        f.only(&known_folder_fields())?;
        no_tags(&f)?;
        let description = f.one("Description")?.unwrap_or("").to_string();
        check_description(&description)?;
        let parent = whole("ParentFolderId", f.required("ParentFolderId")?)?
            .as_i64()
            .ok_or_else(|| Error::invalid("ParentFolderId must be a whole number"))?;
        let folder_type = match f.one("FolderType")? {
            None => FolderType::Regular,
            Some(t) => whole("FolderType", t)?
                .as_i64()
                .and_then(FolderType::from_code)
                .filter(|t| matches!(t, FolderType::Regular | FolderType::UserDropBox))
                .ok_or_else(|| Error::invalid("folderType must be 0 (regular) or 4 (drop box)"))?,
        };
        // The description is the folder's `Description` metadata (SARG 2.4.2), set in the
        // creation's own change: refused, nothing is made.
        let ctx = ex.session_context(&state).await?;
        let view = state
            .service
            .create_described_folder(&ctx, parent, f.required("Name")?, folder_type, &description)
            .await?;
        Ok(Some(objects::folder(&json!(FthFolderData::from(view)))))
    })
}

/// A description RAPR may send: text within the metadata's limit (checked before anything
/// changes; the Service checks it again).
fn check_description(description: &str) -> Result<(), RestError> {
    if !description.is_empty() {
        ferry_core::text::plain(
            "Description",
            description,
            ferry_core::service::MAX_METADATA_VALUE,
        )?;
    }
    Ok(())
}

/// Sets a folder's description: `SaveFolderMetadata` of `Description`.
async fn set_description(
    ex: &Exchange,
    state: &AppState,
    id: &Value,
    description: &str,
) -> Result<(), RestError> {
    let pairs = vec![
        ("folderID".to_string(), id.clone()),
        ("name".to_string(), json!("Description")),
        ("data".to_string(), json!(description)),
    ];
    ex.call(state, "SaveFolderMetadata", pairs, true).await?;
    Ok(())
}

/// `GET FileSystem/Folder/{id}`: `GetFolder`.
pub async fn get_folder(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    client: ClientAddr,
    headers: HeaderMap,
) -> Response {
    respond!(params, headers, client, "1.0", |ex| {
        let id = path_int(&params, "folder_id")?;
        Ok(Some(objects::folder(&folder_value(&ex, &state, id).await?)))
    })
}

/// `PUT FileSystem/Folder/{id}`: a new `Description` sets the folder's `Description` metadata,
/// a new `ParentFolderId` moves the folder, a new `Name` renames it ([`relocate`]); a refused
/// move or rename puts the description back.
pub async fn update_folder(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    client: ClientAddr,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    respond!(params, parts.headers, client, "1.0", |ex| {
        let id = path_int(&params, "folder_id")?;
        let f = ex.fields(&parts.headers, body).await?;
        f.only(&known_folder_fields())?;
        no_tags(&f)?;
        let current = folder_value(&ex, &state, id.clone()).await?;
        if let Some(t) = f.one("FolderType")?
            && Some(whole("FolderType", t)?) != current.get("FolderType").cloned()
        {
            return Err(Error::invalid("a folder's FolderType cannot be changed").into());
        }
        let old_description = current["Description"].as_str().unwrap_or("").to_string();
        let new_description = f
            .one("Description")?
            .filter(|d| *d != old_description)
            .map(str::to_string);
        if let Some(d) = &new_description {
            check_description(d)?;
            set_description(&ex, &state, &id, d).await?;
        }
        if let Err(e) = relocate(&ex, &state, &FOLDER, &id, &current, &f).await {
            if new_description.is_some()
                && let Err(u) = set_description(&ex, &state, &id, &old_description).await
            {
                tracing::error!(error = ?u, "a REST folder update could not restore its description");
            }
            return Err(e);
        }
        Ok(Some(objects::folder(&folder_value(&ex, &state, id).await?)))
    })
}

/// `DELETE FileSystem/Folder/{id}`: `DeleteFolder`; 204.
pub async fn delete_folder(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    client: ClientAddr,
    headers: HeaderMap,
) -> Response {
    respond!(params, headers, client, "1.0", |ex| {
        let id = path_int(&params, "folder_id")?;
        ex.call(&state, "DeleteFolder", vec![("folderID".into(), id)], true)
            .await?;
        Ok(None)
    })
}

/// `GET FileSystem/Folder/{id}/Content/{skip}/{take}`: the subfolders (`GetFolders`), then the
/// files (`GetFiles`), paged together as `Search` pages: skip and take count both kinds.
pub async fn folder_content(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    client: ClientAddr,
    headers: HeaderMap,
) -> Response {
    respond!(params, headers, client, "1.0", |ex| {
        let id = path_int(&params, "folder_id")?;
        let (skip, take) = page(&params)?;
        // The subfolders a page at a time, each page after the last name read (one pass, never
        // all at once): those in the page asked for are kept, and all are counted, for where
        // the files start.
        let (mut shown, mut count, mut after) = (Vec::new(), 0i64, None::<Value>);
        loop {
            let mut pairs = vec![
                ("folderID".to_string(), id.clone()),
                ("take".to_string(), json!(FOLDERS_READ)),
            ];
            pairs.extend(after.take().map(|name| ("afterName".to_string(), name)));
            let read = ex.call_value(&state, "GetFolders", pairs, true).await?;
            let read = match read {
                Value::Array(read) => read,
                _ => Vec::new(),
            };
            let n = read.len() as i64;
            after = read.last().map(|f| f["Name"].clone());
            for (i, folder) in (count..).zip(read) {
                if i >= skip && (shown.len() as i64) < take {
                    shown.push(folder);
                }
            }
            count += n;
            // Short: the last page. Full and the page filled: the files are not needed.
            if n < FOLDERS_READ || shown.len() as i64 == take {
                break;
            }
        }
        let left = take - shown.len() as i64;
        let files = if left > 0 {
            let pairs = vec![
                ("folderID".to_string(), id),
                ("skip".to_string(), json!((skip - count).max(0))),
                ("take".to_string(), json!(left)),
            ];
            ex.call_value(&state, "GetFiles", pairs, true).await?
        } else {
            json!([])
        };
        Ok(Some(objects::content(
            Some(&Value::Array(shown)),
            Some(&files),
        )))
    })
}

/// Subfolders read at a time for a page of a folder's content.
const FOLDERS_READ: i64 = 1000;

fn page(params: &HashMap<String, String>) -> Result<(i64, i64), RestError> {
    let skip = path_int(params, "skip")?.as_i64().unwrap_or(-1);
    let take = path_int(params, "take")?.as_i64().unwrap_or(0);
    if skip < 0 || !(1..=1000).contains(&take) {
        return Err(Error::invalid("Skip must be 0 or more and Take between 1 and 1000").into());
    }
    Ok((skip, take))
}

/// The fields of RAPR's `ThruPublicSearchCriteria`.
const SEARCH_FIELDS: [&str; 11] = [
    "FolderId",
    "NameCriteria",
    "NameCriteriaMatchAll",
    "DescriptionCriteria",
    "DescriptionCriteriaMatchAll",
    "KeywordCriteria",
    "KeywordCriteriaMatchAll",
    "LastModifiedByUsers",
    "DateLastModifiedStart",
    "DateLastModifiedEnd",
    "Recursive",
];

/// `POST Search/{skip}/{take}`: folders, then files.
pub async fn search_both(
    state: State<AppState>,
    params: Path<HashMap<String, String>>,
    client: ClientAddr,
    request: Request,
) -> Response {
    search(state, params, client, request, 0).await
}

/// `POST Search/Folders/{skip}/{take}`.
pub async fn search_folders(
    state: State<AppState>,
    params: Path<HashMap<String, String>>,
    client: ClientAddr,
    request: Request,
) -> Response {
    search(state, params, client, request, 1).await
}

/// `POST Search/Files/{skip}/{take}`.
pub async fn search_files(
    state: State<AppState>,
    params: Path<HashMap<String, String>>,
    client: ClientAddr,
    request: Request,
) -> Response {
    search(state, params, client, request, 2).await
}

/// `Search` with `kinds` (0 both, 1 folders, 2 files). Ferry matches names; a criterion it
/// cannot apply (description, keywords, modifiers, dates, a folder other than the root) is
/// refused rather than ignored, since ignoring it would answer more than was asked.
async fn search(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    client: ClientAddr,
    request: Request,
    kinds: i64,
) -> Response {
    let (parts, body) = request.into_parts();
    respond!(params, parts.headers, client, "1.0", |ex| {
        let (skip, take) = page(&params)?;
        let f = ex.fields(&parts.headers, body).await?;
        f.only(&SEARCH_FIELDS)?;
        for name in ["DescriptionCriteria", "KeywordCriteria"] {
            if f.one(name)?
                .is_some_and(|c| !c.is_empty() && c.chars().any(|ch| ch != '*'))
            {
                return Err(Error::invalid(format!(
                    "Ferry searches names only: {name} must be empty or *"
                ))
                .into());
            }
        }
        for name in ["DateLastModifiedStart", "DateLastModifiedEnd"] {
            if f.one(name)?.is_some_and(|d| !d.is_empty()) {
                return Err(Error::invalid(format!(
                    "Ferry does not search by date: {name} must be empty"
                ))
                .into());
            }
        }
        if f.many("LastModifiedByUsers").iter().any(|u| !u.is_empty()) {
            return Err(Error::invalid(
                "Ferry does not search by modifier: LastModifiedByUsers must be empty",
            )
            .into());
        }
        if let Some(folder) = f.one("FolderId")?.filter(|s| !s.is_empty()) {
            let folder = whole("FolderId", folder)?;
            let root = ex
                .call_value(&state, "GetRootFolder", Vec::new(), true)
                .await?;
            let recursive = f
                .one("Recursive")?
                .is_none_or(|r| !r.eq_ignore_ascii_case("false"));
            if Some(&folder) != root.get("FolderID") || !recursive {
                return Err(Error::invalid(
                    "Ferry searches every folder the caller may see: FolderId may only name the root folder, recursively",
                )
                .into());
            }
        }
        let name = f
            .one("NameCriteria")?
            .filter(|n| !n.is_empty())
            .unwrap_or("*");
        let pairs = vec![
            ("searchString".to_string(), json!(name)),
            ("skip".to_string(), json!(skip)),
            ("take".to_string(), json!(take)),
            ("kinds".to_string(), json!(kinds)),
        ];
        let found = ex.call_value(&state, "Search", pairs, true).await?;
        Ok(Some(objects::content(
            (kinds != 2).then(|| &found["Folders"]),
            (kinds != 1).then(|| &found["Files"]),
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_fields_take_rapr_sample() {
        let f = Fields::from_form(
            b"Name=New+Folder&ParentFolderId=1&Description=&Tags%5B%5D=&FolderId=9",
        )
        .unwrap();
        assert!(f.only(&known_folder_fields()).is_ok());
        assert!(no_tags(&f).is_ok());
        let tagged = Fields::from_form(b"Name=a&Tags[]=567").unwrap();
        assert!(no_tags(&tagged).is_err());
    }
}
