//! SQLite's writers, queued in order. SQLite has one write lock per database, and a connection
//! that finds it taken polls for it (the busy handler sleeps and retries), which is not fair:
//! under a steady stream of writes one transaction can lose the race for longer than the busy
//! timeout and fail as "database is locked" (error 120), while the others each waited less.
//! A FIFO queue in front of the connections of this process makes every writer wait its turn
//! instead, and the lock passes straight on when a transaction ends rather than at the next
//! poll. The busy timeout still covers writers outside the process (the `ferry` command).
//! PostgreSQL needs none of this: its row lock on the audit head queues writers itself.

use std::sync::Arc;
use std::time::Duration;

use ferry_core::store::{StoreError, StoreResult};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// Longest a writer waits for its turn before the change is refused as unavailable: far
/// longer than any transaction takes, short enough that a stuck one is noticed.
const LONGEST_WAIT: Duration = Duration::from_secs(30);

/// The queue of one database's writers.
#[derive(Debug, Clone, Default)]
pub(crate) struct WriteQueue {
    turn: Arc<Mutex<()>>,
}

/// A writer's turn; the next one's begins when it is dropped.
pub(crate) type WriteTurn = OwnedMutexGuard<()>;

impl WriteQueue {
    /// Waits for this writer's turn (tokio's mutex serves waiters in the order they came).
    pub(crate) async fn turn(&self) -> StoreResult<WriteTurn> {
        tokio::time::timeout(LONGEST_WAIT, Arc::clone(&self.turn).lock_owned())
            .await
            .map_err(|_| {
                StoreError::Unavailable(format!(
                    "waited {} s for the database's write lock",
                    LONGEST_WAIT.as_secs()
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writers_take_turns_in_the_order_they_came() {
        let queue = WriteQueue::default();
        let first = queue.turn().await.unwrap();
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for i in 0..5 {
            let (queue, order) = (queue.clone(), Arc::clone(&order));
            waiting.push(tokio::spawn(async move {
                let _turn = queue.turn().await.unwrap();
                order.lock().unwrap().push(i);
            }));
            // Each one is queued before the next is spawned.
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(first);
        for w in waiting {
            w.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    }
}
