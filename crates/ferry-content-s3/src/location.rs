//! `[storage] url`: which bucket, where, and how to address it, in one URL
//! (`s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1`).
//!
//! Parsed strictly: an unknown parameter or a repeated one is refused at start-up rather than
//! ignored, so a typo (`endpiont=`) cannot silently send content to AWS instead of the
//! intended server.

use std::collections::BTreeMap;

/// How requests name the bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressing {
    /// `https://endpoint/bucket/key`: what most S3-compatible servers expect.
    Path,
    /// `https://bucket.endpoint/key`: AWS's own default. With an `endpoint`, the endpoint is
    /// used as given and must already name the bucket (`http://bucket.minio.internal:9000`).
    VirtualHosted,
}

/// Where content lives in a bucket, as the storage URL names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// The key prefix Ferry keeps its objects under (no leading or trailing `/`; may be empty).
    pub prefix: String,
    /// The server, when it is not AWS (`http://127.0.0.1:9000`).
    pub endpoint: Option<String>,
    /// The region (signing needs one; S3-compatible servers mostly accept any).
    pub region: Option<String>,
    /// Path-style or virtual-hosted requests: path-style by default when an endpoint is
    /// given, virtual-hosted on AWS.
    pub addressing: Addressing,
    /// Bytes per part of a multipart upload.
    pub part_size: usize,
}

/// Smallest part S3 accepts (all parts but the last must be at least this long).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// Largest part S3 accepts.
pub const MAX_PART_SIZE: usize = 5 * 1024 * 1024 * 1024;
/// The default part: 8 MiB, as the AWS command line uses; 10,000 of them make 80 GiB, the
/// largest file at this setting (`part_size_mib` raises it).
pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;

impl std::fmt::Display for S3Location {
    /// `s3://bucket/prefix at endpoint`: what logs and the console show (no secret is part of
    /// a location).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)?;
        match &self.endpoint {
            Some(e) => write!(f, " at {e}"),
            None => Ok(()),
        }
    }
}

impl S3Location {
    /// Parses `s3://bucket[/prefix][?endpoint=…&region=…&addressing=path|virtual&part_size_mib=N]`.
    pub fn parse(url: &str) -> Result<S3Location, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or("a storage URL starts with s3:// (or file:// for a local directory)")?;
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let (bucket, prefix) = match path.split_once('/') {
            Some((b, p)) => (b, p.trim_matches('/')),
            None => (path, ""),
        };
        check_bucket(bucket)?;
        if prefix
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
            && !prefix.is_empty()
        {
            return Err(format!(
                "the key prefix {prefix:?} has an empty, . or .. segment"
            ));
        }
        let mut params = BTreeMap::new();
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            if params.insert(k.to_string(), v.to_string()).is_some() {
                return Err(format!("the storage URL repeats the parameter {k:?}"));
            }
        }
        let endpoint = params.remove("endpoint");
        if let Some(e) = &endpoint {
            let parsed = url::Url::parse(e).map_err(|_| format!("endpoint {e:?} is not a URL"))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                return Err(format!("endpoint {e:?} must be an http:// or https:// URL"));
            }
        }
        let addressing = match params.remove("addressing").as_deref() {
            None if endpoint.is_some() => Addressing::Path,
            None => Addressing::VirtualHosted,
            Some("path") => Addressing::Path,
            Some("virtual") => Addressing::VirtualHosted,
            Some(other) => {
                return Err(format!(
                    "addressing must be \"path\" or \"virtual\", not {other:?}"
                ));
            }
        };
        let part_size = match params.remove("part_size_mib") {
            None => DEFAULT_PART_SIZE,
            Some(n) => n
                .parse::<usize>()
                .ok()
                .and_then(|n| n.checked_mul(1024 * 1024))
                .filter(|n| (MIN_PART_SIZE..=MAX_PART_SIZE).contains(n))
                .ok_or_else(|| {
                    format!("part_size_mib must be a whole number from 5 to 5120, not {n:?}")
                })?,
        };
        let region = params.remove("region");
        if let Some(unknown) = params.keys().next() {
            return Err(format!(
                "the storage URL has an unknown parameter {unknown:?} \
                 (known: endpoint, region, addressing, part_size_mib)"
            ));
        }
        Ok(S3Location {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            endpoint,
            region,
            addressing,
            part_size,
        })
    }
}

/// S3's bucket naming rules, loosely: 3–63 lowercase letters, digits, dots and hyphens.
fn check_bucket(bucket: &str) -> Result<(), String> {
    let ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && bucket.as_bytes()[0].is_ascii_alphanumeric()
        && bucket.as_bytes()[bucket.len() - 1].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{bucket:?} is not a bucket name (3 to 63 lowercase letters, digits, dots and hyphens)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_url_is_read() {
        let l = S3Location::parse(
            "s3://ferry-content/site/a?endpoint=http://127.0.0.1:9000&region=eu-west-1&part_size_mib=16",
        )
        .unwrap();
        assert_eq!(l.bucket, "ferry-content");
        assert_eq!(l.prefix, "site/a");
        assert_eq!(l.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(l.region.as_deref(), Some("eu-west-1"));
        assert_eq!(l.addressing, Addressing::Path);
        assert_eq!(l.part_size, 16 * 1024 * 1024);
    }

    #[test]
    fn aws_defaults_to_virtual_hosted_and_an_endpoint_to_path_style() {
        let aws = S3Location::parse("s3://bucket").unwrap();
        assert_eq!(aws.addressing, Addressing::VirtualHosted);
        assert_eq!(aws.prefix, "");
        assert_eq!(aws.part_size, DEFAULT_PART_SIZE);
        let forced =
            S3Location::parse("s3://bucket/?endpoint=https://s3.example&addressing=virtual")
                .unwrap();
        assert_eq!(forced.addressing, Addressing::VirtualHosted);
    }

    #[test]
    fn mistakes_are_refused_not_ignored() {
        for bad in [
            "http://bucket",
            "s3://",
            "s3://UPPER",
            "s3://b",
            "s3://-bucket",
            "s3://bucket?endpiont=http://x",
            "s3://bucket?region=a&region=b",
            "s3://bucket?endpoint=ftp://x",
            "s3://bucket?endpoint=not a url",
            "s3://bucket?addressing=dns",
            "s3://bucket?part_size_mib=4",
            "s3://bucket?part_size_mib=5121",
            "s3://bucket?part_size_mib=99999999999999999999",
            "s3://bucket/a//b",
            "s3://bucket/a/../b",
        ] {
            assert!(S3Location::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
