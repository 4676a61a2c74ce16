//! The OpenAPI 3.1 document of the JSON API, generated from the method table in [`crate::methods`]
//! and the error table below, and served at `/api/v1/openapi.json` (with Swagger UI at
//! `/api/v1/docs/`, its assets embedded in the binary).

use serde_json::{Map, Value, json};

use crate::args::MIN_INTEGER;
use crate::methods::{self, Returns};

/// Every error code the API answers with: code, HTTP status, meaning. docs/errors.md mirrors it.
pub const ERROR_CODES: &[(u32, u16, &str)] = &[
    (
        101,
        401,
        "The session no longer exists: closed, replaced by a newer sign-in, expired, ended by a change to its user (disabled, new password or role, its SSH key removed), or never issued.",
    ),
    (
        102,
        401,
        "Sign-in failed: unknown user name, wrong password, or disabled account (deliberately one answer).",
    ),
    (
        103,
        429,
        "Too many failed sign-ins for this account from this address (or from addresses it never used), or from this address; retry after the Retry-After header's seconds.",
    ),
    (
        104,
        403,
        "The applicationID is not registered, is disabled, or is reserved for Ferry's own front ends (below 1000).",
    ),
    (
        105,
        403,
        "Not permitted for this user (for example impersonation by a user who is not Administrator or System, from an impersonated session or of a higher role; changing the members of a group that holds bits the caller does not).",
    ),
    (106, 404, "The user named by the call does not exist."),
    (107, 403, "The user named by the call is disabled."),
    (108, 409, "Something with that name or ID already exists."),
    (
        110,
        400,
        "Invalid argument: malformed JSON, unknown, missing or duplicate parameter (or a key repeated at any depth), wrong type, bad GUID, text too long or containing control or bidirectional characters.",
    ),
    (
        111,
        413,
        "The request body is larger than the API accepts (64 KiB).",
    ),
    (112, 404, "No API method has that name."),
    (113, 405, "API methods are called with POST."),
    (
        201,
        404,
        "The folder does not exist, is deleted, or the caller may not see it (no Show permission).",
    ),
    (
        202,
        404,
        "The file does not exist, is deleted, or the caller may not read its folder.",
    ),
    (203, 404, "The user group does not exist."),
    (
        204,
        409,
        "A file with that name exists and the upload asked not to overwrite (overwrite=false).",
    ),
    (
        205,
        400,
        "The uploaded bytes do not match Content-Length or the declared SHA-256; nothing was stored.",
    ),
    (206, 507, "No space left on the server; nothing was stored."),
    (
        207,
        409,
        "The folder is not empty (file protocols remove empty folders only).",
    ),
    (
        208,
        404,
        "SaveFolderMetadata or SaveFileMetadata names a metadata item the folder or file does not have (create it first).",
    ),
    (
        209,
        507,
        "The upload would take its user past their storage quota (every version they uploaded counts, in whole 4 KiB blocks and one at least, a deleted file's until its content is purged); nothing was stored.",
    ),
    (
        120,
        503,
        "The metadata store or the content store (a bucket) cannot be reached, or too many sign-ins wait for a password-hashing slot from this address; retry later (see Retry-After).",
    ),
    (
        121,
        429,
        "Too many uploads at once for this user on this server (uploads_per_user, 128 by default, every protocol together); let one finish, then retry (see Retry-After). Nothing was stored.",
    ),
    (
        130,
        401,
        "The single sign-on ticket was refused: malformed, altered, sealed under another password, for another site, outside its time window, or naming no active user. Deliberately one answer.",
    ),
    (
        131,
        403,
        "Ticket sign-in is not configured on this server (no SSO site name and password).",
    ),
    (
        132,
        409,
        "More than one user has the e-mail address the call names.",
    ),
    (
        140,
        403,
        "A browser-tool link's token was refused, for whatever reason (deliberately one answer; see docs/upload-tool.md).",
    ),
    (
        141,
        403,
        "A browser-tool page's grant is unknown, expired, used from another address, or its session ended.",
    ),
    (
        142,
        403,
        "The browser-tool page does not accept this file (file count reached, or a filtered type).",
    ),
    (
        150,
        401,
        "The account has a second factor: sign in with the passcode parameter as well (six digits from the authenticator app, or a recovery code). Counted by the lock-out.",
    ),
    (
        151,
        401,
        "The passcode or recovery code is wrong, malformed or already used (a passcode works once). Counted by the lock-out.",
    ),
    (
        152,
        403,
        "Two-step sign-in is not available on this server (no [totp] key configured).",
    ),
    (
        153,
        403,
        "The account's role requires two-step sign-in and it has none yet: set it up in the web client first.",
    ),
    (
        90000,
        500,
        "Unexpected error; details are in the server log, never in the reply.",
    ),
];

/// Lets `schema` also be null.
fn nullable(schema: &mut Value) {
    if let Some(t) = schema.get("type").cloned() {
        schema["type"] = json!([t, "null"]);
    }
    if let Some(values) = schema.get_mut("enum").and_then(Value::as_array_mut) {
        values.push(Value::Null);
    }
}

/// The OpenAPI document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for m in methods::all() {
        let mut properties = Map::new();
        for p in m.params {
            let mut schema = p.ty.schema();
            if !p.required {
                // An optional parameter sent as null counts as absent (SOAP's nil).
                nullable(&mut schema);
            }
            schema["description"] = json!(p.description);
            properties.insert(p.name.to_string(), schema);
        }
        let required: Vec<&str> = m
            .params
            .iter()
            .filter(|p| p.required)
            .map(|p| p.name)
            .collect();
        let success = match m.returns {
            Returns::One(schema) => {
                json!({"200": {"description": schema, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}}})
            }
            Returns::Many(schema) => {
                json!({"200": {"description": format!("An array of {schema}"), "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": format!("#/components/schemas/{schema}")}}}}}})
            }
            Returns::Nothing => json!({"204": {"description": "Done."}}),
        };
        let mut responses = success.as_object().cloned().unwrap_or_default();
        responses.insert(
            "default".into(),
            json!({"description": "An error from the documented table (see the API description).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
        );
        paths.insert(
            format!("/api/v1/{}", m.name),
            json!({"post": {
                "operationId": m.name,
                "summary": m.summary,
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object",
                    "properties": properties,
                    "required": required,
                    "additionalProperties": false,
                }}}},
                "responses": responses,
            }}),
        );
    }

    paths.extend(crate::openapi_streams::paths());

    let mut description = String::from(
        "Ferry's session web service. Each method is `POST /api/v1/{Method}` with a JSON object of its parameters (names matched case-insensitively); errors answer `{\"ErrorCode\": n, \"Message\": \"...\"}`. The same methods are served on Thru's SOAP wire at `/soap` (WSDL at `/soap?wsdl`), and through them Thru's REST wire at `/REST/{version}/…` and its legacy pages (`upload.aspx`, `download.aspx`); docs/thru-compatibility.md in Ferry's repository compares every Thru wire with Ferry's.\n\n| ErrorCode | HTTP | Meaning |\n|---|---|---|\n",
    );
    for (code, status, meaning) in ERROR_CODES {
        description.push_str(&format!("| {code} | {status} | {meaning} |\n"));
    }

    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {"title": "Ferry API", "version": env!("CARGO_PKG_VERSION"), "description": description},
        "paths": paths,
        "components": {"schemas": {
            "FTHSessionData": {"type": "object", "required": ["SessionID", "UserID"], "properties": {
                "SessionID": {"type": "string", "format": "uuid", "description": "The new session; pass it to every later call."},
                "UserID": {"type": "integer", "format": "int64", "description": "The signed-in user."},
            }},
            "FTHUserData": {"type": "object", "properties": {
                "UserID": {"type": "integer", "format": "int64"},
                "Name": {"type": "string"},
                "DomainUsername": {"type": ["string", "null"]},
                "FirstName": {"type": "string"},
                "LastName": {"type": "string"},
                "Email": {"type": "string"},
                "Role": {"type": "integer", "description": "Guest 1, Recipient 2, Member 3, Manager 4, Administrator 5, System 6."},
                "Active": {"type": "boolean"},
                "Deleted": {"type": "boolean"},
                "UserSyncID": {"type": ["string", "null"]},
                "HomeFolderID": {"type": ["integer", "null"]},
                "DateCreated": {"type": "string", "format": "date-time"},
            }},
            "FTHFolderData": {"type": "object", "properties": {
                "FolderID": {"type": "integer", "format": "int64"},
                "ParentFolderID": {"type": "integer", "format": "int64", "description": "-1 for the root."},
                "Name": {"type": "string"},
                "EffectivePermission": {"type": "integer", "description": "The caller's bits: Show 1, Read 2, Create 4, Download 8, Distribute 16, Manage 32, Modify 64, Delete 128."},
                "DateCreated": {"type": "string", "format": "date-time"},
                "DateModified": {"type": "string", "format": "date-time"},
                "CreatedByUserID": {"type": "integer", "description": "-1 for the system."},
                "ModifiedByUserID": {"type": "integer", "description": "-1 for the system."},
                "IsDeleted": {"type": "boolean"},
                "FolderType": {"type": "integer", "description": "Regular 0, Root 1, UserHome 2, UserDocuments 3, UserDropBox 4, FolderRoot 5, HomeRoot 6."},
                "Description": {"type": "string"},
            }},
            "FTHPermissionListItemData": {"type": "object", "required": ["Permission"], "properties": {
                "FolderPermissionID": {"type": "integer", "description": "Ignored when setting."},
                "FolderID": {"type": "integer", "description": "Ignored when setting."},
                "Permission": {"type": "integer", "minimum": 0, "maximum": 255},
                "UserID": {"type": ["integer", "null"], "format": "int64", "minimum": MIN_INTEGER, "maximum": i64::MAX, "description": "The user granted, or -1 (also when absent or null)."},
                "UserGroupID": {"type": ["integer", "null"], "format": "int64", "minimum": MIN_INTEGER, "maximum": i64::MAX, "description": "The group granted, or -1 (also when absent or null)."},
            }},
            "FTHUserGroupData": {"type": "object", "properties": {
                "UserGroupID": {"type": "integer"},
                "Name": {"type": "string"},
            }},
            "FTHFileData": {"type": "object", "properties": {
                "FileID": {"type": "integer", "format": "int64"},
                "ParentFolderID": {"type": "integer", "format": "int64"},
                "Name": {"type": "string"},
                "Size": {"type": "integer", "format": "int64"},
                "EffectivePermission": {"type": "integer", "description": "The caller's bits on the file's folder."},
                "DateCreated": {"type": "string", "format": "date-time"},
                "DateModified": {"type": "string", "format": "date-time"},
                "CreatedByUserID": {"type": "integer"},
                "ModifiedByUserID": {"type": "integer"},
                "Version": {"type": "integer", "description": "1 for the first upload, n+1 for each upload to the same name."},
                "IsDeleted": {"type": "boolean"},
                "IsQuarantined": {"type": "boolean"},
                "IsPublished": {"type": "boolean"},
                "SHA256": {"type": "string", "description": "SHA-256 of the current version's content, lowercase hex (also the download ETag)."},
                "ClientModifiedTime": {"type": ["string", "null"], "format": "date-time", "description": "Ferry's addition: the modification time a client gave the current version (SFTP SETSTAT, FTP MFMT), which SFTP and FTP listings show; null when none was given (they show DateModified)."},
            }},
            "FTHFileVersionData": {"type": "object", "properties": {
                "FileID": {"type": "integer"},
                "Version": {"type": "integer"},
                "Size": {"type": "integer"},
                "SHA256": {"type": "string"},
                "DateCreated": {"type": "string", "format": "date-time"},
                "CreatedByUserID": {"type": "integer"},
                "ClientModifiedTime": {"type": ["string", "null"], "format": "date-time", "description": "Ferry's addition: the modification time a client gave this version, or null."},
            }},
            "FTHSearchResultData": {"type": "object", "properties": {
                "Folders": {"type": "array", "items": {"$ref": "#/components/schemas/FTHFolderData"}},
                "Files": {"type": "array", "items": {"$ref": "#/components/schemas/FTHFileData"}},
            }},
            "AuditRecord": {"type": "object", "description": "One record of the hash-chained audit trail (as `ferry audit export` writes it).", "properties": {
                "seq": {"type": "integer"}, "time": {"type": "string", "format": "date-time"}, "at_ms": {"type": "integer"},
                "operation": {"type": "string"}, "status": {"type": "string", "enum": ["Success", "Failure"]},
                "user_id": {"type": ["integer", "null"]}, "impersonator_id": {"type": ["integer", "null"]},
                "application_id": {"type": ["integer", "null"]}, "client_version": {"type": ["string", "null"]},
                "client_ip": {"type": ["string", "null"]}, "external_user": {"type": ["string", "null"]},
                "session_tag": {"type": ["string", "null"]}, "target_user_id": {"type": ["integer", "null"]},
                "folder_id": {"type": ["integer", "null"]}, "file_id": {"type": ["integer", "null"]},
                "path": {"type": ["string", "null"]}, "size": {"type": ["integer", "null"]},
                "digest": {"type": ["string", "null"]}, "detail": {"type": ["string", "null"]},
                "declared_ip": {"type": ["string", "null"], "description": "In an impersonated session, the workstation address the service declared; client_ip is where the request came from."},
                "prev_hash": {"type": "string"}, "hash": {"type": "string"},
            }},
            "FolderMetadataResult": {"type": "object", "description": "SARG 2.4.2: one metadata item of a folder.", "properties": {
                "FolderMetadataID": {"type": "integer", "format": "int64", "description": "0 for Description, which is kept with the folder."},
                "FolderID": {"type": "integer", "format": "int64"},
                "Name": {"type": "string"},
                "DataType": {"type": "integer", "description": "Always 0: text."},
                "Data": {"type": "string"},
            }},
            "FTHFileMetadataItemData": {"type": "object", "description": "SARG 2.4.4: one metadata item of a file (shared by all its versions).", "properties": {
                "FileMetadataID": {"type": "integer", "format": "int64"},
                "FileID": {"type": "integer", "format": "int64"},
                "Name": {"type": "string"},
                "DataType": {"type": "integer", "description": "Always 0: text."},
                "Data": {"type": "string"},
            }},
            "Error": {"type": "object", "required": ["ErrorCode", "Message"], "properties": {
                "ErrorCode": {"type": "integer", "enum": ERROR_CODES.iter().map(|e| e.0).collect::<Vec<_>>()},
                "Message": {"type": "string"},
            }},
        }},
    });
    // Two-step sign-in's answers (apart: one literal this size passes json!'s recursion limit).
    let schemas = &mut doc["components"]["schemas"];
    // A permission item names a user or a group, the other -1 (or absent, or null): what the
    // Service accepts, so that no schema-valid list is refused.
    let none = json!({"anyOf": [{"const": -1}, {"type": "null"}]});
    schemas["FTHPermissionListItemData"]["oneOf"] = json!([
        {"required": ["UserID"], "properties": {"UserID": {"type": "integer", "minimum": 1}, "UserGroupID": none}},
        {"required": ["UserGroupID"], "properties": {"UserGroupID": {"type": "integer", "minimum": 1}, "UserID": none}},
    ]);
    schemas["TotpEnrollment"] = json!({"type": "object", "properties": {
        "Secret": {"type": "string", "description": "The secret, base32 without padding, to type into an authenticator app."},
        "OtpAuthUrl": {"type": "string", "description": "otpauth://totp/ISSUER:USER?secret=…&issuer=… (SHA-1, 6 digits, 30 s), what a QR code carries."},
    }});
    schemas["TotpRecoveryCodes"] = json!({"type": "object", "properties": {
        "RecoveryCodes": {"type": "array", "items": {"type": "string"}, "description": "Ten single-use codes (xxxxx-xxxxx) that stand in for a passcode; shown once."},
    }});
    schemas["TotpStatus"] = json!({"type": "object", "properties": {
        "Available": {"type": "boolean"}, "Enabled": {"type": "boolean"},
        "Required": {"type": "boolean"}, "RecoveryCodesLeft": {"type": "integer"},
    }});
    schemas["FTHFolderSearchPagingData"] = json!({"type": "object", "required": ["SearchString", "RequestedStartIndex", "RequestedLength", "TotalMatchingFolders", "PageFolders"], "properties": {
        "SearchString": {"type": "string", "description": "The pattern searched for."},
        "RequestedStartIndex": {"type": "integer", "format": "int64"},
        "RequestedLength": {"type": "integer", "format": "int64"},
        "TotalMatchingFolders": {"type": "integer", "format": "int64", "description": "Folders the caller may see that match, among at most 20,000 candidates."},
        "PageFolders": {"type": "array", "items": {"$ref": "#/components/schemas/FTHFolderData"}},
    }});
    schemas["FTHFileUploadInfo"] = json!({"type": "object", "required": ["FileData", "AccessId", "BaseFileId"], "properties": {
        "FileData": {"$ref": "#/components/schemas/FTHFileData"},
        "AccessId": {"type": "string", "description": "The file's access ID, for a session-less download token's FilePublicID (43 characters, base64url)."},
        "BaseFileId": {"type": "integer", "format": "int64", "description": "The file's ID (Ferry keeps one ID through every version)."},
    }});
    schemas["FTHFolderUploadInfo"] = json!({"type": "object", "properties": {
        "FolderData": {"$ref": "#/components/schemas/FTHFolderData"},
        "AccessId": {"type": ["string", "null"], "description": "Reserved, as in Thru."},
        "Files": {"type": "array", "items": {"$ref": "#/components/schemas/FTHFileUploadInfo"}},
    }});
    schemas["FTHUploadInfo"] = json!({"type": "object", "required": ["Folders", "Files"], "properties": {
        "Folders": {"type": "array", "items": {"$ref": "#/components/schemas/FTHFolderUploadInfo"}, "description": "Always empty: Ferry answers about the one file asked for."},
        "Files": {"type": "array", "items": {"$ref": "#/components/schemas/FTHFileUploadInfo"}},
    }});
    schemas["FTHServerSettingData"] = json!({"type": "object", "description": "SARG 2.2 names this structure and publishes no fields; these are Ferry's, each a rule the server enforces.", "properties": {
        "ServerName": {"type": "string"},
        "ServerVersion": {"type": "string"},
        "ImmutableSessionHours": {"type": "integer", "description": "Hours an immutable session lives."},
        "WebSessionIdleMinutes": {"type": "integer", "description": "Minutes a web-client session lives unused."},
        "WebSessionMaxMinutes": {"type": "integer", "description": "Minutes a web-client session lives at most from its sign-in, however busy."},
        "DeletedFileRetentionHours": {"type": "integer", "description": "Hours a deleted file's content is kept before it is purged."},
        "MinPasswordLength": {"type": "integer"},
        "MaxPageSize": {"type": "integer", "description": "Most items one page of a listing or search answers."},
        "MaxMetadataItems": {"type": "integer", "description": "Most metadata items on one folder or file."},
        "MaxMetadataLength": {"type": "integer", "description": "Longest metadata value, in characters."},
        "TicketSignIn": {"type": "boolean", "description": "Whether single sign-on tickets are configured."},
        "BrowserTools": {"type": "boolean", "description": "Whether the browser upload and download tools are configured."},
        "SecondFactor": {"type": "boolean", "description": "Whether users may set up two-step sign-in."},
        "StorageQuotaBytes": {"type": "integer", "description": "The caller's storage quota in bytes, 0 for none: every version they uploaded counts, in whole 4 KiB blocks and one at least, a deleted file's until it is purged (error 209 past it)."},
    }});
    schemas["FerryServerInfo"] = json!({"type": "object", "required": ["ServerName", "ServerVersion"], "properties": {
        "ServerName": {"type": "string", "description": "Always `Ferry`."},
        "ServerVersion": {"type": "string", "description": "The server's version."},
    }});
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;
    use axum::response::IntoResponse;
    use ferry_core::Error;

    #[test]
    fn every_method_has_a_path() {
        let doc = document();
        for m in methods::all() {
            assert!(doc["paths"][format!("/api/v1/{}", m.name)]["post"].is_object());
        }
    }

    #[test]
    fn every_result_schema_is_defined() {
        let doc = document();
        for m in methods::all() {
            if let Returns::One(s) | Returns::Many(s) = m.returns {
                assert!(doc["components"]["schemas"][s].is_object(), "{s}");
            }
        }
    }

    #[test]
    fn the_error_table_matches_the_responses() {
        let samples = [
            ApiError::from(Error::SessionNotFound),
            Error::BadCredentials.into(),
            Error::LockedOut {
                retry_after_secs: 1,
            }
            .into(),
            Error::UnknownApplication.into(),
            Error::NotPermitted("x").into(),
            Error::UserNotFound.into(),
            Error::UserInactive.into(),
            Error::AlreadyExists("x".into()).into(),
            Error::invalid("x").into(),
            ApiError::BodyTooLarge(1),
            ApiError::UnknownMethod,
            ApiError::VerbNotAllowed,
            Error::FolderNotFound.into(),
            Error::FileNotFound.into(),
            Error::GroupNotFound.into(),
            Error::FileExists.into(),
            Error::ContentMismatch("length").into(),
            Error::StorageFull.into(),
            Error::FolderNotEmpty.into(),
            Error::MetadataItemNotFound.into(),
            Error::OverQuota {
                quota: "1 MiB".into(),
                stored: "1 MiB stored".into(),
            }
            .into(),
            Error::Unavailable.into(),
            Error::TooManyUploads(1).into(),
            Error::TicketRefused.into(),
            Error::TicketsNotConfigured.into(),
            Error::AmbiguousEmail.into(),
            Error::ToolTokenRefused.into(),
            Error::ToolGrantInvalid.into(),
            Error::ToolLimit("x".into()).into(),
            Error::PasscodeRequired.into(),
            Error::PasscodeRefused.into(),
            Error::SecondFactorUnavailable.into(),
            Error::SecondFactorSetupRequired.into(),
            Error::Internal("x".into()).into(),
        ];
        assert_eq!(samples.len(), ERROR_CODES.len());
        for (sample, (code, status, _)) in samples.into_iter().zip(ERROR_CODES) {
            assert_eq!(sample.code(), *code);
            assert_eq!(
                sample.into_response().status().as_u16(),
                *status,
                "code {code}"
            );
        }
    }
}
