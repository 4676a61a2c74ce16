//! An SFTP channel's open handles: what each stands for, and how many a channel and its user
//! may hold. Each open file holds a descriptor (and an upload a staging file), so a client
//! opening thousands without using them would starve the server; a place is taken before the
//! work of opening, and given back when the handle goes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ferry_core::connection_limit::{Limit, Permit};
use ferry_core::domain::UserId;
use ferry_core::service::{SessionContext, UploadRequest};
use russh_sftp::protocol::StatusCode;

use crate::refusal::Refusal;
use crate::sftp::Open;
use crate::writing::Writing;

/// How many handles a channel, and its user across every connection, may hold.
pub struct HandleLimits {
    /// Open handles per user on this node.
    pub per_user: Arc<Limit<UserId>>,
    /// This channel's user.
    pub user: UserId,
    /// Most handles this channel may hold.
    pub per_channel: usize,
}

/// A channel's handles, by the text the client holds. (They sit in mutexes only to make the
/// handler `Sync`, which russh-sftp's futures need; they are reached through `&mut`, never
/// locked.)
pub(crate) struct Handles {
    open: HashMap<String, (Mutex<Open>, Permit<UserId>)>,
    limits: HandleLimits,
    next: u64,
}

impl Handles {
    pub(crate) fn new(limits: HandleLimits) -> Self {
        Handles {
            open: HashMap::new(),
            limits,
            next: 1,
        }
    }

    /// A place for one more handle, before the work of opening it; refused (`Failure`, the
    /// only status SFTP v3 has for it) when the channel or the user holds every one allowed.
    pub(crate) fn place(&self) -> Result<Permit<UserId>, Refusal> {
        if self.open.len() >= self.limits.per_channel {
            tracing::info!(
                max = self.limits.per_channel,
                "SFTP open refused: too many handles on one channel"
            );
            return Err(StatusCode::Failure.with_message(format!(
                "too many open handles on this channel (at most {}); close some first",
                self.limits.per_channel
            )));
        }
        self.limits.per_user.admit(self.limits.user).ok_or_else(|| {
            tracing::info!(
                user = self.limits.user,
                max = self.limits.per_user.max(),
                "SFTP open refused: too many handles for one user"
            );
            StatusCode::Failure.with_message(format!(
                "too many open handles for this user (at most {}); close some first",
                self.limits.per_user.max()
            ))
        })
    }

    /// Records an open handle in its place; returns the handle's text.
    pub(crate) fn add(&mut self, open: Open, place: Permit<UserId>) -> String {
        let handle = self.next.to_string();
        self.next += 1;
        self.open.insert(handle.clone(), (Mutex::new(open), place));
        handle
    }

    /// The open handle, if any.
    pub(crate) fn get_mut(&mut self, handle: &str) -> Option<&mut Open> {
        self.open
            .get_mut(handle)
            .map(|(m, _)| m.get_mut().unwrap_or_else(|p| p.into_inner()))
    }

    /// The newest handle writing the file at `path`, if any.
    pub(crate) fn writing_at(&mut self, path: &str) -> Option<&mut Writing> {
        self.open
            .iter_mut()
            .filter_map(|(handle, (m, _))| match m.get_mut() {
                Ok(Open::Writing(w)) if w.path == path => Some((handle.parse::<u64>().ok()?, w)),
                _ => None,
            })
            .max_by_key(|(n, _)| *n)
            .map(|(_, w)| &mut **w)
    }

    /// The uploads of the write handles still open that would have committed something (see
    /// [`Writing::uncommitted`]).
    pub(crate) fn uncommitted_uploads(&mut self) -> Vec<(SessionContext, UploadRequest, u64)> {
        self.open
            .values_mut()
            .filter_map(|(m, _)| match m.get_mut() {
                Ok(Open::Writing(w)) => w.uncommitted(),
                _ => None,
            })
            .collect()
    }

    /// Takes a handle out (its place goes back).
    pub(crate) fn take(&mut self, handle: &str) -> Option<Open> {
        self.open
            .remove(handle)
            .map(|(m, _)| m.into_inner().unwrap_or_else(|p| p.into_inner()))
    }
}
