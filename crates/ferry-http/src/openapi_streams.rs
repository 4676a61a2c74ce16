//! The OpenAPI description of the routes that carry file bytes rather than JSON: the upload
//! `PUT`, a file's content, a folder as ZIP, and the upload tool's tus endpoints. Their rules
//! live in `transfer.rs`, `archive.rs` and `tools/tus.rs`; this says them for clients and
//! for schemathesis, which fuzzes these routes with the methods.

use serde_json::{Map, Value, json};

/// The session header every streaming route of the API takes.
fn session_header() -> Value {
    json!({"name": "X-Session-ID", "in": "header", "required": true, "description": "A live session, from an Open call.", "schema": {"type": "string", "format": "uuid"}})
}

/// An integer ID in the path.
fn id_in_path(name: &str, what: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": what, "schema": {"type": "integer", "format": "int64"}})
}

/// The answer of a refusal: the API's error object.
fn error() -> Value {
    json!({"description": "An error from the documented table (see the API description).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// The streaming routes, by path.
pub fn paths() -> Map<String, Value> {
    let mut paths = Map::new();
    paths.insert(
        "/api/v1/folders/{folder_id}/files/{name}".into(),
        json!({"put": {
            "operationId": "UploadFile",
            "summary": "Uploads the request body as the file `name` in the folder: a new file (Create), or the next version of the file with that name (Modify). Streamed to the server's staging and committed only when complete; nothing is visible before. Send `Expect: 100-continue` (curl does over HTTP/1.1) to hear a refusal (session, folder, permission, name) before sending any of the body; over HTTP/1.1 the connection then closes. A refused body over 8 MiB is not read past that: the answer comes, and the server stops reading the rest.",
            "parameters": [
                id_in_path("folder_id", "The folder's ID."),
                {"name": "name", "in": "path", "required": true, "description": "The file's name (percent-encoded): at most 255 bytes of UTF-8; no control characters, / or \\; not . or ..; no leading or trailing space, no trailing dot.", "schema": {"type": "string", "minLength": 1}},
                session_header(),
                {"name": "overwrite", "in": "query", "required": false, "description": "false: refuse an existing name (error 204) instead of making a new version. Default true.", "schema": {"type": "string", "enum": ["true", "false"]}},
                {"name": "X-Content-SHA256", "in": "header", "required": false, "description": "The content's SHA-256 (64 hex digits); a mismatch stores nothing (error 205). RFC 3230 `Digest: SHA-256=<base64>` is read too.", "schema": {"type": "string", "pattern": "^[0-9A-Fa-f]{64}$"}},
            ],
            "requestBody": {"required": true, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
            "responses": {
                "200": {"description": "Stored: the file as it now is.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FTHFileData"}}}},
                "default": error(),
            },
        }}),
    );
    paths.insert(
        "/api/v1/files/{file_id}/content".into(),
        json!({"get": {
            "operationId": "DownloadFile",
            "summary": "The current version's bytes (Read and Download on the folder). Audited before the first byte. `ETag` is the SHA-256; `Range` (one range) and `If-None-Match` are honoured.",
            "parameters": [
                id_in_path("file_id", "The file's ID."),
                session_header(),
                {"name": "Range", "in": "header", "required": false, "description": "One byte range, `bytes=first-last`, `bytes=first-` or `bytes=-suffix`; anything else is ignored (the whole file).", "schema": {"type": "string"}},
                {"name": "If-None-Match", "in": "header", "required": false, "description": "An ETag from an earlier download: 304 if the content has not changed.", "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {"description": "The whole file.", "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                "206": {"description": "The range asked for.", "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                "304": {"description": "Not modified."},
                "416": {"description": "The range is not satisfiable."},
                "default": error(),
            },
        }}),
    );
    paths.insert(
        "/api/v1/folders/{folder_id}/zip".into(),
        json!({"get": {
            "operationId": "DownloadFolderZip",
            "summary": "The folder and the subfolders the caller may read, as a ZIP streamed as it is made (Read and Download on each folder). Each file's download is audited.",
            "parameters": [id_in_path("folder_id", "The folder's ID."), session_header()],
            "responses": {
                "200": {"description": "The archive.", "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}},
                "default": error(),
            },
        }}),
    );
    let grant = json!({"name": "Ferry-Grant", "in": "header", "required": true, "description": "The upload page's grant (the page has it; docs/upload-tool.md).", "schema": {"type": "string"}});
    let resumable = json!({"name": "Tus-Resumable", "in": "header", "required": true, "schema": {"type": "string", "enum": ["1.0.0"]}});
    let tus_refusal = json!({"description": "Refused. The Service's refusals (the grant: 141, the page's limits: 142, and the rest of the error table) are the API's error object; the tus protocol's own (400, 404, 409, 412 without `Tus-Resumable: 1.0.0`, 413, 415, 460) are a line of text.", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}},
        "text/plain": {"schema": {"type": "string"}},
    }});
    paths.insert(
        "/tools/tus".into(),
        json!({
            "options": {"operationId": "TusOptions", "summary": "tus 1.0 discovery: version, extensions (creation, termination, checksum), largest upload.", "responses": {"204": {"description": "The server's tus capabilities."}}},
            "post": {
                "operationId": "TusCreate",
                "summary": "Starts a resumable upload through the upload page's grant; `Upload-Metadata` carries `filename` (and an optional `relativePath` of subfolders).",
                "parameters": [grant, resumable,
                    {"name": "Upload-Length", "in": "header", "required": true, "schema": {"type": "integer", "minimum": 0}},
                    {"name": "Upload-Metadata", "in": "header", "required": true, "description": "tus metadata: comma-separated `key base64value` pairs.", "schema": {"type": "string"}}],
                "responses": {"201": {"description": "Created; `Location` is the upload's URL."}, "default": tus_refusal},
            },
        }),
    );
    paths.insert(
        "/tools/tus/{upload_id}".into(),
        json!({
            "parameters": [{"name": "upload_id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "head": {"operationId": "TusOffset", "summary": "How many bytes the server has (`Upload-Offset`).", "parameters": [grant, resumable], "responses": {"200": {"description": "`Upload-Offset` and `Upload-Length`."}, "default": tus_refusal}},
            "patch": {
                "operationId": "TusAppend",
                "summary": "Appends the body at `Upload-Offset`; the request that reaches `Upload-Length` commits the file as an upload does. `Upload-Checksum: sha256 <base64>` is verified; a chunk that fails it is taken back.",
                "parameters": [grant, resumable,
                    {"name": "Upload-Offset", "in": "header", "required": true, "schema": {"type": "integer", "minimum": 0}},
                    {"name": "Upload-Checksum", "in": "header", "required": false, "schema": {"type": "string"}}],
                "requestBody": {"required": true, "content": {"application/offset+octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                "responses": {"204": {"description": "Taken; `Upload-Offset` is the new offset."}, "default": tus_refusal},
            },
            "delete": {"operationId": "TusTerminate", "summary": "Abandons the upload; nothing is stored.", "parameters": [grant, resumable], "responses": {"204": {"description": "Abandoned."}, "default": tus_refusal}},
        }),
    );
    paths
}
