//! `GET /api/v1/folders/{folderID}/zip`: a folder and the subfolders the caller may read,
//! streamed as a ZIP archive (async_zip: entries written as they are read, with data
//! descriptors and ZIP64 when needed, so neither the files nor the archive are ever held in
//! memory). Entries are stored, not compressed: transfer files are mostly compressed already,
//! and it keeps the server's CPU for the network. Each file's download is audited before its
//! bytes go out, like any other download.

use async_zip::base::write::ZipFileWriter;
use async_zip::{Compression, ZipEntryBuilder};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use ferry_core::service::ArchiveContents;
use ferry_core::{Error, Result};
use futures_lite::StreamExt;
use tokio::io::AsyncReadExt;
use tokio_util::compat::TokioAsyncReadCompatExt;

use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::router::AppState;
use crate::server::ClientAddr;
use crate::transfer::{SESSION_HEADER, content_disposition, session_from};
use crate::zip_names::EntryNames;

/// The pipe between the archive writer and the response body.
const PIPE: usize = 256 * 1024;

/// The route handler.
pub async fn folder_zip(
    State(state): State<AppState>,
    client: ClientAddr,
    ApiPath(folder): ApiPath<String>,
    headers: HeaderMap,
) -> Response {
    let session = headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok());
    match start(state, client, &folder, session).await {
        Ok(response) => response,
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The folder `folder` (an ID, as text) and its subfolders as a ZIP, in the session `session`
/// (also Thru's `download.aspx?folderid=…&sessionid=…`).
pub(crate) async fn start(
    state: AppState,
    client: ClientAddr,
    folder: &str,
    session: Option<&str>,
) -> Result<Response> {
    let svc = state.service;
    let ctx = session_from(&svc, session, client).await?;
    let folder: i64 = folder
        .parse()
        .map_err(|_| Error::invalid("folderID must be an integer"))?;
    let root = svc.archive_root(&ctx, folder).await?;
    let archive_name = if root.name().is_empty() {
        "root".to_string()
    } else {
        root.name().to_string()
    };
    let mut contents = ArchiveContents::new();
    contents.add_folder(root, String::new());
    Ok(stream_zip(svc, ctx, contents, &archive_name))
}

/// `contents` streamed as `{archive_name}.zip`, read as the archive is written, every file's
/// download audited in `ctx` before its bytes go out; a file that can no longer be downloaded
/// is left out. Also the browser download tool's "Download all".
pub(crate) fn stream_zip(
    svc: std::sync::Arc<ferry_core::Service>,
    ctx: ferry_core::service::SessionContext,
    contents: ArchiveContents,
    archive_name: &str,
) -> Response {
    // Started when the body is first read, not before: a `HEAD` (which never reads it)
    // opens nothing and records no download.
    let archive = futures_lite::stream::once_future(async move {
        let (writer, reader) = tokio::io::duplex(PIPE);
        tokio::spawn(write_zip(svc, ctx, contents, writer));
        tokio_util::io::ReaderStream::with_capacity(reader, PIPE)
    })
    .flatten();
    let mut response = Response::new(Body::from_stream(archive));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&format!("{archive_name}.zip"))) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// Writes `contents` as a ZIP archive into `writer`, each file's download audited in `ctx`
/// before its bytes go out ([`stream_zip`]).
async fn write_zip(
    svc: std::sync::Arc<ferry_core::Service>,
    ctx: ferry_core::service::SessionContext,
    mut contents: ArchiveContents,
    writer: tokio::io::DuplexStream,
) {
    let mut zip = ZipFileWriter::with_tokio(writer);
    let mut names = EntryNames::default();
    loop {
        let (path, file) = match contents.next(&svc, &ctx).await {
            Ok(Some(entry)) => entry,
            Ok(None) => break,
            Err(e) => {
                // Not closed: the client sees an archive cut short, not a complete one.
                tracing::warn!(error = %e, "ZIP stream ended early: its listing failed");
                return;
            }
        };
        // A file deleted or made unreadable since the listing is left out.
        let dl = match svc.download(&ctx, file.id, None).await {
            Ok(dl) => dl,
            Err(e) => {
                tracing::info!(file = file.id, error = %e, "file left out of a ZIP");
                continue;
            }
        };
        let entry = ZipEntryBuilder::new(names.entry(&path).into(), Compression::Stored);
        let written = async {
            let mut sink = zip.write_entry_stream(entry).await?;
            let mut source = dl.reader.take(dl.length).compat();
            futures_lite::io::copy(&mut source, &mut sink).await?;
            sink.close().await
        }
        .await;
        if let Err(e) = written {
            // The client went away or the content failed: the archive ends here.
            tracing::info!(error = %e, "ZIP stream ended early");
            return;
        }
    }
    if let Err(e) = zip.close().await {
        tracing::info!(error = %e, "ZIP stream ended early");
    }
}
