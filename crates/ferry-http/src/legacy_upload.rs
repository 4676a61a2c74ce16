//! `POST /upload.aspx`: SARG 2.6.2's basic upload, a `multipart/form-data` form with the file
//! parts and the fields `filename{N}`, `Description{N}`, `SessionID`, `folderID`,
//! `EntityCount`, `overwrite` and `NoRedirect` (field names compared case-insensitively and
//! trimmed, since SARG's sample writes `" SessionID"`). Each file part streams into the
//! Service's upload as it arrives, never buffered whole; the files are committed only once
//! the whole body has been read, so a body cut half-way, a part missing, or a field that
//! comes too late stores nothing.
//!
//! The session and folder must be known before the first file's bytes arrive: in the query
//! string (`upload.aspx?SessionID=…&folderID=…`) or in fields ahead of the file. Ferry never
//! writes bytes of a request it has not authenticated; SARG's sample form, which lists the
//! file first, is answered with a 400 saying so (docs/thru-compatibility.md).
//!
//! The answer: 200 with the stored files as `FTHFileData` and an empty `X-FTH-Error` header
//! (Thru's upload answers signal success so); a refusal has the status and body of the JSON
//! API and `X-FTH-Error: {code} / {message}`.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use ferry_core::service::{FileView, SessionContext, Upload, UploadRequest};
use ferry_core::{Error, Result, Service};

use crate::error::ApiError;
use crate::multipart_bound::HeadTooLong;
use crate::router::AppState;
use crate::server::ClientAddr;
use crate::wire::FthFileData;

/// Most files in one form.
const MAX_FILES: usize = 100;
/// Most text fields in one form, and the longest one.
const MAX_FIELDS: usize = 64;
const MAX_FIELD_BYTES: usize = 4096;

/// Thru's upload answer header: empty on success, `code / message` on failure.
static X_FTH_ERROR: HeaderName = HeaderName::from_static("x-fth-error");

/// The form's text fields (and the query's), names lower-cased and trimmed.
#[derive(Default)]
struct Params {
    values: Vec<(String, String)>,
    /// Names read by a file part already: a later field of that name came too late.
    used: Vec<String>,
}

impl Params {
    fn add(&mut self, name: &str, value: String) -> Result<()> {
        let name = name.trim().to_ascii_lowercase();
        if self.used.contains(&name) {
            return Err(Error::invalid(format!(
                "field {name} must come before the file it applies to"
            )));
        }
        if self.values.iter().any(|(n, _)| *n == name) {
            return Err(Error::invalid(format!(
                "field {name} is given more than once"
            )));
        }
        if self.values.len() >= MAX_FIELDS {
            return Err(Error::invalid(format!("more than {MAX_FIELDS} fields")));
        }
        self.values.push((name, value));
        Ok(())
    }

    /// The field `name`, marking it as read by a file part.
    fn take(&mut self, name: &str) -> Option<String> {
        self.used.push(name.to_string());
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim().to_string())
    }
}

/// `POST /upload.aspx`.
pub async fn upload_aspx(
    State(state): State<AppState>,
    client: ClientAddr,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok());
    let Some(boundary) = boundary else {
        crate::drain::discard(body).await;
        return refused(Error::invalid(
            "upload.aspx takes a multipart/form-data body",
        ));
    };
    // Bounded where multer would hold a preamble or a part's headers whole (`multipart_bound.rs`).
    let bounded = crate::multipart_bound::HeadBound::new(body.into_data_stream(), &boundary);
    let mut form = multer::Multipart::new(bounded, boundary);
    match receive(&state.service, client, query.as_deref(), &mut form).await {
        Ok(views) => {
            let list: Vec<FthFileData> = views.into_iter().map(Into::into).collect();
            let mut response = axum::Json(list).into_response();
            response
                .headers_mut()
                .insert(X_FTH_ERROR.clone(), HeaderValue::from_static(""));
            response
        }
        Err(e) => {
            discard_rest(form).await;
            refused(e)
        }
    }
}

fn refused(e: Error) -> Response {
    let line = format!("{} / {}", e.code(), e);
    let mut response = ApiError::from(e).into_response();
    if let Ok(v) = HeaderValue::from_str(&line.replace(['\r', '\n'], " ")) {
        response.headers_mut().insert(X_FTH_ERROR.clone(), v);
    }
    response
}

/// Reads the whole form, staging each file as it streams; commits them all at the end.
async fn receive(
    svc: &Service,
    client: ClientAddr,
    query: Option<&str>,
    form: &mut multer::Multipart<'static>,
) -> Result<Vec<FileView>> {
    let mut params = Params::default();
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        params.add(&name, value.into_owned())?;
    }
    let mut ctx: Option<SessionContext> = None;
    let mut staged: Vec<(Upload, UploadRequest)> = Vec::new();
    let result = async {
        while let Some(mut field) = form.next_field().await.map_err(malformed)? {
            let name = field.name().unwrap_or("").trim().to_ascii_lowercase();
            let is_file = field.file_name().is_some() || name == "file";
            if !is_file {
                let mut value = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(malformed)? {
                    if value.len() + chunk.len() > MAX_FIELD_BYTES {
                        return Err(Error::invalid(format!(
                            "field {name} is longer than {MAX_FIELD_BYTES} bytes"
                        )));
                    }
                    value.extend_from_slice(&chunk);
                }
                let value = String::from_utf8(value)
                    .map_err(|_| Error::invalid(format!("field {name} is not UTF-8")))?;
                params.add(&name, value)?;
                continue;
            }
            let index = staged.len();
            if index >= MAX_FILES {
                return Err(Error::invalid(format!("more than {MAX_FILES} files")));
            }
            if ctx.is_none() {
                let session = params.take("sessionid");
                ctx = Some(session_of(svc, session.as_deref(), &client).await?);
            }
            let ctx = ctx.as_ref().expect("set above");
            let req = UploadRequest {
                folder_id: whole(params.take("folderid"), "folderID")?
                    .ok_or_else(|| Error::invalid("folderID must come before the file"))?,
                name: match params.take(&format!("filename{index}")) {
                    Some(n) if !n.is_empty() => n,
                    _ => part_name(field.file_name())?,
                },
                overwrite: overwrite(params.take("overwrite"))?,
                rename_if_taken: false,
                expected_size: None,
                expected_sha256: None,
                external_user: None,
            };
            let mut upload = svc.begin_upload(ctx, req.clone()).await?;
            let streamed = async {
                while let Some(chunk) = field.chunk().await.map_err(malformed)? {
                    upload.write(&chunk).await?;
                }
                Ok(())
            }
            .await;
            if let Err(e) = streamed {
                svc.audit_failed_upload(ctx, &req, &e).await;
                return Err(e);
            }
            staged.push((upload, req));
        }
        if staged.is_empty() {
            return Err(Error::invalid("the form has no file part"));
        }
        if let Some(count) = whole(params.take("entitycount"), "EntityCount")?
            && count != staged.len() as i64
        {
            return Err(Error::invalid(format!(
                "EntityCount says {count} files, the form has {}",
                staged.len()
            )));
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        // The staged bytes go with their uploads; each refused file is audited.
        let reqs: Vec<UploadRequest> = staged.drain(..).map(|(_, req)| req).collect();
        if let Some(ctx) = &ctx {
            for req in &reqs {
                svc.audit_failed_upload(ctx, req, &e).await;
            }
        }
        return Err(e);
    }
    let ctx = ctx.expect("a file was staged");
    let mut views = Vec::with_capacity(staged.len());
    for (upload, req) in staged {
        match svc.finish_upload(upload).await {
            Ok(view) => views.push(view),
            Err(e) => {
                svc.audit_failed_upload(&ctx, &req, &e).await;
                return Err(e);
            }
        }
    }
    Ok(views)
}

async fn session_of(
    svc: &Service,
    raw: Option<&str>,
    client: &ClientAddr,
) -> Result<SessionContext> {
    match raw {
        Some(raw) if !raw.is_empty() => {
            crate::transfer::session_from(svc, Some(raw), *client).await
        }
        _ => Err(Error::invalid(
            "SessionID must come before the file (in the query string or an earlier field)",
        )),
    }
}

fn whole(value: Option<String>, what: &str) -> Result<Option<i64>> {
    value
        .map(|v| {
            v.parse()
                .map_err(|_| Error::invalid(format!("{what} must be an integer")))
        })
        .transpose()
}

fn overwrite(value: Option<String>) -> Result<bool> {
    match value.as_deref() {
        None | Some("") | Some("1") | Some("true") => Ok(true),
        Some("0") | Some("false") => Ok(false),
        Some(_) => Err(Error::invalid("overwrite must be 1 or 0")),
    }
}

/// The name a file part carries: its last path component (old browsers send the whole
/// client-side path), checked by the Service like any name.
fn part_name(file_name: Option<&str>) -> Result<String> {
    let name = file_name
        .unwrap_or("")
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .to_string();
    if name.is_empty() {
        return Err(Error::invalid(
            "the file part has no name: give filename0 (or the part's filename)",
        ));
    }
    Ok(name)
}

fn malformed(e: multer::Error) -> Error {
    match e {
        multer::Error::StreamReadFailed(e) => match e.downcast_ref::<HeadTooLong>() {
            Some(too_long) => Error::invalid(too_long.to_string()),
            None => Error::invalid("the upload was interrupted"),
        },
        _ => Error::invalid("the multipart body is malformed or cut short"),
    }
}

/// Reads and drops what is left of the form (bounded as [`crate::drain`] bounds it), so that
/// the client reads the refusal instead of a reset; a form not read to its clean end is held
/// as [`crate::drain::hold`] holds a body.
async fn discard_rest(mut form: multer::Multipart<'static>) {
    let ended = tokio::time::timeout(crate::drain::DRAIN_TIME, async {
        let mut seen = 0u64;
        loop {
            match form.next_field().await {
                Ok(Some(mut field)) => {
                    while let Ok(Some(chunk)) = field.chunk().await {
                        seen += chunk.len() as u64;
                        if seen > crate::drain::DRAIN_LIMIT {
                            return false;
                        }
                    }
                }
                Ok(None) => return true,
                Err(_) => return false,
            }
        }
    })
    .await
    .unwrap_or(false);
    if !ended {
        crate::drain::hold(form);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_fields() {
        assert_eq!(
            part_name(Some("C:\\Users\\a\\report.pdf")).unwrap(),
            "report.pdf"
        );
        assert_eq!(part_name(Some("dir/x.txt")).unwrap(), "x.txt");
        assert!(part_name(Some("")).is_err());
        let mut p = Params::default();
        p.add(" SessionID", "s".into()).unwrap();
        assert!(p.add("sessionid", "t".into()).is_err());
        assert_eq!(p.take("sessionid").as_deref(), Some("s"));
        assert!(p.add("filename0", "late".into()).is_ok());
        p.take("filename0");
        assert!(p.add("FILENAME0", "again".into()).is_err());
        assert!(overwrite(Some("2".into())).is_err());
    }
}
