//! The answer's format from the `Accept` header, as RAPR 2.1 describes it: `application/json`
//! or `application/xml`. XML is the default (RAPR calls it the standard format), so no
//! `Accept`, `*/*` and `application/*` get XML; a header that names only other types is refused
//! (406), in XML.

use axum::http::HeaderMap;
use axum::http::header::ACCEPT;

/// How an answer is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json`.
    Json,
    /// `application/xml`.
    Xml,
}

impl Format {
    /// The `Content-Type` of an answer in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Xml => "application/xml; charset=utf-8",
        }
    }
}

/// The format `headers` ask for: the acceptable type with the highest `q` (the first of equal
/// ones), or `None` when every type named is one Ferry does not write.
pub fn from_headers(headers: &HeaderMap) -> Option<Format> {
    let mut best: Option<(f32, Format)> = None;
    let mut named_any = false;
    for value in headers.get_all(ACCEPT) {
        let Ok(text) = value.to_str() else {
            continue;
        };
        for item in text.split(',') {
            let mut parts = item.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            if media.is_empty() {
                continue;
            }
            named_any = true;
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").map(str::to_string))
                .next()
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let format = match media.as_str() {
                "application/json" | "text/json" => Format::Json,
                "application/xml" | "text/xml" | "application/*" | "text/*" | "*/*" => Format::Xml,
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, format));
            }
        }
    }
    match best {
        Some((_, f)) => Some(f),
        None if named_any => None,
        None => Some(Format::Xml),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(v: Option<&str>) -> Option<Format> {
        let mut h = HeaderMap::new();
        if let Some(v) = v {
            h.insert(ACCEPT, HeaderValue::from_str(v).unwrap());
        }
        from_headers(&h)
    }

    #[test]
    fn picks_by_type_and_quality() {
        assert_eq!(accept(None), Some(Format::Xml));
        assert_eq!(accept(Some("application/json")), Some(Format::Json));
        assert_eq!(accept(Some("application/xml")), Some(Format::Xml));
        assert_eq!(accept(Some("*/*")), Some(Format::Xml));
        assert_eq!(
            accept(Some("application/xml;q=0.5, application/json")),
            Some(Format::Json)
        );
        assert_eq!(
            accept(Some("application/json;q=0, application/xml")),
            Some(Format::Xml)
        );
        assert_eq!(accept(Some("text/html")), None);
        assert_eq!(accept(Some("application/json;q=0")), None);
    }
}
