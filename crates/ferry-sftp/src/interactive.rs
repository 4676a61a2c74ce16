//! The sign-in methods SFTP offers and keyboard-interactive's state: a password, then, for a
//! user with two-step sign-in, a passcode (docs/second-factor.md). The handler in
//! [`crate::ssh`] drives it; every answer goes through the Service's one sign-in.

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
