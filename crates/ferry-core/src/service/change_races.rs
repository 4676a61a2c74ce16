//! Changes that lose a race. A change to a folder or a file is checked (the caller's bits on
//! where the item is) before its transaction begins, and made inside it on the item as the
//! transaction finds it, never on the copy the checks read: writing that copy back would undo
//! whatever another change did in between (a move, a deletion, permissions no longer
//! inherited), each of which is audited as done. When the item has moved under another
//! folder since the checks, the checks no longer speak for it: the change is given up and
//! tried again from its checks ([`until_settled`]).

use std::future::Future;

use crate::error::{Error, Result};

/// How many times a change is tried before the caller is told to try again later. A change
/// loses only to another change of the same item in the same few milliseconds.
const ATTEMPTS: usize = 5;

/// One try of a change.
pub(super) enum Attempt<T> {
    /// Made (or refused for good, as an `Err`).
    Done(T),
    /// The item moved since the checks; nothing was changed.
    Raced,
}

/// Runs `attempt` until it is not [`Attempt::Raced`]; [`Error::Unavailable`] (120, "retry
/// later") if it loses [`ATTEMPTS`] times in a row.
pub(super) async fn until_settled<T, F, Fut>(mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Attempt<T>>>,
{
    for _ in 0..ATTEMPTS {
        if let Attempt::Done(done) = attempt().await? {
            return Ok(done);
        }
    }
    Err(Error::Unavailable)
}
