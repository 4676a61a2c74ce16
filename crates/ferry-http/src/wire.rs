//! The documented response structures, with their documented field names.

use ferry_core::domain::AuditRecord;
use ferry_core::domain::{FileVersion, Grant, Grantee, MetadataItem, SessionData, User, UserGroup};
use ferry_core::service::{FileView, FolderView, SearchResult, ServerSettings};
use serde::Serialize;

/// `FTHSessionData`.
#[derive(Debug, Serialize)]
pub struct FthSessionData {
    /// The new session's GUID.
    #[serde(rename = "SessionID")]
    pub session_id: String,
    /// The signed-in user.
    #[serde(rename = "UserID")]
    pub user_id: i64,
}

impl From<SessionData> for FthSessionData {
    fn from(s: SessionData) -> Self {
        FthSessionData {
            session_id: s.session_id.to_wire(),
            user_id: s.user_id,
        }
    }
}

/// `FTHUserData`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FthUserData {
    #[serde(rename = "UserID")]
    user_id: i64,
    name: String,
    domain_username: Option<String>,
    first_name: String,
    last_name: String,
    email: String,
    role: i64,
    active: bool,
    deleted: bool,
    #[serde(rename = "UserSyncID")]
    user_sync_id: Option<String>,
    #[serde(rename = "HomeFolderID")]
    home_folder_id: Option<i64>,
    date_created: String,
}

impl From<User> for FthUserData {
    fn from(u: User) -> Self {
        FthUserData {
            user_id: u.id,
            name: u.name,
            domain_username: u.domain_username,
            first_name: u.first_name,
            last_name: u.last_name,
            email: u.email,
            role: u.role.code(),
            active: u.active,
            deleted: u.deleted,
            user_sync_id: u.user_sync_id,
            home_folder_id: u.home_folder_id,
            date_created: u.created_at.to_rfc3339(),
        }
    }
}

/// `FTHFolderData`.
#[derive(Debug, Serialize)]
pub struct FthFolderData {
    #[serde(rename = "FolderID")]
    folder_id: i64,
    #[serde(rename = "ParentFolderID")]
    parent_folder_id: i64,
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "EffectivePermission")]
    effective_permission: i64,
    #[serde(rename = "DateCreated")]
    date_created: String,
    #[serde(rename = "DateModified")]
    date_modified: String,
    #[serde(rename = "CreatedByUserID")]
    created_by_user_id: i64,
    #[serde(rename = "ModifiedByUserID")]
    modified_by_user_id: i64,
    #[serde(rename = "IsDeleted")]
    is_deleted: bool,
    #[serde(rename = "FolderType")]
    folder_type: i64,
    #[serde(rename = "Description")]
    description: String,
}

impl From<FolderView> for FthFolderData {
    fn from(v: FolderView) -> Self {
        let f = v.folder;
        FthFolderData {
            folder_id: f.id,
            // The spec's integers have no null: -1 stands for "none", as in permission items.
            parent_folder_id: f.parent_id.unwrap_or(-1),
            name: f.name,
            effective_permission: v.effective.0,
            date_created: f.created_at.to_rfc3339(),
            date_modified: f.modified_at.to_rfc3339(),
            created_by_user_id: f.created_by.unwrap_or(-1),
            modified_by_user_id: f.modified_by.unwrap_or(-1),
            is_deleted: f.deleted,
            folder_type: f.folder_type.code(),
            description: f.description,
        }
    }
}

/// `FTHPermissionListItemData`.
#[derive(Debug, Serialize)]
pub struct FthPermissionListItemData {
    #[serde(rename = "FolderPermissionID")]
    folder_permission_id: i64,
    #[serde(rename = "FolderID")]
    folder_id: i64,
    #[serde(rename = "Permission")]
    permission: i64,
    #[serde(rename = "UserID")]
    user_id: i64,
    #[serde(rename = "UserGroupID")]
    user_group_id: i64,
}

impl From<Grant> for FthPermissionListItemData {
    fn from(g: Grant) -> Self {
        let (user_id, user_group_id) = match g.grantee {
            Grantee::User(u) => (u, -1),
            Grantee::Group(gr) => (-1, gr),
        };
        FthPermissionListItemData {
            folder_permission_id: g.id,
            folder_id: g.folder_id,
            permission: g.permission.0,
            user_id,
            user_group_id,
        }
    }
}

/// `FTHUserGroupData`.
#[derive(Debug, Serialize)]
pub struct FthUserGroupData {
    #[serde(rename = "UserGroupID")]
    user_group_id: i64,
    #[serde(rename = "Name")]
    name: String,
}

impl From<UserGroup> for FthUserGroupData {
    fn from(g: UserGroup) -> Self {
        FthUserGroupData {
            user_group_id: g.id,
            name: g.name,
        }
    }
}

/// The `DataType` of every metadata item: Ferry keeps text only. SARG calls the field
/// "metadata type, extendable" and publishes no values; docs/thru-compatibility.md says why 0.
const TEXT_DATA_TYPE: i64 = 0;

/// SARG 2.4.2's `FolderMetadataResult`: one metadata item of a folder.
#[derive(Debug, Serialize)]
pub struct FolderMetadataResult {
    #[serde(rename = "FolderMetadataID")]
    id: i64,
    #[serde(rename = "FolderID")]
    folder_id: i64,
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "DataType")]
    data_type: i64,
    #[serde(rename = "Data")]
    data: String,
}

impl FolderMetadataResult {
    /// The item as a folder's.
    pub fn new(folder_id: i64, item: MetadataItem) -> Self {
        FolderMetadataResult {
            id: item.id,
            folder_id,
            name: item.name,
            data_type: TEXT_DATA_TYPE,
            data: item.value,
        }
    }
}

/// SARG 2.4.4's `FTHFileMetadataItemData`: one metadata item of a file.
#[derive(Debug, Serialize)]
pub struct FthFileMetadataItemData {
    #[serde(rename = "FileMetadataID")]
    id: i64,
    #[serde(rename = "FileID")]
    file_id: i64,
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "DataType")]
    data_type: i64,
    #[serde(rename = "Data")]
    data: String,
}

impl FthFileMetadataItemData {
    /// The item as a file's.
    pub fn new(file_id: i64, item: MetadataItem) -> Self {
        FthFileMetadataItemData {
            id: item.id,
            file_id,
            name: item.name,
            data_type: TEXT_DATA_TYPE,
            data: item.value,
        }
    }
}

/// `FTHFileData`.
#[derive(Debug, Serialize)]
pub struct FthFileData {
    #[serde(rename = "FileID")]
    file_id: i64,
    #[serde(rename = "ParentFolderID")]
    parent_folder_id: i64,
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Size")]
    size: i64,
    #[serde(rename = "EffectivePermission")]
    effective_permission: i64,
    #[serde(rename = "DateCreated")]
    date_created: String,
    #[serde(rename = "DateModified")]
    date_modified: String,
    #[serde(rename = "CreatedByUserID")]
    created_by_user_id: i64,
    #[serde(rename = "ModifiedByUserID")]
    modified_by_user_id: i64,
    #[serde(rename = "Version")]
    version: i64,
    #[serde(rename = "IsDeleted")]
    is_deleted: bool,
    #[serde(rename = "IsQuarantined")]
    is_quarantined: bool,
    #[serde(rename = "IsPublished")]
    is_published: bool,
    #[serde(rename = "SHA256")]
    sha256: String,
    /// Ferry's addition: the modification time a client set (SFTP, FTP `MFMT`), or null.
    #[serde(rename = "ClientModifiedTime")]
    client_modified_time: Option<String>,
}

impl From<FileView> for FthFileData {
    fn from(v: FileView) -> Self {
        let f = v.file;
        FthFileData {
            file_id: f.id,
            parent_folder_id: f.folder_id,
            name: f.name,
            size: f.size,
            effective_permission: v.effective.0,
            date_created: f.created_at.to_rfc3339(),
            client_modified_time: f.client_modified_at.map(|t| t.to_rfc3339()),
            date_modified: f.modified_at.to_rfc3339(),
            created_by_user_id: f.created_by.unwrap_or(-1),
            modified_by_user_id: f.modified_by.unwrap_or(-1),
            version: f.version,
            is_deleted: f.deleted,
            is_quarantined: false,
            is_published: false,
            sha256: f.sha256,
        }
    }
}

/// One version of a file.
#[derive(Debug, Serialize)]
pub struct FthFileVersionData {
    #[serde(rename = "FileID")]
    file_id: i64,
    #[serde(rename = "Version")]
    version: i64,
    #[serde(rename = "Size")]
    size: i64,
    #[serde(rename = "SHA256")]
    sha256: String,
    #[serde(rename = "DateCreated")]
    date_created: String,
    #[serde(rename = "CreatedByUserID")]
    created_by_user_id: i64,
    /// Ferry's addition: the modification time a client gave this version, or null.
    #[serde(rename = "ClientModifiedTime")]
    client_modified_time: Option<String>,
}

impl From<FileVersion> for FthFileVersionData {
    fn from(v: FileVersion) -> Self {
        FthFileVersionData {
            file_id: v.file_id,
            version: v.version,
            size: v.size,
            sha256: v.sha256,
            date_created: v.created_at.to_rfc3339(),
            created_by_user_id: v.created_by.unwrap_or(-1),
            client_modified_time: v.client_modified_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// `FTHSearchResultData`: the folders, then the files, that matched.
#[derive(Debug, Serialize)]
pub struct FthSearchResultData {
    #[serde(rename = "Folders")]
    folders: Vec<FthFolderData>,
    #[serde(rename = "Files")]
    files: Vec<FthFileData>,
}

impl From<SearchResult> for FthSearchResultData {
    fn from(r: SearchResult) -> Self {
        FthSearchResultData {
            folders: r.folders.into_iter().map(Into::into).collect(),
            files: r.files.into_iter().map(Into::into).collect(),
        }
    }
}

/// An audit record as `GetAuditLog` and `ferry audit export` give it (one JSON object; the
/// CSV export has the same columns).
pub fn audit_record(r: &AuditRecord) -> serde_json::Value {
    let e = &r.entry;
    serde_json::json!({
        "seq": r.seq,
        "time": r.at.to_rfc3339(),
        "at_ms": r.at.0,
        "operation": e.operation,
        "status": e.status,
        "user_id": e.user_id,
        "impersonator_id": e.impersonator_id,
        "application_id": e.application_id,
        "client_version": e.client_version,
        "client_ip": e.client_ip,
        "external_user": e.external_user,
        "session_tag": e.session_tag,
        "target_user_id": e.target_user_id,
        "folder_id": e.folder_id,
        "file_id": e.file_id,
        "path": e.path,
        "size": e.size,
        "digest": e.digest,
        "detail": e.detail,
        "declared_ip": e.declared_ip,
        "prev_hash": r.prev_hash,
        "hash": r.hash,
    })
}

/// The columns of [`audit_record`], in export order.
pub const AUDIT_COLUMNS: [&str; 22] = [
    "seq",
    "time",
    "at_ms",
    "operation",
    "status",
    "user_id",
    "impersonator_id",
    "application_id",
    "client_version",
    "client_ip",
    "external_user",
    "session_tag",
    "target_user_id",
    "folder_id",
    "file_id",
    "path",
    "size",
    "digest",
    "detail",
    "declared_ip",
    "prev_hash",
    "hash",
];

/// [`audit_record`]'s values as the cells of one CSV row, in [`AUDIT_COLUMNS`] order: text as
/// it is, numbers in decimal, nothing as an empty cell. Text that a spreadsheet would run as a
/// formula when the file is opened ([`spreadsheet_safe`]) is kept as text.
pub fn audit_csv_cells(row: &serde_json::Value) -> Vec<String> {
    AUDIT_COLUMNS
        .iter()
        .map(|c| match &row[*c] {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => spreadsheet_safe(s),
            other => other.to_string(),
        })
        .collect()
}

/// A CSV cell that a spreadsheet shows as the text it is. File names, details, client
/// versions and external user names come from callers, and Excel, LibreOffice and Google
/// Sheets run a cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return (or
/// their full-width forms) as a formula: `=HYPERLINK(…)` in a file's name would send the
/// administrator who opens the export elsewhere (OWASP's "CSV injection"). Such a cell gets a
/// leading `'`, which spreadsheets take as "text" and do not show; the JSON-lines export keeps
/// every value exactly.
pub fn spreadsheet_safe(text: &str) -> String {
    let formula = |c: char| {
        matches!(
            c,
            '=' | '+' | '-' | '@' | '\t' | '\r' | '\u{FF1D}' | '\u{FF0B}' | '\u{FF0D}' | '\u{FF20}'
        )
    };
    match text.starts_with(formula) {
        true => format!("'{text}"),
        false => text.to_string(),
    }
}

/// SARG 2.2's `FTHServerSettingData`, with Ferry's fields (SARG publishes none; each is a rule
/// the Service enforces: docs/thru-compatibility.md).
#[derive(Debug, Serialize)]
pub struct FthServerSettingData {
    #[serde(rename = "ServerName")]
    server_name: &'static str,
    #[serde(rename = "ServerVersion")]
    server_version: &'static str,
    #[serde(rename = "ImmutableSessionHours")]
    immutable_session_hours: i64,
    #[serde(rename = "WebSessionIdleMinutes")]
    web_session_idle_minutes: i64,
    #[serde(rename = "WebSessionMaxMinutes")]
    web_session_max_minutes: i64,
    #[serde(rename = "DeletedFileRetentionHours")]
    deleted_file_retention_hours: i64,
    #[serde(rename = "MinPasswordLength")]
    min_password_length: i64,
    #[serde(rename = "MaxPageSize")]
    max_page_size: i64,
    #[serde(rename = "MaxMetadataItems")]
    max_metadata_items: i64,
    #[serde(rename = "MaxMetadataLength")]
    max_metadata_length: i64,
    #[serde(rename = "TicketSignIn")]
    ticket_sign_in: bool,
    #[serde(rename = "BrowserTools")]
    browser_tools: bool,
    #[serde(rename = "SecondFactor")]
    second_factor: bool,
    #[serde(rename = "StorageQuotaBytes")]
    storage_quota_bytes: i64,
}

impl From<ServerSettings> for FthServerSettingData {
    fn from(s: ServerSettings) -> Self {
        FthServerSettingData {
            server_name: "Ferry",
            server_version: s.version,
            immutable_session_hours: s.immutable_session_hours,
            web_session_idle_minutes: s.web_session_idle_minutes,
            web_session_max_minutes: s.web_session_max_minutes,
            deleted_file_retention_hours: s.deleted_file_retention_hours,
            min_password_length: s.min_password_length,
            max_page_size: s.max_page_size,
            max_metadata_items: s.max_metadata_items,
            max_metadata_length: s.max_metadata_length,
            ticket_sign_in: s.ticket_sign_in,
            browser_tools: s.browser_tools,
            second_factor: s.second_factor,
            storage_quota_bytes: s.storage_quota_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::spreadsheet_safe;

    #[test]
    fn formula_openers_are_kept_as_text() {
        for (given, written) in [
            ("=1+1", "'=1+1"),
            ("+1", "'+1"),
            ("-1", "'-1"),
            ("@A1", "'@A1"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("\u{FF1D}1", "'\u{FF1D}1"),
            ("a=1", "a=1"),
            ("report.csv", "report.csv"),
            ("", ""),
        ] {
            assert_eq!(spreadsheet_safe(given), written, "{given:?}");
        }
    }
}
