//! A change's savepoint in its batch (`group_commit.rs`): taken when the change begins
//! (SQLite), or on PostgreSQL before its first statement that needs one, so that a change
//! made of one statement that cannot fail alone (an upload recorded as seen)
//! costs one round trip, not two; and the undoing of a change that ended without committing:
//! back to its savepoint, nothing if it wrote nothing, or the whole batch if it wrote without
//! one.

use sqlx::AnyConnection;

use super::{BatchTx, Turn};
use ferry_core::store::{StoreError, StoreResult};

impl Turn {
    /// The batch's sqlx connection (inside a change on a sqlx batch), for a statement whose
    /// failure may take the batch with it if the change has no savepoint yet: a change's
    /// first statement (solo, or first in its batch, which needs none), or an upload's one
    /// statement. Others use [`Turn::guarded_conn`].
    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        self.touched = true;
        self.guard.unguarded |= self.guard.due;
        match self.guard.tx.as_mut() {
            Some(BatchTx::Sqlx(tx)) => tx,
            _ => panic!("a change's sqlx batch is open"),
        }
    }

    /// Whether the change wrote without its savepoint (see [`Turn::conn`]).
    pub(crate) fn unguarded(&self) -> bool {
        self.guard.unguarded
    }

    /// Notes that what ran through [`Turn::conn`] since [`Turn::unguarded`] said `before`
    /// wrote nothing (an upload's one statement whose guard stopped it), so undoing the
    /// change needs no more than it did then.
    pub(crate) fn wrote_nothing_since(&mut self, before: bool) {
        self.guard.unguarded = before;
    }

    /// [`Turn::conn`], after the change's savepoint is taken if it is due, so that a failed
    /// statement is undone alone.
    pub(crate) async fn guarded_conn(&mut self) -> StoreResult<&mut AnyConnection> {
        if self.guard.due && !self.guard.unguarded {
            self.take_savepoint().await?;
        }
        Ok(self.conn())
    }

    /// Takes the open change's savepoint, releasing the one before in the same call.
    pub(super) async fn take_savepoint(&mut self) -> StoreResult<()> {
        let begin = match std::mem::take(&mut self.guard.unreleased) {
            true => "RELEASE SAVEPOINT ferry_change; SAVEPOINT ferry_change",
            false => "SAVEPOINT ferry_change",
        };
        if let Err(e) = self.run(begin).await {
            let why = crate::errors::failed_change(e, "cannot begin a change");
            self.abandon(why.clone());
            return Err(why);
        }
        self.guard.due = false;
        Ok(())
    }

    /// Rolls back what a change that ended without committing left.
    pub(super) async fn settle(&mut self) -> StoreResult<()> {
        if !self.guard.in_change {
            return Ok(());
        }
        if !self.guard.savepoint || self.guard.unguarded {
            // The batch's first change (the transaction holds nothing else), or one that
            // wrote without a savepoint.
            self.abandon(StoreError::Unavailable("the change failed".into()));
            return Ok(());
        }
        if self.guard.due {
            // It wrote nothing.
            self.guard.due = false;
            self.guard.in_change = false;
            return Ok(());
        }
        let undone = self.run("ROLLBACK TO SAVEPOINT ferry_change").await;
        let released = match undone {
            Ok(()) => self.run("RELEASE SAVEPOINT ferry_change").await,
            Err(e) => Err(e),
        };
        match released {
            Ok(()) => {
                self.guard.in_change = false;
                Ok(())
            }
            Err(e) => {
                let why = crate::errors::failed_change(e, "cannot undo a failed change");
                self.abandon(why.clone());
                Err(why)
            }
        }
    }
}

#[cfg(test)]
mod tests;
