//! The sign-in methods SFTP offers and keyboard-interactive's state: a password, then, for a
//! user with two-step sign-in, a passcode (docs/second-factor.md). The handler in
//! [`crate::ssh`] drives it; every answer goes through the Service's one sign-in.
//!
//! SSH can only say "denied" to a sign-in, so before, a user locked out, or one signing in
//! while the server's disk was full or its database away, was told what a wrong password
//! gets, and typed the right one again and again. Keyboard-interactive (OpenSSH's and
//! paramiko's way in) can show text: such a refusal is explained there once, as the JSON API
//! answers it (its code too), before the denial. Wrong credentials stay a bare denial.

use russh::server::Auth;
use russh::{MethodKind, MethodSet};

/// A keyboard-interactive sign-in in progress. It asks for the password (clients such as
/// paramiko's `auth_interactive` and OpenSSH's default order use this method alone), then,
/// for a user with two-step sign-in, the passcode. After a right `password` request of such a
/// user it asks for the passcode only.
#[derive(Default)]
pub(crate) enum Interactive {
    /// No keyboard-interactive sign-in under way.
    #[default]
    Idle,
    /// The password prompt was sent.
    AskedPassword,
    /// The password was right and the passcode prompt is due or was sent: (user, password).
    AskedPasscode(String, String),
    /// Why the sign-in was refused was shown; the client's empty answer gets the denial.
    Told,
}

/// The answer to a keyboard-interactive sign-in the Service refused with `e`: its
/// explanation (and `state` becomes [`Interactive::Told`]) when the user can act on it, else
/// the denial `again`.
pub(crate) fn refused(state: &mut Interactive, e: &ferry_core::Error, again: Auth) -> Auth {
    let Some(why) = e.sign_in_explanation() else {
        return again;
    };
    *state = Interactive::Told;
    Auth::Partial {
        name: "".into(),
        instructions: why.into(),
        prompts: Vec::new().into(),
    }
}

/// The methods a client may try before signing in.
pub(crate) fn first_methods() -> MethodSet {
    let mut methods = MethodSet::empty();
    methods.push(MethodKind::PublicKey);
    methods.push(MethodKind::Password);
    methods.push(MethodKind::KeyboardInteractive);
    methods
}

pub(crate) fn prompt(text: &'static str, instructions: &'static str) -> Auth {
    Auth::Partial {
        name: "".into(),
        instructions: instructions.into(),
        prompts: vec![(text.into(), false)].into(),
    }
}

pub(crate) const PASSCODE_HINT: &str =
    "Enter the passcode from your authenticator app (or a recovery code).";
