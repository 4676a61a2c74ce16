//! Reads the complete membership of one directory group over LDAP, for directory sync
//! (`ferry sso-sync`, DESIGN.md §4).
//!
//! The adapter only reads: it binds, resolves the group's members (including nested groups and
//! posixGroup `memberUid`s), and returns them as [`DirectoryEntry`] values. It either returns
//! every member or fails, so that the Service never applies a sync computed from half a group.
//! Both Active Directory (`objectGUID`, `sAMAccountName`) and OpenLDAP (`entryUUID`, `uid`)
//! attribute sets are understood. Transport: `ldap://`, `ldaps://`, or StartTLS, verified
//! against the system roots or a given CA file.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ferry_core::service::DirectoryEntry;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry};

/// Most members read from one group tree; a guard against a runaway directory.
pub const MAX_MEMBERS: usize = 100_000;
/// Deepest group nesting followed.
pub const MAX_NESTING: usize = 16;

/// Where and how to read the group.
#[derive(Clone)]
pub struct LdapSource {
    /// `ldap://host:port` or `ldaps://host:port`.
    pub url: String,
    /// DN to bind as.
    pub bind_dn: String,
    /// Its password.
    pub bind_password: String,
    /// Members outside this subtree are ignored; `memberUid` look-ups search here.
    pub base_dn: String,
    /// The group whose members are Ferry's directory users.
    pub group_dn: String,
    /// Upgrade `ldap://` with StartTLS.
    pub starttls: bool,
    /// PEM file of the CA that signed the server's certificate (default: the system roots).
    pub ca_file: Option<PathBuf>,
    /// Connect and per-operation timeout.
    pub timeout: Duration,
}

impl std::fmt::Debug for LdapSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapSource")
            .field("url", &self.url)
            .field("bind_dn", &self.bind_dn)
            .field("bind_password", &"<redacted>")
            .field("base_dn", &self.base_dn)
            .field("group_dn", &self.group_dn)
            .field("starttls", &self.starttls)
            .finish_non_exhaustive()
    }
}

/// Why the group could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LdapError {
    /// Connecting, TLS, binding or searching failed. (Not marked as the error's source: its
    /// text already says everything, and a chain would repeat it.)
    #[error("LDAP: {0}")]
    Ldap(ldap3::LdapError),
    /// The CA file could not be read or holds no certificate.
    #[error("CA file: {0}")]
    CaFile(String),
    /// The group DN names no entry.
    #[error("the group {0} does not exist")]
    NoSuchGroup(String),
    /// More than [`MAX_MEMBERS`] members.
    #[error("the group has more than {MAX_MEMBERS} members")]
    TooManyMembers,
}

impl From<ldap3::LdapError> for LdapError {
    fn from(e: ldap3::LdapError) -> Self {
        LdapError::Ldap(e)
    }
}

const GROUP_CLASSES: [&str; 4] = ["group", "groupofnames", "groupofuniquenames", "posixgroup"];
const ATTRS: [&str; 13] = [
    "objectClass",
    "objectGUID",
    "entryUUID",
    "sAMAccountName",
    "uid",
    "mail",
    "givenName",
    "sn",
    "member",
    "uniqueMember",
    "memberUid",
    "userAccountControl",
    "cn",
];

impl LdapSource {
    /// Reads every member of the group, following nested groups.
    pub async fn read_members(&self) -> Result<Vec<DirectoryEntry>, LdapError> {
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(self.timeout)
            .set_starttls(self.starttls && self.url.starts_with("ldap://"));
        if let Some(path) = &self.ca_file {
            settings = settings.set_config(Arc::new(client_config(path)?));
        }
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &self.url).await?;
        ldap3::drive!(conn);
        ldap.with_timeout(self.timeout)
            .simple_bind(&self.bind_dn, &self.bind_password)
            .await?
            .success()?;
        let result = self.walk(&mut ldap).await;
        let _ = ldap.unbind().await;
        result
    }

    async fn walk(&self, ldap: &mut Ldap) -> Result<Vec<DirectoryEntry>, LdapError> {
        let group = self
            .read_entry(ldap, &self.group_dn)
            .await?
            .ok_or_else(|| LdapError::NoSuchGroup(self.group_dn.clone()))?;
        let mut members = Vec::new();
        let mut visited = HashSet::from([normalise_dn(&group.dn)]);
        // Groups still to expand, with their nesting depth.
        let mut groups = vec![(group, 0usize)];
        while let Some((group, depth)) = groups.pop() {
            let mut member_dns: Vec<String> = ["member", "uniqueMember"]
                .iter()
                .flat_map(|a| attr_values(&group, a))
                .collect();
            for uid in attr_values(&group, "memberUid") {
                let filter = format!("(uid={})", ldap3::ldap_escape(uid.as_str()));
                let (rows, _) = ldap
                    .with_timeout(self.timeout)
                    .search(&self.base_dn, Scope::Subtree, &filter, vec!["1.1"])
                    .await?
                    .success()?;
                member_dns.extend(rows.into_iter().map(|r| SearchEntry::construct(r).dn));
            }
            for dn in member_dns {
                if !visited.insert(normalise_dn(&dn)) {
                    continue;
                }
                if !within(&dn, &self.base_dn) {
                    tracing::warn!(%dn, "group member outside the base DN ignored");
                    continue;
                }
                let Some(entry) = self.read_entry(ldap, &dn).await? else {
                    tracing::warn!(%dn, "group member names no entry; ignored");
                    continue;
                };
                if is_group(&entry) {
                    if depth + 1 < MAX_NESTING {
                        groups.push((entry, depth + 1));
                    } else {
                        tracing::warn!(%dn, "group nested too deeply; ignored");
                    }
                    continue;
                }
                match person(&entry) {
                    Some(p) => members.push(p),
                    None => tracing::warn!(%dn, "member without a GUID or account name; ignored"),
                }
                if members.len() > MAX_MEMBERS {
                    return Err(LdapError::TooManyMembers);
                }
            }
        }
        Ok(members)
    }

    async fn read_entry(
        &self,
        ldap: &mut Ldap,
        dn: &str,
    ) -> Result<Option<SearchEntry>, LdapError> {
        match ldap
            .with_timeout(self.timeout)
            .search(dn, Scope::Base, "(objectClass=*)", ATTRS.to_vec())
            .await?
            .success()
        {
            Ok((mut rows, _)) => Ok(rows.pop().map(SearchEntry::construct)),
            // noSuchObject
            Err(ldap3::LdapError::LdapResult { result }) if result.rc == 32 => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// A TLS configuration trusting exactly the certificates of `path`.
fn client_config(path: &std::path::Path) -> Result<rustls::ClientConfig, LdapError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| LdapError::CaFile(format!("{}: {e}", path.display())))?;
    for cert in certs {
        let cert = cert.map_err(|e| LdapError::CaFile(format!("{}: {e}", path.display())))?;
        roots
            .add(cert)
            .map_err(|e| LdapError::CaFile(format!("{}: {e}", path.display())))?;
    }
    if roots.is_empty() {
        return Err(LdapError::CaFile(format!(
            "{}: no certificate found",
            path.display()
        )));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LdapError::CaFile(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn attr_values(entry: &SearchEntry, name: &str) -> Vec<String> {
    entry
        .attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn first(entry: &SearchEntry, name: &str) -> Option<String> {
    attr_values(entry, name)
        .into_iter()
        .next()
        .map(|v| v.trim().to_string())
}

fn is_group(entry: &SearchEntry) -> bool {
    attr_values(entry, "objectClass")
        .iter()
        .any(|c| GROUP_CLASSES.contains(&c.to_ascii_lowercase().as_str()))
}

/// A person entry as Ferry sees it; `None` without a GUID or an account name.
fn person(entry: &SearchEntry) -> Option<DirectoryEntry> {
    let guid = entry
        .bin_attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("objectGUID"))
        .and_then(|(_, v)| v.first())
        .and_then(|raw| ad_guid(raw))
        .or_else(|| {
            // objectGUID may also arrive as text if the server returned it as such.
            attr_values(entry, "objectGUID")
                .first()
                .and_then(|s| ad_guid(s.as_bytes()))
        })
        .or_else(|| first(entry, "entryUUID").map(|s| s.to_ascii_lowercase()))?;
    let account = first(entry, "sAMAccountName").or_else(|| first(entry, "uid"))?;
    Some(DirectoryEntry {
        sync_id: guid,
        account,
        email: first(entry, "mail").unwrap_or_default(),
        first_name: first(entry, "givenName").unwrap_or_default(),
        last_name: first(entry, "sn").unwrap_or_default(),
    })
}

/// Active Directory's binary objectGUID as the usual text form: the first three fields are
/// little-endian on the wire.
fn ad_guid(raw: &[u8]) -> Option<String> {
    let b: [u8; 16] = raw.try_into().ok()?;
    Some(format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3],
        b[2],
        b[1],
        b[0],
        b[5],
        b[4],
        b[7],
        b[6],
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    ))
}

/// A DN in the form used to compare: lowercase, no spaces around separators.
fn normalise_dn(dn: &str) -> String {
    dn.split(',')
        .map(|rdn| rdn.split('=').map(str::trim).collect::<Vec<_>>().join("="))
        .collect::<Vec<_>>()
        .join(",")
        .to_lowercase()
}

/// Whether `dn` lies in the subtree `base`.
fn within(dn: &str, base: &str) -> bool {
    let (dn, base) = (normalise_dn(dn), normalise_dn(base));
    dn == base || dn.ends_with(&format!(",{base}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ad_guid_follows_microsofts_byte_order() {
        let raw = [
            0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
            0xee, 0xff,
        ];
        assert_eq!(
            ad_guid(&raw).unwrap(),
            "00112233-4455-6677-8899-aabbccddeeff"
        );
        assert!(ad_guid(&raw[..15]).is_none());
    }

    #[test]
    fn subtree_membership_ignores_case_and_spacing() {
        assert!(within(
            "uid=ann, ou=People,DC=Example,dc=com",
            "dc=example,dc=com"
        ));
        assert!(within("dc=example,dc=com", "dc=example, dc=com"));
        assert!(!within(
            "uid=ann,dc=evil-example,dc=com",
            "dc=example,dc=com"
        ));
        assert!(!within("uid=ann,dc=notexample,dc=com", "dc=example,dc=com"));
    }
}
