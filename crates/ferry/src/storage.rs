//! `[storage]`: where file content lives. The local directory under the data directory by
//! default; an S3-compatible bucket when `url` (or `FERRY_STORAGE_URL`, or `--storage-url`)
//! names one, which is what several nodes sharing one database need (docs/cluster.md).
//!
//! ```toml
//! [storage]
//! url = "s3://ferry-content/site-a?endpoint=http://10.0.0.5:9000&region=us-east-1"
//! access_key_id = "…"                 # or AWS_ACCESS_KEY_ID (and the rest of AWS's chain)
//! secret_access_key_file = "/etc/ferry/s3-secret"   # or secret_access_key, or AWS_SECRET_ACCESS_KEY
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use ferry_content_fs::LocalContentStore;
use ferry_content_s3::{S3ContentStore, S3Credentials, S3Location};
use ferry_core::content::ContentStore;
use serde::Deserialize;

/// The `[storage]` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSection {
    url: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    secret_access_key_file: Option<PathBuf>,
}

/// Where content lives, resolved.
#[derive(Debug, Clone)]
pub enum Storage {
    /// `<data_dir>/content`.
    Local,
    /// A bucket.
    S3 {
        /// The bucket, prefix and endpoint.
        location: S3Location,
        /// From the configuration file; `None` leaves it to the `AWS_*` variables.
        credentials: Option<S3Credentials>,
    },
}

impl StorageSection {
    /// Whether the secret key is written in the configuration file itself.
    pub fn inline_secret(&self) -> bool {
        self.secret_access_key.is_some()
    }
}

impl Storage {
    /// Resolves the URL (the command line or environment first, then the file) and the
    /// credentials.
    pub fn resolve(url: Option<String>, section: StorageSection) -> anyhow::Result<Storage> {
        let secret = crate::secret_setting::configured_secret(
            "storage.secret_access_key",
            &section.secret_access_key,
            &section.secret_access_key_file,
            crate::secret_setting::Cut::Whitespace,
        )?;
        let credentials = match (section.access_key_id, secret) {
            (Some(id), Some(secret)) => Some(S3Credentials {
                access_key_id: id,
                secret_access_key: secret,
            }),
            (None, None) => None,
            _ => anyhow::bail!(
                "storage.access_key_id and a secret access key go together (or set neither and \
                 use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
            ),
        };
        match url.or(section.url).filter(|u| !u.is_empty()) {
            None => {
                if credentials.is_some() {
                    anyhow::bail!("storage credentials are set but storage.url is not");
                }
                Ok(Storage::Local)
            }
            Some(u) if u.starts_with("file:") => {
                anyhow::bail!(
                    "storage.url: the local directory is the default (under data_dir); \
                     leave the URL unset for it"
                )
            }
            Some(u) => {
                let location =
                    S3Location::parse(&u).map_err(|e| anyhow::anyhow!("storage.url: {e}"))?;
                Ok(Storage::S3 {
                    location,
                    credentials,
                })
            }
        }
    }

    /// What `/admin`'s configuration page and the start-up log show: the URL, no secret.
    pub fn describe(&self) -> String {
        match self {
            Storage::Local => "local directory (data_dir/content)".into(),
            Storage::S3 { location, .. } => location.to_string(),
        }
    }

    /// Whether credentials come from the configuration file.
    pub fn credentials_in_file(&self) -> bool {
        matches!(
            self,
            Storage::S3 {
                credentials: Some(_),
                ..
            }
        )
    }

    /// Opens the store. With `probe`, a bucket is written to, read and cleaned first, so that
    /// `ferry serve` stops at start-up on wrong credentials, a missing bucket or an endpoint
    /// that is down, instead of failing its first upload.
    pub async fn open(
        &self,
        data_dir: &Path,
        probe: bool,
    ) -> anyhow::Result<Arc<dyn ContentStore>> {
        match self {
            Storage::Local => {
                let dir = data_dir.join("content");
                let store = LocalContentStore::open(&dir).await.with_context(|| {
                    format!("cannot open the content directory {}", dir.display())
                })?;
                Ok(Arc::new(store))
            }
            Storage::S3 {
                location,
                credentials,
                ..
            } => {
                let store = S3ContentStore::new(
                    location,
                    credentials.clone(),
                    data_dir.join("content-spill"),
                )
                .context("cannot configure the object store")?;
                if probe {
                    store
                        .probe()
                        .await
                        .context("the object store named by storage.url is not usable")?;
                }
                Ok(Arc::new(store))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(toml_text: &str) -> StorageSection {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn local_is_the_default_and_a_url_picks_a_bucket() {
        assert!(matches!(
            Storage::resolve(None, StorageSection::default()).unwrap(),
            Storage::Local
        ));
        let s = Storage::resolve(
            None,
            section("url = \"s3://bucket/p?endpoint=http://127.0.0.1:9000\""),
        )
        .unwrap();
        assert_eq!(s.describe(), "s3://bucket/p at http://127.0.0.1:9000");
        // The command line (or FERRY_STORAGE_URL) wins over the file.
        let s =
            Storage::resolve(Some("s3://other".into()), section("url = \"s3://bucket\"")).unwrap();
        assert_eq!(s.describe(), "s3://other/");
    }

    #[test]
    fn half_given_credentials_and_bad_urls_are_refused() {
        for bad in [
            "url = \"s3://bucket\"\naccess_key_id = \"k\"",
            "url = \"s3://bucket\"\nsecret_access_key = \"s\"",
            "url = \"s3://bucket\"\naccess_key_id = \"k\"\nsecret_access_key = \"s\"\nsecret_access_key_file = \"/x\"",
            "access_key_id = \"k\"\nsecret_access_key = \"s\"",
            "url = \"file:///srv/content\"",
            "url = \"s3://bucket?endpiont=http://x\"",
        ] {
            assert!(Storage::resolve(None, section(bad)).is_err(), "{bad}");
        }
        assert!(toml::from_str::<StorageSection>("bucket = \"x\"").is_err());
    }

    #[test]
    fn credentials_never_show() {
        let s = Storage::resolve(
            None,
            section(
                "url = \"s3://bucket\"\naccess_key_id = \"AKIDEXAMPLE\"\nsecret_access_key = \"wJalrXUtnFEMI\"",
            ),
        )
        .unwrap();
        assert!(s.credentials_in_file());
        assert!(!format!("{s:?}").contains("wJalrXUtnFEMI"));
        assert!(!s.describe().contains("AKIDEXAMPLE"));
    }
}
