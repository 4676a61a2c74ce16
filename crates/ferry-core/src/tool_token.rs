//! The plaintext of a browser-tool token (spec 004, DESIGN.md §4): a JSON object naming the
//! folder (upload tool) or files (download tool), the e-mail to audit, the address allowed to
//! use it, when it was made, and the session it acts for. A download token without a session
//! (SARG 2.7.2.2's) names its files by access ID instead, which names the user it acts for.
//!
//! Reading is strict where it matters (every required field present, of a sane size, no
//! duplicate keys, the address and the session well-formed) and lenient where integrations
//! differ (numbers or strings for IDs and the version, unknown fields ignored, a UTF-8 byte
//! order mark). Failures carry a reason for the log only.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::domain::{FileId, FolderId, SessionId};
use crate::ticket::{format_ticket_time, parse_ticket_time};
use ferry_crypto::access_id::looks_like_access_id;

/// Longest `Email` accepted.
pub const MAX_EMAIL_CHARS: usize = 254;
/// The longest a shared link (a token with `ExpiresAt`) may last, in days.
pub const MAX_LINK_DAYS: i64 = 90;
/// Most files one download token may name.
pub const MAX_TOKEN_FILES: usize = 100;

/// What a token opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolTarget {
    /// The upload tool, into this folder (`FolderID`).
    Folder(FolderId),
    /// The download tool, for these files (`FilePublicID`, one ID or several separated by
    /// commas).
    Files(Vec<FileId>),
    /// The download tool, for the files these access IDs name (`FilePublicID` of a token
    /// without `Session`, SARG 2.7.2.2's): checked and turned into [`ToolTarget::Files`] by the
    /// Service, which holds the key they are made with.
    AccessIds(Vec<String>),
}

/// A token's claims, well-formed but not yet checked against the server's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolClaims {
    /// `Version`: 1 or 2.
    pub version: u8,
    /// `FolderID` or `FilePublicID`.
    pub target: ToolTarget,
    /// `Email`, recorded as the external user of what is done through the page.
    pub email: Option<String>,
    /// `AllowedIP`, canonical (an IPv4-mapped IPv6 address reads as IPv4); `None` (`"*"`)
    /// for a link a person shared, which any address may open: only in a version-2 token that
    /// ends (`ExpiresAt`).
    pub allowed_ip: Option<IpAddr>,
    /// `TimeStamp`, UTC.
    pub issued_at: Timestamp,
    /// `ExpiresAt` (version 2 only): a shared link's end, in place of the server's short
    /// `max_age_seconds` after `TimeStamp`; at most [`MAX_LINK_DAYS`] days after it.
    pub expires_at: Option<Timestamp>,
    /// `Session`; none in a download token that names its files by access ID.
    pub session: Option<SessionId>,
}

/// The JSON as integrators write it; every value may be a string or a number.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Raw {
    version: Option<Scalar>,
    #[serde(rename = "FolderID")]
    folder_id: Option<Scalar>,
    #[serde(rename = "FilePublicID")]
    file_public_id: Option<Scalar>,
    email: Option<Scalar>,
    #[serde(rename = "AllowedIP")]
    allowed_ip: Option<Scalar>,
    time_stamp: Option<Scalar>,
    expires_at: Option<Scalar>,
    session: Option<Scalar>,
}

#[derive(Deserialize, Serialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Number(serde_json::Number),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Text(s) => s.trim().to_string(),
            Scalar::Number(n) => n.to_string(),
        }
    }
}

impl ToolClaims {
    /// Reads the decrypted plaintext. The error is a reason for the log.
    pub fn parse(plaintext: &[u8]) -> Result<ToolClaims, String> {
        let plaintext = plaintext.strip_prefix(b"\xef\xbb\xbf").unwrap_or(plaintext);
        let raw: Raw = serde_json::from_slice(plaintext)
            .map_err(|e| format!("token is not the expected JSON: {e}"))?;
        let field = |v: &Option<Scalar>, name: &str| -> Result<String, String> {
            match v.as_ref().map(Scalar::text) {
                Some(t) if !t.is_empty() && !t.chars().any(char::is_control) => Ok(t),
                _ => Err(format!("token field {name} is missing or empty")),
            }
        };
        let version = match field(&raw.version, "Version")?.as_str() {
            "1" => 1,
            "2" => 2,
            other => return Err(format!("token version {other:?} is not supported")),
        };
        let target = match (&raw.folder_id, &raw.file_public_id) {
            (Some(_), None) => ToolTarget::Folder(id(&field(&raw.folder_id, "FolderID")?)?),
            (None, Some(_)) => {
                let list = field(&raw.file_public_id, "FilePublicID")?;
                let parts: Vec<&str> = list.split(',').map(str::trim).collect();
                if parts.len() > MAX_TOKEN_FILES {
                    return Err(format!("token names more than {MAX_TOKEN_FILES} files"));
                }
                if raw.session.is_some() {
                    ToolTarget::Files(parts.iter().map(|p| id(p)).collect::<Result<_, _>>()?)
                } else {
                    // Without a session, the files are named by access ID (base64url).
                    if !parts.iter().all(|p| looks_like_access_id(p)) {
                        return Err(
                            "token FilePublicID of a token without Session must be access IDs"
                                .into(),
                        );
                    }
                    ToolTarget::AccessIds(parts.iter().map(|p| p.to_string()).collect())
                }
            }
            _ => return Err("token must name exactly one of FolderID and FilePublicID".into()),
        };
        let email = match raw.email.as_ref().map(Scalar::text) {
            None => None,
            Some(e) if e.is_empty() => None,
            Some(e) if e.chars().count() > MAX_EMAIL_CHARS || e.chars().any(char::is_control) => {
                return Err("token Email is too long or has control characters".into());
            }
            Some(e) => Some(e),
        };
        let allowed_ip = match field(&raw.allowed_ip, "AllowedIP")?.as_str() {
            "*" => None,
            ip => Some(
                ip.parse::<IpAddr>()
                    .map_err(|_| "token AllowedIP is not an IP address".to_string())?
                    .to_canonical(),
            ),
        };
        let stamp = field(&raw.time_stamp, "TimeStamp")?;
        let issued_at = parse_ticket_time(&stamp)
            .ok_or_else(|| format!("token TimeStamp {stamp:?} is not a known time format"))?;
        let expires_at = match &raw.expires_at {
            None => None,
            Some(_) if version == 1 => {
                return Err("token ExpiresAt is a version-2 field".into());
            }
            Some(_) => {
                let text = field(&raw.expires_at, "ExpiresAt")?;
                let at = Timestamp::parse_rfc3339(&text)
                    .ok_or_else(|| format!("token ExpiresAt {text:?} is not an RFC 3339 time"))?;
                if at <= issued_at || at.0 - issued_at.0 > MAX_LINK_DAYS * 86_400_000 {
                    return Err(format!(
                        "token ExpiresAt must be after TimeStamp and within {MAX_LINK_DAYS} days"
                    ));
                }
                Some(at)
            }
        };
        if allowed_ip.is_none() && expires_at.is_none() {
            return Err("token AllowedIP \"*\" needs an ExpiresAt (version 2)".into());
        }
        let session = match (&raw.session, &target) {
            (None, ToolTarget::AccessIds(_)) => None,
            _ => Some(
                SessionId::parse(&field(&raw.session, "Session")?)
                    .ok_or_else(|| "token Session is not a GUID".to_string())?,
            ),
        };
        Ok(ToolClaims {
            version,
            target,
            email,
            allowed_ip,
            issued_at,
            expires_at,
            session,
        })
    }

    /// The JSON of these claims, in the spec's field order (for `ferry token issue`).
    pub fn to_json(&self) -> String {
        let mut map = serde_json::Map::new();
        map.insert("Version".into(), self.version.to_string().into());
        match &self.target {
            ToolTarget::Folder(id) => {
                map.insert("FolderID".into(), id.to_string().into());
            }
            ToolTarget::Files(ids) => {
                let list: Vec<String> = ids.iter().map(i64::to_string).collect();
                map.insert("FilePublicID".into(), list.join(",").into());
            }
            ToolTarget::AccessIds(ids) => {
                map.insert("FilePublicID".into(), ids.join(",").into());
            }
        }
        map.insert(
            "Email".into(),
            self.email.clone().unwrap_or_default().into(),
        );
        map.insert(
            "AllowedIP".into(),
            self.allowed_ip
                .map_or_else(|| "*".to_string(), |ip| ip.to_string())
                .into(),
        );
        map.insert(
            "TimeStamp".into(),
            format_ticket_time(self.issued_at).into(),
        );
        if let Some(at) = self.expires_at {
            map.insert("ExpiresAt".into(), at.to_rfc3339().into());
        }
        if let Some(session) = &self.session {
            map.insert("Session".into(), session.to_wire().into());
        }
        serde_json::Value::Object(map).to_string()
    }
}

fn id(text: &str) -> Result<i64, String> {
    text.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("token ID {text:?} is not a positive integer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
        "Version": "1",
        "FolderID": "1056",
        "Email": "external-download-test@thru.com",
        "AllowedIP": "64.95.64.190",
        "TimeStamp": "10/04/2013 11:05:11",
        "Session": "a2a1163e-555a-469d-bfb4-4da33980409b"
    }"#;

    #[test]
    fn the_specs_sample_reads() {
        let c = ToolClaims::parse(SAMPLE.as_bytes()).unwrap();
        assert_eq!(c.version, 1);
        assert_eq!(c.target, ToolTarget::Folder(1056));
        assert_eq!(c.email.as_deref(), Some("external-download-test@thru.com"));
        assert_eq!(c.allowed_ip.unwrap().to_string(), "64.95.64.190");
        assert_eq!(format_ticket_time(c.issued_at), "10/04/2013 11:05:11");
        // And round-trips through the issuer's JSON.
        assert_eq!(ToolClaims::parse(c.to_json().as_bytes()).unwrap(), c);
    }

    #[test]
    fn lenient_where_integrations_differ() {
        let c = ToolClaims::parse(
            "\u{feff}{\"Version\":2,\"FilePublicID\":\"7, 9\",\"AllowedIP\":\"::ffff:10.0.0.1\",\
             \"TimeStamp\":\"11/22/2026 3:05 PM\",\"Session\":\"A2A1163E-555A-469D-BFB4-4DA33980409B\",\
             \"Extra\":true}"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(c.version, 2);
        assert_eq!(c.target, ToolTarget::Files(vec![7, 9]));
        assert_eq!(c.email, None);
        assert_eq!(c.allowed_ip.unwrap().to_string(), "10.0.0.1");
    }

    /// SARG 2.7.2.2's download token: no `Session`, the files by access ID.
    #[test]
    fn a_download_token_without_a_session_names_access_ids() {
        let id = "AAAAAAAAACoAAAAAAAAAB".to_string() + "xxxxxxxxxxxxxxxxxxxxxx";
        assert_eq!(id.len(), ferry_crypto::access_id::ACCESS_ID_CHARS);
        let json = |ids: &str, session: &str| {
            format!(
                "{{\"Version\":\"1\",\"FilePublicID\":\"{ids}\",\"Email\":\"x@example.com\",\
                 \"AllowedIP\":\"64.95.64.190\",\"TimeStamp\":\"10/04/2013 11:05:11\"{session}}}"
            )
        };
        let c = ToolClaims::parse(json(&format!("{id}, {id}"), "").as_bytes()).unwrap();
        assert_eq!(c.session, None);
        assert_eq!(
            c.target,
            ToolTarget::AccessIds(vec![id.clone(), id.clone()])
        );
        assert_eq!(ToolClaims::parse(c.to_json().as_bytes()).unwrap(), c);
        // A file ID needs a session; an access ID comes without one; a folder needs one.
        assert!(ToolClaims::parse(json("7", "").as_bytes()).is_err());
        let session = ",\"Session\":\"a2a1163e-555a-469d-bfb4-4da33980409b\"";
        assert!(ToolClaims::parse(json(&id, session).as_bytes()).is_err());
        assert!(ToolClaims::parse(json(&format!("{id}/"), "").as_bytes()).is_err());
        assert!(
            ToolClaims::parse(
                SAMPLE
                    .replace(
                        ",\n        \"Session\": \"a2a1163e-555a-469d-bfb4-4da33980409b\"",
                        ""
                    )
                    .as_bytes()
            )
            .is_err()
        );
    }

    #[test]
    fn strict_where_it_matters() {
        let with = |from: &str, to: &str| SAMPLE.replace(from, to);
        for bad in [
            with("\"1\",", "\"3\","),
            with("\"1056\"", "\"-4\""),
            with("\"1056\"", "\"10 56\""),
            with("64.95.64.190", "64.95.64"),
            with("64.95.64.190", ""),
            with("10/04/2013 11:05:11", "yesterday"),
            with("a2a1163e-555a-469d-bfb4-4da33980409b", "../../etc"),
            with(
                "\"Version\": \"1\",",
                "\"Version\": \"1\", \"Version\": \"2\",",
            ),
            with(
                "\"FolderID\": \"1056\",",
                "\"FolderID\": \"1\", \"FilePublicID\": \"2\",",
            ),
            with("\"FolderID\": \"1056\",", ""),
            with("thru.com", &format!("{}.com", "x".repeat(300))),
            "[1]".into(),
            "not json".into(),
            String::new(),
        ] {
            assert!(ToolClaims::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
