//! One check of a cheap credential at a time per client address: a browser tool's token or a
//! single sign-on ticket, from the address lock-out's check to the count of its failure. These
//! take microseconds to check, so a burst of forged ones sent at once from one address all
//! passed the lock-out's check before the first failure was counted (the threshold, 20 by
//! default, bought nothing against a burst). Password sign-ins are held the same way by their
//! hashing slot (`signin_guard.rs`). Per node: nodes share the counts, not the gates.
//!
//! Only the attempts of one address wait for each other, for a lock-out read and a token
//! check (and a failure's commit); an entry lives only while an attempt holds or awaits it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::OwnedMutexGuard;

/// Entries kept before the ones nobody holds are swept (the map grows with the addresses
/// checking at once, not with every address ever seen).
const SWEEP_ABOVE: usize = 1024;

/// The gates of the addresses being checked now.
#[derive(Default)]
pub(crate) struct AddressGate {
    gates: Mutex<HashMap<IpAddr, Weak<tokio::sync::Mutex<()>>>>,
}

/// Held while one address's attempt is checked and, if it failed, counted.
pub(crate) type AddressTurn = OwnedMutexGuard<()>;

impl AddressGate {
    /// Waits for `ip`'s turn (other addresses do not wait).
    pub(crate) async fn turn(&self, ip: IpAddr) -> AddressTurn {
        // As the address lock-out counts it: `::ffff:10.0.0.1` is 10.0.0.1, an IPv6 address its
        // /64.
        let ip = super::lockout::address_network(ip);
        let gate = {
            let mut gates = self.gates.lock().expect("address gates lock");
            match gates.get(&ip).and_then(Weak::upgrade) {
                Some(gate) => gate,
                None => {
                    if gates.len() >= SWEEP_ABOVE {
                        gates.retain(|_, g| g.strong_count() > 0);
                    }
                    let gate = Arc::new(tokio::sync::Mutex::new(()));
                    gates.insert(ip, Arc::downgrade(&gate));
                    gate
                }
            }
        };
        gate.lock_owned().await
    }

    /// Addresses with an entry (for the tests).
    #[cfg(test)]
    fn entries(&self) -> usize {
        self.gates.lock().expect("address gates lock").len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn one_turn_per_address_and_nothing_kept_for_addresses_gone() {
        let gate = Arc::new(AddressGate::default());
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let held = gate.turn(a).await;
        // Another address goes at once; the same one waits.
        let other = tokio::time::timeout(Duration::from_millis(200), gate.turn(b)).await;
        assert!(other.is_ok());
        let waiter = {
            let gate = Arc::clone(&gate);
            tokio::spawn(async move { gate.turn(a).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !waiter.is_finished(),
            "a second attempt of one address waits"
        );
        drop(held);
        let second = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("its turn comes")
            .unwrap();
        drop((second, other));
        // Swept once unheld and the map is full.
        for i in 0..SWEEP_ABOVE as u32 + 10 {
            drop(gate.turn(IpAddr::from(i.to_be_bytes())).await);
        }
        assert!(gate.entries() < SWEEP_ABOVE, "{}", gate.entries());
    }
}
