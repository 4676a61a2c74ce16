//! `GetAuditLog`: the audit trail for administrators, filtered and paged.

use ferry_core::store::AuditFilter;
use ferry_core::{Error, Result, Timestamp};
use serde_json::Value;

use super::{Method, Param, ParamType, Returns, SESSION_ID, session};
use crate::args::Args;
use crate::wire::audit_record;

fn time(a: &Args, name: &str) -> Result<Option<Timestamp>> {
    match a.opt_string(name) {
        None => Ok(None),
        Some(text) => Timestamp::parse_rfc3339(&text)
            .map(Some)
            .ok_or_else(|| Error::invalid(format!("{name} must be an RFC 3339 date-time"))),
    }
}

/// The audit methods.
pub static METHODS: &[Method] = &[Method {
    name: "GetAuditLog",
    summary: "Audit records matching every given filter, newest first. Administrators and System users only.",
    params: &[
        SESSION_ID,
        Param::optional(
            "operation",
            ParamType::Text {
                required: false,
                max: 64,
            },
            "Operation name, such as SignIn, FileUploaded, FileDownloaded.",
        ),
        Param::optional(
            "userID",
            ParamType::Integer,
            "The user the operation was done as.",
        ),
        Param::optional("applicationID", ParamType::Integer, "The application."),
        Param::optional("folderID", ParamType::Integer, "The folder concerned."),
        Param::optional(
            "fromTime",
            ParamType::DateTime,
            "At or after this RFC 3339 date-time.",
        ),
        Param::optional(
            "toTime",
            ParamType::DateTime,
            "Before this RFC 3339 date-time.",
        ),
        Param::optional(
            "beforeSeq",
            ParamType::Range {
                min: 1,
                max: i64::MAX,
            },
            "Only records older than this sequence number: the last record's `seq` reads the \
             next page, steady while records are added (`skip` counts from the newest, so \
             records added between pages shift it).",
        ),
        Param::optional(
            "skip",
            ParamType::Range {
                min: 0,
                max: i64::MAX,
            },
            "Records to skip (default 0).",
        ),
        Param::optional(
            "take",
            ParamType::Range { min: 1, max: 1000 },
            "Records to return, 1 to 1000 (default 100).",
        ),
    ],
    returns: Returns::Many("AuditRecord"),
    signs_in: false,
    handler: |svc, a, caller| {
        Box::pin(async move {
            let ctx = session(&svc, &a, &caller).await?;
            let filter = AuditFilter {
                operation: a.opt_string("operation"),
                user_id: a.opt_int("userID"),
                application_id: a.opt_int("applicationID"),
                folder_id: a.opt_int("folderID"),
                file_id: None,
                from: time(&a, "fromTime")?,
                to: time(&a, "toTime")?,
                before_seq: a.opt_int("beforeSeq"),
            };
            let records = svc
                .audit_log(
                    &ctx,
                    &filter,
                    a.opt_int("skip").unwrap_or(0),
                    a.opt_int("take").unwrap_or(100),
                )
                .await?;
            Ok(Some(Value::Array(
                records.iter().map(audit_record).collect(),
            )))
        })
    },
}];
