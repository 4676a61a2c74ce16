//! The page frame every web-client page shares, and the one escaping function. Templates are
//! Rust format strings: every value that is not a literal of this file goes through [`esc`]
//! (names, user strings, messages), so a file called `<img src=x onerror=…>` is shown as
//! those characters. There is no inline script or style; [`super::assets`] serves both.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::session::{CSRF_FIELD, WebSession};

/// Text made safe for an HTML element or a quoted attribute.
pub fn esc(text: &str) -> String {
    crate::tools::escape(text)
}

/// A whole page: the header (with the person's name and Sign out when signed in), the main
/// content, and the script.
pub fn frame(title: &str, who: Option<&WebSession>, main: &str) -> String {
    let account = match who {
        Some(w) => format!(
            r#"<form method="get" action="/web/search" role="search" class="search"><label for="q" class="visually-hidden">Search names</label><input id="q" name="q" type="search" placeholder="Search (* for any)" maxlength="255"></form>
<div class="account"><a href="/web/links">Your links</a><a href="/web/account">Account</a>{admin}<span class="who">{name}</span>
<form method="post" action="/web/signout"><input type="hidden" name="{CSRF_FIELD}" value="{csrf}"><button type="submit" class="link">Sign out</button></form></div>"#,
            name = esc(&w.ctx.user.name),
            csrf = w.csrf_token(),
            admin = if w.ctx.user.role.may_impersonate() {
                r#"<a href="/admin">Administration</a>"#
            } else {
                ""
            },
        ),
        None => String::new(),
    };
    let home = match who.and_then(|w| w.ctx.user.home_folder_id) {
        Some(id) => format!("/web/folders/{id}"),
        None => "/".into(),
    };
    format!(
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Ferry</title>
<link rel="icon" href="/tools/assets/icon.svg">
<link rel="stylesheet" href="/web/assets/web.css">
<script src="/web/assets/web.js" defer></script>
<script src="/web/assets/upload.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="bar"><a class="brand" href="{home}">Ferry</a>{account}</header>
<main id="main" tabindex="-1">
{main}
</main>
</body>
</html>
"##,
        title = esc(title),
    )
}

/// A page that only says something (a refusal, an error), with a way back.
pub fn message_page(status: StatusCode, heading: &str, words: &str) -> Response {
    let main = format!(
        r#"<h1>{}</h1>
<p class="message" role="alert">{}</p>
<p><a href="/">Go to your files</a></p>"#,
        esc(heading),
        esc(words)
    );
    (status, Html(frame(heading, None, &main))).into_response()
}

/// The hidden field that carries the form token.
pub fn csrf_input(who: &WebSession) -> String {
    format!(
        r#"<input type="hidden" name="{CSRF_FIELD}" value="{}">"#,
        who.csrf_token()
    )
}
