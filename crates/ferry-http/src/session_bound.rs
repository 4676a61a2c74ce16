//! A download's body bound to the session it is sent for and the rights it was sent with:
//! asked again each second ([`Service::download_may_go_on`]), and once the session has ended
//! (signed out, revoked, its user disabled) or the caller no longer holds Read and Download on
//! the file's folder, the body is broken off, so a large file stops reaching someone who may
//! no longer have it, as SFTP and FTPS transfers stop. A download that takes less than a
//! second asks nothing.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use ferry_core::Service;
use ferry_core::domain::FolderId;
use ferry_core::service::{SESSION_RECHECK, SessionContext};
use futures_lite::{Stream, StreamExt};

/// `body`'s chunks while `ctx`'s session lives and holds Read and Download on `folder`; an
/// error (the response broken off, the client seeing it incomplete) once not. A store out of
/// reach ends nothing.
pub(crate) fn session_bound<S>(
    body: S,
    svc: Arc<Service>,
    ctx: SessionContext,
    folder: FolderId,
) -> Body
where
    S: Stream<Item = std::io::Result<Bytes>> + Unpin + Send + 'static,
{
    let state = (body, svc, ctx, Instant::now(), false);
    Body::from_stream(futures_lite::stream::unfold(
        state,
        move |(mut body, svc, ctx, mut asked_at, ended)| async move {
            if ended {
                return None;
            }
            if asked_at.elapsed() >= SESSION_RECHECK {
                asked_at = Instant::now();
                match svc.download_may_go_on(&ctx, folder).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::info!(
                            "download broken off: its session ended or its grant was taken away"
                        );
                        let gone =
                            std::io::Error::other("the session ended or its grant was taken away");
                        return Some((Err(gone), (body, svc, ctx, asked_at, true)));
                    }
                    // The store is out of reach: the content is not, and the download goes
                    // on (as an SFTP or FTPS connection does); asked again in a second.
                    Err(e) => {
                        tracing::debug!(error = %e, "a download's session could not be asked")
                    }
                }
            }
            let chunk = body.next().await?;
            Some((chunk, (body, svc, ctx, asked_at, false)))
        },
    ))
}
