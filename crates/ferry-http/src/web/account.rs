//! `/web/account`: a person's own account, for now its two-step sign-in. Setting it up shows
//! the secret as a QR code (inline SVG: the pages' CSP allows no `data:` images and no
//! script is needed), as text, and as an `otpauth://` link for a phone's authenticator app; a
//! correct passcode turns it on and shows the ten recovery codes once. Turning it off needs a
//! passcode or a recovery code. Each is one Service call.

use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use qrcodegen::{QrCode, QrCodeEcc};
use serde::Deserialize;

use super::error::WebError;
use super::extract::WebForm;
use super::page::{csrf_input, esc, frame};
use super::session::WebSession;
use super::signin::TokenForm;
use crate::router::AppState;

/// A form with a passcode.
#[derive(Deserialize)]
pub struct PasscodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    passcode: String,
}

/// The form that turns the factor on: a passcode and the account's password.
#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    passcode: String,
    #[serde(default)]
    password: String,
}

fn page(who: &WebSession, title: &str, main: &str) -> Response {
    Html(frame(title, Some(who), main)).into_response()
}

/// `GET /web/account`.
pub async fn show(State(state): State<AppState>, who: WebSession) -> Result<Response, WebError> {
    let status = state.service.second_factor_status(&who.ctx.user).await?;
    let csrf = csrf_input(&who);
    let body = if !status.available {
        "<p>Two-step sign-in is not offered on this server.</p>".to_string()
    } else if status.enabled {
        format!(
            r#"<p class="state-on"><strong>Two-step sign-in is on.</strong> You sign in with your password and a passcode from your authenticator app. {left} recovery code{s} left.</p>
<form method="post" action="/web/account/totp/disable" class="stack narrow">{csrf}
<label for="off-passcode">Passcode or recovery code</label>
<input id="off-passcode" name="passcode" type="text" autocomplete="one-time-code" autocapitalize="none" spellcheck="false" maxlength="32" required>
<button type="submit" class="danger">Turn two-step sign-in off</button>
</form>"#,
            left = status.recovery_codes_left,
            s = if status.recovery_codes_left == 1 {
                ""
            } else {
                "s"
            },
        )
    } else {
        let required = if status.required {
            r#"<p class="problem" role="alert">Your role requires two-step sign-in: set it up to go on using Ferry.</p>"#
        } else {
            ""
        };
        format!(
            r#"{required}<p>Two-step sign-in is off. With it on, signing in needs your password and a passcode from an authenticator app on your phone (any app that follows RFC 6238: Google Authenticator, Microsoft Authenticator, FreeOTP, 1Password, …).</p>
<form method="post" action="/web/account/totp/begin">{csrf}<button type="submit" class="primary">Set up two-step sign-in</button></form>"#
        )
    };
    let main = format!(
        "<h1>Your account</h1>\n<p>Signed in as <strong>{}</strong>.</p>\n<h2>Two-step sign-in</h2>\n{body}",
        esc(&who.ctx.user.name)
    );
    Ok(page(&who, "Your account", &main))
}

/// `POST /web/account/totp/begin`: a new secret; the page to scan it and confirm.
pub async fn begin(
    State(state): State<AppState>,
    who: WebSession,
    WebForm(form): WebForm<TokenForm>,
) -> Result<Response, WebError> {
    who.check_form(&form.csrf)?;
    let e = state.service.begin_totp_enrollment(&who.ctx).await?;
    let grouped: String = e
        .secret
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ");
    let main = format!(
        r#"<h1>Set up two-step sign-in</h1>
<ol class="steps">
<li>Scan this code with your authenticator app{qr}</li>
<li>Or, on the phone itself, <a href="{url}">open it in the authenticator app</a>; or type this key into the app (time-based, 6 digits): <code class="secret">{grouped}</code></li>
<li>Enter the six digits the app shows now, and your password:</li>
</ol>
<form method="post" action="/web/account/totp/confirm" class="stack narrow">{csrf}
<label for="passcode">Passcode</label>
<input id="passcode" name="passcode" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="32" required>
<label for="password">Your password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" class="primary">Turn on</button>
</form>
<p><a href="/web/account">Cancel</a></p>"#,
        qr = qr_svg(&e.otpauth_url),
        url = esc(&e.otpauth_url),
        grouped = esc(&grouped),
        csrf = csrf_input(&who),
    );
    Ok(page(&who, "Set up two-step sign-in", &main))
}

/// `POST /web/account/totp/confirm`: on, with the recovery codes shown once.
pub async fn confirm(
    State(state): State<AppState>,
    who: WebSession,
    WebForm(form): WebForm<ConfirmForm>,
) -> Result<Response, WebError> {
    who.check_form(&form.csrf)?;
    let codes = match state
        .service
        .confirm_totp_enrollment(&who.ctx, form.passcode.trim(), form.password, &who.caller)
        .await
    {
        Ok(codes) => codes,
        Err(ferry_core::Error::PasscodeRefused) => {
            return Err(WebError::BadForm(
                "that passcode is not right: check the phone's clock, and enter the six digits the app shows now (set up again to get a new key)",
            ));
        }
        Err(ferry_core::Error::BadCredentials) => {
            return Err(WebError::BadForm(
                "that password is not right (set up again to try once more)",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let list: String = codes
        .iter()
        .map(|c| format!("<li><code>{}</code></li>", esc(c)))
        .collect();
    let main = format!(
        r#"<h1>Two-step sign-in is on</h1>
<p>Keep these recovery codes somewhere safe, away from your phone. Each one signs you in once in place of a passcode, if you lose the phone. They are shown only now.</p>
<ul class="recovery-codes">{list}</ul>
<p><a href="/web/account">Done</a></p>"#
    );
    Ok(page(&who, "Two-step sign-in is on", &main))
}

/// `POST /web/account/totp/disable`.
pub async fn disable(
    State(state): State<AppState>,
    who: WebSession,
    WebForm(form): WebForm<PasscodeForm>,
) -> Result<Response, WebError> {
    who.check_form(&form.csrf)?;
    match state
        .service
        .disable_totp(&who.ctx, form.passcode.trim(), &who.caller)
        .await
    {
        Ok(()) => Ok(axum::response::Redirect::to("/web/account").into_response()),
        Err(ferry_core::Error::PasscodeRefused) => Err(WebError::BadForm(
            "that passcode or recovery code is not right, or was used already",
        )),
        Err(e) => Err(e.into()),
    }
}

/// `text` as a QR code in inline SVG (one path of dark modules, a quiet zone of four).
fn qr_svg(text: &str) -> String {
    let Ok(code) = QrCode::encode_text(text, QrCodeEcc::Medium) else {
        return String::new();
    };
    let size = code.size();
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if code.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + 4, y + 4));
            }
        }
    }
    let full = size + 8;
    format!(
        r##"<svg class="qr" role="img" aria-label="QR code of the two-step sign-in key" viewBox="0 0 {full} {full}" width="220" height="220" shape-rendering="crispEdges"><rect width="{full}" height="{full}" fill="#fff"/><path d="{path}" fill="#000"/></svg>"##
    )
}
