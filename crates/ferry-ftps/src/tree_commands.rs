//! The commands that act on the tree without a data connection: `CWD`, `SIZE`, `MDTM`, `MFMT`,
//! `MLST`, `HASH`, `DELE`, `MKD`, `RMD`, `RNFR`/`RNTO`, `SITE CHMOD`. Each resolves its path on the Service's tree in
//! the connection's session, so the permission bits and the audit are the JSON API's (the
//! mapping is in ARCHITECTURE.md).

use ferry_core::domain::FolderType;
use ferry_core::service::{FileView, TreeNode};

use crate::listing::{Entry, mdtm, parse_mdtm};
use crate::reply::Reply;
use crate::session::{ControlSession, Outcome, quote};

impl ControlSession {
    async fn node(&self, arg: &str) -> Result<(String, TreeNode), Reply> {
        let ctx = self.ctx().await?;
        let path = self.path(arg)?;
        let node = self
            .shared
            .service
            .tree_resolve(&ctx, &path)
            .await
            .map_err(|e| Reply::from_error(&e))?;
        Ok((path, node))
    }

    async fn file(&self, arg: &str) -> Result<FileView, Reply> {
        match self.node(arg).await? {
            (_, TreeNode::File(f)) => Ok(f),
            (_, TreeNode::Folder(_)) => Err(Reply::new(550, "That is a folder, not a file")),
        }
    }

    pub(crate) async fn cwd(&mut self, arg: &str) -> Outcome {
        match self.node(arg).await? {
            (path, TreeNode::Folder(_)) => {
                self.cwd = path;
                Ok(Reply::new(
                    250,
                    format!("The current folder is {}", self.cwd),
                ))
            }
            (_, TreeNode::File(_)) => Err(Reply::new(550, "That is a file, not a folder")),
        }
    }

    pub(crate) async fn size(&self, arg: &str) -> Outcome {
        let f = self.file(arg).await?;
        Ok(Reply::new(213, f.file.size.max(0).to_string()))
    }

    pub(crate) async fn mdtm(&self, arg: &str) -> Outcome {
        let f = self.file(arg).await?;
        Ok(Reply::new(213, mdtm(f.file.shown_modified_at().0)))
    }

    /// `MFMT YYYYMMDDHHMMSS[.sss] path` (draft-somers-ftp-mfxx, which WinSCP uses to keep
    /// times): the file's version takes the time, shown by `MDTM`, `MLSD` and `LIST` from then
    /// on. Needs Modify. A folder's time is accepted and not stored, as over SFTP.
    pub(crate) async fn mfmt(&self, arg: &str) -> Outcome {
        let (time, path) = arg.trim_start().split_once(' ').unwrap_or((arg, ""));
        let Some(at) = parse_mdtm(time) else {
            return Ok(Reply::new(
                501,
                "MFMT needs a time YYYYMMDDHHMMSS and a path",
            ));
        };
        if path.is_empty() {
            return Ok(Reply::new(
                501,
                "MFMT needs a time YYYYMMDDHHMMSS and a path",
            ));
        }
        let ctx = self.ctx().await?;
        if let (_, TreeNode::File(f)) = self.node(path).await? {
            self.shared
                .service
                .set_file_time(&ctx, f.file.id, ferry_core::Timestamp(at))
                .await
                .map_err(|e| Reply::from_error(&e))?;
        }
        Ok(Reply::new(213, format!("Modify={}; {path}", mdtm(at))))
    }

    pub(crate) async fn mlst(&self, arg: &str) -> Outcome {
        let (path, node) = self.node(arg).await?;
        let mut entry = Entry::node(&node);
        // MLST names the object by its full path (RFC 3659 §7.3).
        entry.name = path.clone();
        Ok(Reply::multi(
            250,
            &format!("Facts of {path}"),
            &[entry.facts_line()],
            "End",
        ))
    }

    /// `HASH` (draft-bryan-ftp-hash) or `XSHA256`: the SHA-256 Ferry recorded when the file was
    /// uploaded, so nothing is read to answer.
    pub(crate) async fn hash(&self, arg: &str, draft_form: bool) -> Outcome {
        let f = self.file(arg).await?;
        let digest = f.file.sha256.to_ascii_lowercase();
        if !draft_form {
            return Ok(Reply::new(213, digest));
        }
        let last = (f.file.size.max(1) - 1).max(0);
        Ok(Reply::new(
            213,
            format!("SHA-256 0-{last} {digest} {}", f.file.name),
        ))
    }

    pub(crate) async fn dele(&self, arg: &str) -> Outcome {
        let ctx = self.ctx().await?;
        let f = self.file(arg).await?;
        self.shared
            .service
            .delete_file(&ctx, f.file.id)
            .await
            .map_err(|e| Reply::from_error(&e))?;
        Ok(Reply::new(250, "Deleted"))
    }

    pub(crate) async fn mkd(&self, arg: &str) -> Outcome {
        let ctx = self.ctx().await?;
        let path = self.path(arg)?;
        let service = &self.shared.service;
        let (parent, name) = service
            .tree_parent(&ctx, &path)
            .await
            .map_err(|e| Reply::from_error(&e))?;
        service
            .create_folder(&ctx, parent.folder.id, &name, FolderType::Regular)
            .await
            .map_err(|e| Reply::from_error(&e))?;
        Ok(Reply::new(257, format!("{} created", quote(&path))))
    }

    pub(crate) async fn rmd(&self, arg: &str) -> Outcome {
        let ctx = self.ctx().await?;
        let path = self.path(arg)?;
        self.shared
            .service
            .tree_remove_empty_folder(&ctx, &path)
            .await
            .map_err(|e| Reply::from_error(&e))?;
        Ok(Reply::new(250, "Folder removed"))
    }

    pub(crate) async fn rnfr(&mut self, arg: &str) -> Outcome {
        let (path, _) = self.node(arg).await?;
        self.set_rename_from(path);
        Ok(Reply::new(350, "Ready for RNTO"))
    }

    pub(crate) async fn rnto(&self, from: Option<String>, arg: &str) -> Outcome {
        let from = from.ok_or_else(|| Reply::new(503, "RNFR first"))?;
        let ctx = self.ctx().await?;
        let to = self.path(arg)?;
        self.shared
            .service
            .tree_rename_replacing(&ctx, &from, &to)
            .await
            .map_err(|e| Reply::from_error(&e))?;
        Ok(Reply::new(250, "Renamed"))
    }

    /// `SITE CHMOD mode path`: accepted and ignored once the path is found (Ferry's permission
    /// bits decide what anyone may do; WinSCP and FileZilla send it after uploads and would
    /// report a failure). Other `SITE` commands are not offered.
    pub(crate) async fn site(&self, arg: &str) -> Outcome {
        let mut words = arg.trim().splitn(3, ' ');
        let command = words.next().unwrap_or_default();
        if !command.eq_ignore_ascii_case("CHMOD") {
            return Ok(Reply::new(502, "Only SITE CHMOD is accepted (and ignored)"));
        }
        let (Some(_mode), Some(path)) = (words.next(), words.next()) else {
            return Ok(Reply::new(501, "SITE CHMOD needs a mode and a path"));
        };
        self.node(path).await?;
        Ok(Reply::new(
            200,
            "CHMOD ignored: Ferry's permission bits decide",
        ))
    }
}
