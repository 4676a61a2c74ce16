//! File methods (the bytes themselves travel on the streaming routes of `transfer.rs`).

use ferry_core::service::SearchKinds;
use serde_json::json;

use super::{Method, Param, ParamType, Returns, SESSION_ID, SKIP, TAKE, page, session};
use crate::wire::{FthFileData, FthFileVersionData, FthFolderData, FthSearchResultData};

const FILE_ID: Param = Param::required("fileID", ParamType::Integer, "A file's ID.");
const FOLDER_ID: Param = Param::required("folderID", ParamType::Integer, "A folder's ID.");

/// The file methods.
pub static METHODS: &[Method] = &[
    Method {
        name: "Search",
        summary: "Folders (Show) and files (Read on their folder) whose names match; * matches any run of characters, and a string without * matches names containing it. Folders first, paged.",
        params: &[
            SESSION_ID,
            Param::required(
                "searchString",
                ParamType::Text {
                    required: true,
                    max: 255,
                },
                "What to look for, with * wildcards.",
            ),
            Param::optional(
                "skip",
                ParamType::Range {
                    min: 0,
                    max: i64::MAX,
                },
                "Results to skip (default 0).",
            ),
            Param::optional(
                "take",
                ParamType::Range { min: 1, max: 1000 },
                "Results to return, 1 to 1000 (default 100).",
            ),
            Param::optional(
                "kinds",
                ParamType::Choice(&[0, 1, 2]),
                "What to look for: 0 folders and files (default), 1 folders only, 2 files only; skip and take count those alone. Ferry's addition, for Thru's REST Search/Folders and Search/Files.",
            ),
        ],
        returns: Returns::One("FTHSearchResultData"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                let kinds = match a.opt_int("kinds") {
                    Some(1) => SearchKinds::Folders,
                    Some(2) => SearchKinds::Files,
                    _ => SearchKinds::Both,
                };
                let found = svc
                    .search_kinds(
                        &ctx,
                        &a.string("searchString"),
                        kinds,
                        a.opt_int("skip").unwrap_or(0),
                        a.opt_int("take").unwrap_or(100),
                    )
                    .await?;
                Ok(Some(json!(FthSearchResultData::from(found))))
            })
        },
    },
    Method {
        name: "SearchFolders",
        summary: "SARG 2.8's folder search with FTHFolderSearchPagingData: the folders (Show) whose names match searchString (* wildcards; a string without * matches names containing it), requestedLength of them from requestedStartIndex, with the total that match (counted among at most 20,000 candidates).",
        params: &[
            SESSION_ID,
            Param::required(
                "searchString",
                ParamType::Text {
                    required: true,
                    max: 255,
                },
                "What to look for, with * wildcards.",
            ),
            Param::required(
                "requestedStartIndex",
                ParamType::Range {
                    min: 0,
                    max: i64::MAX,
                },
                "The first result to return (0 is the first).",
            ),
            Param::required(
                "requestedLength",
                ParamType::Range { min: 1, max: 1000 },
                "Results on the page, 1 to 1000.",
            ),
        ],
        returns: Returns::One("FTHFolderSearchPagingData"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                let (start, length) = (a.int("requestedStartIndex")?, a.int("requestedLength")?);
                let search = a.string("searchString");
                let (page, total) = svc
                    .search_folders_paged(&ctx, &search, start, length)
                    .await?;
                let folders: Vec<FthFolderData> = page.into_iter().map(Into::into).collect();
                Ok(Some(json!({
                    "SearchString": search,
                    "RequestedStartIndex": start,
                    "RequestedLength": length,
                    "TotalMatchingFolders": total,
                    "PageFolders": folders,
                })))
            })
        },
    },
    Method {
        name: "GetFiles",
        summary: "One page of a folder's files, ordered by name (stable). Needs Read.",
        params: &[SESSION_ID, FOLDER_ID, SKIP, TAKE],
        returns: Returns::Many("FTHFileData"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                let files = svc
                    .files(
                        &ctx,
                        a.int("folderID")?,
                        a.opt_int("skip").unwrap_or(0),
                        a.opt_int("take").unwrap_or(100),
                    )
                    .await?;
                let list: Vec<FthFileData> = files.into_iter().map(Into::into).collect();
                Ok(Some(json!(list)))
            })
        },
    },
    Method {
        name: "GetFile",
        summary: "One file. Needs Read on its folder.",
        params: &[SESSION_ID, FILE_ID],
        returns: Returns::One("FTHFileData"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                Ok(Some(json!(FthFileData::from(
                    svc.file(&ctx, a.int("fileID")?).await?
                ))))
            })
        },
    },
    Method {
        name: "GetFileByName",
        summary: "The live file with that name in a folder (names compare case-insensitively, in NFC). Needs Read.",
        params: &[
            SESSION_ID,
            FOLDER_ID,
            Param::required("name", ParamType::ItemName, "The file's name."),
        ],
        returns: Returns::One("FTHFileData"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                let view = svc
                    .file_by_name(&ctx, a.int("folderID")?, &a.string("name"))
                    .await?;
                Ok(Some(json!(FthFileData::from(view))))
            })
        },
    },
    Method {
        name: "GetFileVersions",
        summary: "A file's versions, oldest first. Needs Read. Without skip and take, all of them, refused (400) above 10,000; with either, one page.",
        params: &[SESSION_ID, FILE_ID, SKIP, TAKE],
        returns: Returns::Many("FTHFileVersionData"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                let versions = svc.file_versions(&ctx, a.int("fileID")?, page(&a)).await?;
                let list: Vec<FthFileVersionData> = versions.into_iter().map(Into::into).collect();
                Ok(Some(json!(list)))
            })
        },
    },
    Method {
        name: "RenameFile",
        summary: "Renames a file. Needs Modify.",
        params: &[
            SESSION_ID,
            FILE_ID,
            Param::required(
                "name",
                ParamType::ItemName,
                "The new name (same rules as folder names).",
            ),
        ],
        returns: Returns::One("FTHFileData"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                let view = svc
                    .rename_file(&ctx, a.int("fileID")?, &a.string("name"))
                    .await?;
                Ok(Some(json!(FthFileData::from(view))))
            })
        },
    },
    Method {
        name: "MoveFile",
        summary: "Moves a file to another folder. Needs Read, Download, Modify and Delete where it is (a move gives nothing a download, an upload and a delete would not) and Create where it goes.",
        params: &[
            SESSION_ID,
            FILE_ID,
            Param::required(
                "newFolderID",
                ParamType::Integer,
                "The destination folder's ID.",
            ),
        ],
        returns: Returns::One("FTHFileData"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                let view = svc
                    .move_file(&ctx, a.int("fileID")?, a.int("newFolderID")?)
                    .await?;
                Ok(Some(json!(FthFileData::from(view))))
            })
        },
    },
    Method {
        name: "RetrieveUploadInfo",
        summary: "SARG 2.4.5's FTHUploadInfo for one file: its FTHFileUploadInfo carries the file and its access ID (AccessId), which a download token without Session names in FilePublicID (SARG 2.7.2.2): the page then acts as this session's user. Needs Download on the file's folder and the browser tools configured. The access ID works as long as the user may download the file; changing the tools' key voids it.",
        params: &[SESSION_ID, FILE_ID],
        returns: Returns::One("FTHUploadInfo"),
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                let (view, access) = svc.retrieve_upload_info(&ctx, a.int("fileID")?).await?;
                // SARG 2.4.5.1's FTHUploadInfo, for the one file asked about.
                let base = view.file.id;
                Ok(Some(json!({
                    "Folders": [],
                    "Files": [{
                        "FileData": FthFileData::from(view),
                        "AccessId": access,
                        "BaseFileId": base,
                    }],
                })))
            })
        },
    },
    Method {
        name: "DeleteFile",
        summary: "Deletes a file (soft: it leaves listings at once). Needs Delete.",
        params: &[SESSION_ID, FILE_ID],
        returns: Returns::Nothing,
        signs_in: false,
        handler: |svc, a, caller| {
            Box::pin(async move {
                let ctx = session(&svc, &a, &caller).await?;
                svc.delete_file(&ctx, a.int("fileID")?).await?;
                Ok(None)
            })
        },
    },
];
