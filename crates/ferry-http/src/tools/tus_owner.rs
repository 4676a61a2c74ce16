//! Who a tus upload belongs to. The same tus routes serve two front ends: a browser tool's
//! page (its grant, whose limits it counts in) and a person signed in to the web client (their
//! session). Both begin the upload through the Service's one upload path.

use ferry_core::Service;
use ferry_core::service::{SessionContext, ToolAccess};

/// The owner of a tus upload.
#[derive(Clone)]
pub enum Uploader {
    /// A browser tool's page.
    Tool(ToolAccess),
    /// A person signed in to the web client.
    Web(SessionContext),
}

impl Uploader {
    /// Whose uploads these are: a page may resume the uploads of its token (after a reload),
    /// a person those they started in any of their web sessions; nobody else's.
    pub fn key(&self) -> String {
        match self {
            Uploader::Tool(a) => a.token_digest.clone(),
            Uploader::Web(ctx) => format!("web-user:{}", ctx.user.id),
        }
    }

    /// The session the upload is made in.
    pub fn ctx(&self) -> &SessionContext {
        match self {
            Uploader::Tool(a) => &a.ctx,
            Uploader::Web(ctx) => ctx,
        }
    }

    /// Gives back what an upload that will not finish took from its owner's allowance.
    pub async fn release(&self, service: &Service) {
        if let Uploader::Tool(a) = self {
            service.tool_release_file(a).await;
        }
    }

    /// Where this owner's uploads live.
    pub fn prefix(&self) -> &'static str {
        match self {
            Uploader::Tool(_) => "/tools/tus/",
            Uploader::Web(_) => "/web/tus/",
        }
    }
}
