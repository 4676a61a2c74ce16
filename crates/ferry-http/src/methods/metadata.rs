//! Metadata methods: SARG 2.4.2's folder calls (`GetFolderMetadata`, `CreateFolderMetadata`,
//! `SaveFolderMetadata`, answering `FolderMetadataResult`) and the same calls for a file
//! (`GetFileMetadata`, `CreateFileMetadata`, `SaveFileMetadata`, answering SARG 2.4.4's
//! `FTHFileMetadataItemData`; the file calls' names are Ferry's, docs/thru-compatibility.md).

use ferry_core::domain::MetadataWrite;
use ferry_core::{Caller, Result, Service};
use serde_json::json;

use super::{Method, Param, ParamType, Reply, Returns, SESSION_ID, session};
use crate::args::Args;
use crate::wire::{FolderMetadataResult, FthFileMetadataItemData};

const FOLDER_ID: Param = Param::required("folderID", ParamType::Integer, "A folder's ID.");
const FILE_ID: Param = Param::required("fileID", ParamType::Integer, "A file's ID.");
const NAME: Param = Param::required(
    "name",
    ParamType::Text {
        required: true,
        max: 255,
    },
    "The metadata item's name (compared case-insensitively); a folder's \"Description\" is its description.",
);
const DATA: Param = Param::required(
    "data",
    ParamType::Text {
        required: false,
        max: 4000,
    },
    "The item's value: text, at most 4000 characters.",
);

/// The metadata methods.
pub static METHODS: &[Method] = &[
    Method {
        name: "GetFolderMetadata",
        summary: "The folder's metadata items, Description (ID 0) first, then by name. Needs Show.",
        params: &[SESSION_ID, FOLDER_ID],
        returns: Returns::Many("FolderMetadataResult"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                let id = a.int("folderID")?;
                let items = svc.folder_metadata(&ctx, id).await?;
                let list: Vec<_> = items
                    .into_iter()
                    .map(|i| FolderMetadataResult::new(id, i))
                    .collect();
                Ok(Some(json!(list)))
            })
        },
    },
    Method {
        name: "CreateFolderMetadata",
        summary: "Adds a metadata item to a folder; 108 if the name exists. Needs Modify.",
        params: &[SESSION_ID, FOLDER_ID, NAME, DATA],
        returns: Returns::One("FolderMetadataResult"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move { put_folder(&svc, &a, &caller, MetadataWrite::Create).await })
        },
    },
    Method {
        name: "SaveFolderMetadata",
        summary: "Changes a folder's metadata item; 208 if it does not exist (Description always does). Needs Modify.",
        params: &[SESSION_ID, FOLDER_ID, NAME, DATA],
        returns: Returns::One("FolderMetadataResult"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move { put_folder(&svc, &a, &caller, MetadataWrite::Save).await })
        },
    },
    Method {
        name: "GetFileMetadata",
        summary: "The file's metadata items, by name; every version shares them. Needs Read.",
        params: &[SESSION_ID, FILE_ID],
        returns: Returns::Many("FTHFileMetadataItemData"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                let id = a.int("fileID")?;
                let items = svc.file_metadata(&ctx, id).await?;
                let list: Vec<_> = items
                    .into_iter()
                    .map(|i| FthFileMetadataItemData::new(id, i))
                    .collect();
                Ok(Some(json!(list)))
            })
        },
    },
    Method {
        name: "CreateFileMetadata",
        summary: "Adds a metadata item to a file; 108 if the name exists. Needs Read and Modify.",
        params: &[SESSION_ID, FILE_ID, NAME, DATA],
        returns: Returns::One("FTHFileMetadataItemData"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move { put_file(&svc, &a, &caller, MetadataWrite::Create).await })
        },
    },
    Method {
        name: "SaveFileMetadata",
        summary: "Changes a file's metadata item; 208 if it does not exist. Needs Read and Modify.",
        params: &[SESSION_ID, FILE_ID, NAME, DATA],
        returns: Returns::One("FTHFileMetadataItemData"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move { put_file(&svc, &a, &caller, MetadataWrite::Save).await })
        },
    },
];

async fn put_folder(
    svc: &Service,
    a: &Args,
    caller: &Caller,
    write: MetadataWrite,
) -> Result<Reply> {
    let ctx = session(svc, a, caller).await?;
    let id = a.int("folderID")?;
    let item = svc
        .put_folder_metadata(&ctx, id, &a.string("name"), &a.string("data"), write)
        .await?;
    Ok(Some(json!(FolderMetadataResult::new(id, item))))
}

async fn put_file(svc: &Service, a: &Args, caller: &Caller, write: MetadataWrite) -> Result<Reply> {
    let ctx = session(svc, a, caller).await?;
    let id = a.int("fileID")?;
    let item = svc
        .put_file_metadata(&ctx, id, &a.string("name"), &a.string("data"), write)
        .await?;
    Ok(Some(json!(FthFileMetadataItemData::new(id, item))))
}
