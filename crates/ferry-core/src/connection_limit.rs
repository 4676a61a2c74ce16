//! How many connections one user may hold at once on a file protocol (SFTP, FTPS): a count
//! per user on this node, taken when a sign-in succeeds and given back when the connection
//! ends (the permit is dropped).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::domain::UserId;

/// The counts, shared by every connection of one protocol on this node.
#[derive(Debug)]
pub struct UserConnectionLimit {
    max: usize,
    counts: Mutex<HashMap<UserId, usize>>,
}

/// One connection's place in its user's count; dropping it gives the place back.
#[derive(Debug)]
pub struct ConnectionPermit {
    limit: Arc<UserConnectionLimit>,
    user: UserId,
}

impl UserConnectionLimit {
    /// At most `max` connections per user (at least one).
    pub fn new(max: usize) -> Arc<UserConnectionLimit> {
        Arc::new(UserConnectionLimit {
            max: max.max(1),
            counts: Mutex::new(HashMap::new()),
        })
    }

    /// A place for one more connection of `user`, if the user has one left.
    pub fn admit(self: &Arc<Self>, user: UserId) -> Option<ConnectionPermit> {
        let mut counts = self.counts.lock().expect("connection counts lock");
        let n = counts.entry(user).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(ConnectionPermit {
            limit: Arc::clone(self),
            user,
        })
    }

    /// The limit.
    pub fn max(&self) -> usize {
        self.max
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut counts = self.limit.counts.lock().expect("connection counts lock");
        if let Some(n) = counts.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_are_counted_per_user_and_given_back() {
        let limit = UserConnectionLimit::new(2);
        let a1 = limit.admit(1).unwrap();
        let _a2 = limit.admit(1).unwrap();
        assert!(limit.admit(1).is_none());
        let _b = limit.admit(2).unwrap();
        drop(a1);
        assert!(limit.admit(1).is_some());
    }
}
