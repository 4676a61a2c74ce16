//! A browser as the web client's tests need one: one cookie jar of one cookie, no redirects
//! followed (the tests look at them), forms posted as a browser posts them.

use super::Server;

/// An answer: status, `Location`, `Set-Cookie` values, body.
pub struct WebAnswer {
    /// HTTP status.
    pub status: u16,
    /// Where a redirect goes.
    pub location: Option<String>,
    /// Every `Set-Cookie` header.
    pub cookies: Vec<String>,
    /// Every header, lower-case names.
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy).
    pub body: String,
    /// The body's bytes.
    pub bytes: Vec<u8>,
}

impl WebAnswer {
    /// The value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A browser with its cookie.
pub struct Browser {
    base: String,
    agent: ureq::Agent,
    /// `name=value` of the session cookie, once signed in.
    pub cookie: Option<String>,
    /// Sent as `User-Agent`.
    pub user_agent: String,
}

impl Browser {
    /// A browser with no cookie, for `s`.
    pub fn new(s: &Server) -> Browser {
        Browser {
            base: s.base.clone(),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .build()
                .into(),
            cookie: None,
            user_agent: "FerryTestBrowser/1.0 (web client tests)".into(),
        }
    }

    fn take(&mut self, mut resp: ureq::http::Response<ureq::Body>) -> WebAnswer {
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let cookies: Vec<String> = headers
            .iter()
            .filter(|(n, _)| n == "set-cookie")
            .map(|(_, v)| v.clone())
            .collect();
        for c in &cookies {
            let pair = c.split(';').next().unwrap_or("").trim().to_string();
            if c.contains("Max-Age=0") {
                if self
                    .cookie
                    .as_ref()
                    .is_some_and(|k| k.split('=').next() == pair.split('=').next())
                {
                    self.cookie = None;
                }
            } else {
                self.cookie = Some(pair);
            }
        }
        let location = headers
            .iter()
            .find(|(n, _)| n == "location")
            .map(|(_, v)| v.clone());
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .unwrap_or_default();
        WebAnswer {
            status: resp.status().as_u16(),
            location,
            cookies,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            bytes,
        }
    }

    /// `GET path` with the cookie and `extra` headers.
    pub fn get_with(&mut self, path: &str, extra: &[(&str, &str)]) -> WebAnswer {
        let mut req = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("user-agent", &self.user_agent);
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let resp = req.call().expect("HTTP request failed");
        self.take(resp)
    }

    /// `HEAD path` with the cookie.
    pub fn head(&mut self, path: &str) -> WebAnswer {
        let mut req = self
            .agent
            .head(format!("{}{path}", self.base))
            .header("user-agent", &self.user_agent);
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        let resp = req.call().expect("HTTP request failed");
        self.take(resp)
    }

    /// `GET path`.
    pub fn get(&mut self, path: &str) -> WebAnswer {
        self.get_with(path, &[])
    }

    /// A form `POST`, as a page of this site sends it (same origin), plus `extra` headers.
    pub fn post_with(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        extra: &[(&str, &str)],
    ) -> WebAnswer {
        let body: String = fields
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut req = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("user-agent", &self.user_agent)
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let resp = req.send(body.as_bytes()).expect("HTTP request failed");
        self.take(resp)
    }

    /// A form `POST` from this site.
    pub fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> WebAnswer {
        self.post_with(path, fields, &[])
    }

    /// Signs in; the answer (a `303` to the home folder when it worked).
    pub fn sign_in(&mut self, user: &str, password: &str) -> WebAnswer {
        self.post("/web/signin", &[("username", user), ("password", password)])
    }

    /// The form token on a page of this session.
    pub fn csrf(&mut self, page: &str) -> String {
        let body = self.get(page).body;
        let at = body
            .find(r#"name="csrf" value=""#)
            .unwrap_or_else(|| panic!("no form token on {page}: {body}"));
        body[at + 19..at + 19 + 64].to_string()
    }

    /// Makes an upload link ("Request files", seven days) from the folder page `folder_page`
    /// of this signed-in session; the link's path (`/tools/upload?token=…`).
    pub fn request_link(&mut self, folder_page: &str) -> String {
        let token = self.csrf(folder_page);
        let made = self.post(
            &format!("{folder_page}/request-link"),
            &[("csrf", &token), ("days", "7")],
        );
        assert_eq!(made.status, 200, "{}", made.body);
        let at = made.body.find("/tools/upload?token=").expect(&made.body);
        made.body[at..]
            .chars()
            .take_while(|c| *c != '"')
            .collect::<String>()
            .replace("&amp;", "&")
    }
}

/// The text of `html` after the first `marker`, up to the next `end` (a value or an `href`
/// in a page).
pub fn text_after<'a>(html: &'a str, marker: &str, end: char) -> &'a str {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {html}"))
        + marker.len();
    &html[at..at + html[at..].find(end).unwrap()]
}

/// Form encoding (`application/x-www-form-urlencoded`).
pub fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// axe-core's script (npm `axe-core`), which `scripts/test` installs under
/// `target/test-peers`; `FERRY_AXE_JS` names another copy. Missing, the test fails: a peer
/// missing is a failure, not a skip.
pub fn axe_js() -> std::path::PathBuf {
    if let Ok(path) = std::env::var("FERRY_AXE_JS") {
        return path.into();
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/test-peers/node_modules/axe-core/axe.min.js");
    assert!(
        path.exists(),
        "axe-core is missing at {}: run scripts/test, or `npm install --prefix target/test-peers axe-core@4`",
        path.display()
    );
    path
}
