//! The tus request headers that carry data: `Upload-Metadata` (the file's name, its folder
//! path, the web client's folder) and `Upload-Checksum` (a chunk's SHA-1 or SHA-256, checked
//! as the chunk arrives).

use std::collections::HashMap;

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::Digest;

use super::tus::header_str;

/// `Upload-Metadata`: comma-separated `key base64value` pairs.
pub(super) fn metadata(headers: &HeaderMap) -> Result<HashMap<String, String>, &'static str> {
    let mut out = HashMap::new();
    let Some(raw) = header_str(headers, "upload-metadata") else {
        return Ok(out);
    };
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once(' ').unwrap_or((pair, ""));
        let value = STANDARD
            .decode(value.trim())
            .ok()
            .and_then(|v| String::from_utf8(v).ok())
            .ok_or("Upload-Metadata values must be base64 of UTF-8 text")?;
        out.insert(key.to_ascii_lowercase(), value);
    }
    Ok(out)
}

/// A declared `Upload-Checksum`.
pub(super) enum Checksum {
    Sha1(sha1::Sha1, Vec<u8>),
    Sha256(sha2::Sha256, Vec<u8>),
}

impl Checksum {
    pub(super) fn parse(value: &str) -> Result<Checksum, &'static str> {
        let (alg, digest) = value
            .split_once(' ')
            .ok_or("Upload-Checksum is `algorithm base64`")?;
        let digest = STANDARD
            .decode(digest.trim())
            .map_err(|_| "the Upload-Checksum digest is not base64")?;
        match alg.to_ascii_lowercase().as_str() {
            "sha1" => Ok(Checksum::Sha1(sha1::Digest::new(), digest)),
            "sha256" => Ok(Checksum::Sha256(sha2::Sha256::new(), digest)),
            _ => Err("Upload-Checksum algorithm not supported (sha1, sha256)"),
        }
    }

    pub(super) fn update(&mut self, data: &[u8]) {
        match self {
            Checksum::Sha1(h, _) => sha1::Digest::update(h, data),
            Checksum::Sha256(h, _) => h.update(data),
        }
    }

    pub(super) fn matches(self) -> bool {
        let (got, want) = match self {
            Checksum::Sha1(h, want) => (sha1::Digest::finalize(h).to_vec(), want),
            Checksum::Sha256(h, want) => (h.finalize().to_vec(), want),
        };
        ferry_crypto::constant_time_eq(&got, &want)
    }
}
