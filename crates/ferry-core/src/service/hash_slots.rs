//! Who gets the password-hashing slots. Each Argon2 hash takes its whole memory and a core
//! for tens of milliseconds, so only `max_concurrent_hashes` run at once; the rest wait. A
//! flood of sign-ins from many addresses would otherwise make everyone wait behind it, so the
//! waiting is fair:
//!
//! - two lanes: attempts from an address the account signed in from before ("known", and
//!   the administrator's own commands), and every other attempt; while both have waiters the
//!   lanes take turns, so known clients get at least half the slots whatever the flood;
//! - within the known lane accounts take turns, within the other lane addresses do (one
//!   waiter of each in turn): one account signing in from a thousand addresses it made known
//!   is served as often as any other account, and one busy address as often as a quiet one;
//! - at most [`MAX_WAITING_PER_ADDRESS`] waiters per turn (account or address) and
//!   [`MAX_WAITING`] per lane; past that an attempt is refused at once as unavailable (503),
//!   which bounds the memory and the time a flood can make anyone wait (and a flood of
//!   unknown addresses never fills the known lane).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::domain::UserId;
use crate::error::{Error, Result};

/// Most attempts waiting for a slot in one turn (an account, or an address).
pub const MAX_WAITING_PER_ADDRESS: usize = 64;
/// Most attempts waiting for a slot in one lane.
pub const MAX_WAITING: usize = 4096;

/// Whose turn an attempt waits for. An address is counted as the lock-out counts it (an IPv6
/// address as its /64), so one host cannot take a turn per address it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Turn {
    /// An account, from an address it signed in from before (the known lane).
    Account(UserId),
    /// An address, for any other attempt (`None`: no address known).
    Address(Option<IpAddr>),
    /// The administrator's own work: creating users, setting passwords (the known lane).
    Admin,
}

/// Which lane and turn an attempt waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashTicket {
    /// The lane: known (an address its account signed in from before, or the administrator)
    /// or not.
    pub known: bool,
    /// Whose turn within the lane.
    pub turn: Turn,
}

impl HashTicket {
    /// An administrator's own work (creating users, setting passwords).
    pub const ADMIN: HashTicket = HashTicket {
        known: true,
        turn: Turn::Admin,
    };

    /// A sign-in as `user` (if the name is an account's) from `ip`, `known` or not.
    pub fn signin(user: Option<UserId>, ip: Option<IpAddr>, known: bool) -> HashTicket {
        match (known, user) {
            (true, Some(user)) => HashTicket {
                known: true,
                turn: Turn::Account(user),
            },
            _ => HashTicket {
                known: false,
                turn: Turn::Address(ip.map(super::lockout::address_network)),
            },
        }
    }
}

/// The slots and their waiters.
#[derive(Debug)]
pub struct HashSlots {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    free: usize,
    lanes: [Lane; 2],
    /// The lane to serve first when both have waiters.
    turn: usize,
    waiting: usize,
}

#[derive(Debug, Default)]
struct Lane {
    /// Turns with waiters, in order.
    order: VecDeque<Turn>,
    queues: HashMap<Turn, VecDeque<oneshot::Sender<Slot>>>,
    /// Waiters in this lane.
    waiting: usize,
}

/// A slot held; dropping it hands it to the next waiter.
#[derive(Debug)]
pub struct Slot {
    /// `None` once the slot went back to the free count.
    slots: Option<Arc<HashSlots>>,
}

impl HashSlots {
    /// `slots` hashes at once (at least one).
    pub fn new(slots: usize) -> Arc<HashSlots> {
        Arc::new(HashSlots {
            state: Mutex::new(State {
                free: slots.max(1),
                lanes: [Lane::default(), Lane::default()],
                turn: 0,
                waiting: 0,
            }),
        })
    }

    /// Waits for a slot in `ticket`'s lane; [`Error::Unavailable`] when too many wait already.
    pub async fn acquire(self: &Arc<Self>, ticket: HashTicket) -> Result<Slot> {
        let receiver = {
            let mut state = self.state.lock().expect("hash slots lock");
            if state.free > 0 && state.waiting == 0 {
                state.free -= 1;
                return Ok(Slot {
                    slots: Some(Arc::clone(self)),
                });
            }
            let lane = &mut state.lanes[usize::from(!ticket.known)];
            if lane.waiting >= MAX_WAITING {
                return Err(Error::Unavailable);
            }
            let queue = lane.queues.entry(ticket.turn).or_default();
            if queue.len() >= MAX_WAITING_PER_ADDRESS {
                return Err(Error::Unavailable);
            }
            if queue.is_empty() {
                lane.order.push_back(ticket.turn);
            }
            let (tx, rx) = oneshot::channel();
            queue.push_back(tx);
            lane.waiting += 1;
            state.waiting += 1;
            rx
        };
        receiver
            .await
            .map_err(|_| Error::Internal("hash slots dropped a waiter".into()))
    }

    /// Attempts waiting now.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.state.lock().expect("hash slots lock").waiting
    }

    /// Hands a freed slot to the next waiter, or puts it back.
    fn release(self: &Arc<Self>) {
        let mut slot = Slot {
            slots: Some(Arc::clone(self)),
        };
        loop {
            let next = {
                let mut state = self.state.lock().expect("hash slots lock");
                match state.next_waiter() {
                    Some(tx) => tx,
                    None => {
                        state.free += 1;
                        // The slot is back in `free`: its guard must not release it again.
                        slot.slots = None;
                        return;
                    }
                }
            };
            // A waiter that gave up (its request ended) leaves the slot for the next one.
            match next.send(slot) {
                Ok(()) => return,
                Err(back) => slot = back,
            }
        }
    }
}

impl State {
    fn next_waiter(&mut self) -> Option<oneshot::Sender<Slot>> {
        for i in 0..2 {
            let lane_index = (self.turn + i) % 2;
            if let Some(tx) = self.lanes[lane_index].pop() {
                self.turn = (lane_index + 1) % 2;
                self.waiting -= 1;
                return Some(tx);
            }
        }
        None
    }
}

impl Lane {
    /// The first waiter of the turn that is next; that turn goes to the back.
    fn pop(&mut self) -> Option<oneshot::Sender<Slot>> {
        let turn = self.order.pop_front()?;
        let queue = self.queues.get_mut(&turn)?;
        let tx = queue.pop_front();
        self.waiting -= usize::from(tx.is_some());
        if queue.is_empty() {
            self.queues.remove(&turn);
        } else {
            self.order.push_back(turn);
        }
        tx
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(slots) = self.slots.take() {
            slots.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(known: bool, ip: &str) -> HashTicket {
        HashTicket::signin(Some(7), Some(ip.parse().unwrap()), known)
    }

    #[tokio::test]
    async fn known_addresses_take_turns_with_a_flood() {
        let slots = HashSlots::new(1);
        let held = slots.acquire(ticket(false, "10.0.0.1")).await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiters = Vec::new();
        // A flood from two addresses, queued first; then one known client.
        for (i, ip) in ["10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.2"]
            .iter()
            .enumerate()
        {
            let (slots, order) = (Arc::clone(&slots), Arc::clone(&order));
            let t = ticket(false, ip);
            waiters.push(tokio::spawn(async move {
                let _slot = slots.acquire(t).await.unwrap();
                order.lock().unwrap().push(format!("flood{i}"));
            }));
            tokio::task::yield_now().await;
        }
        let (s2, o2) = (Arc::clone(&slots), Arc::clone(&order));
        waiters.push(tokio::spawn(async move {
            let _slot = s2.acquire(ticket(true, "192.0.2.9")).await.unwrap();
            o2.lock().unwrap().push("known".into());
        }));
        tokio::task::yield_now().await;
        drop(held);
        for w in waiters {
            w.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        // Known goes first (its lane's turn), then the flood's addresses alternate.
        assert_eq!(
            order,
            ["known", "flood0", "flood3", "flood1", "flood4", "flood2"]
        );
    }

    #[tokio::test]
    async fn in_the_known_lane_accounts_take_turns_whatever_their_addresses() {
        let slots = HashSlots::new(1);
        let held = slots.acquire(HashTicket::ADMIN).await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiters = Vec::new();
        // One account signing in from many addresses it made known, then another account.
        let mut tickets: Vec<(HashTicket, String)> = (0..5)
            .map(|i| {
                let ip = format!("10.0.0.{i}").parse().ok();
                (HashTicket::signin(Some(1), ip, true), format!("mallory{i}"))
            })
            .collect();
        tickets.push((
            HashTicket::signin(Some(2), "192.0.2.1".parse().ok(), true),
            "alice".into(),
        ));
        for (t, name) in tickets {
            let (s, order) = (Arc::clone(&slots), Arc::clone(&order));
            waiters.push(tokio::spawn(async move {
                let _slot = s.acquire(t).await.unwrap();
                order.lock().unwrap().push(name);
            }));
            while slots.waiting() < waiters.len() {
                tokio::task::yield_now().await;
            }
        }
        drop(held);
        for w in waiters {
            w.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        assert_eq!(order[..2], ["mallory0", "alice"], "{order:?}");
    }

    #[tokio::test]
    async fn a_full_queue_refuses_and_a_gone_waiter_passes_its_slot_on() {
        let slots = HashSlots::new(1);
        let held = slots.acquire(HashTicket::ADMIN).await.unwrap();
        let mut gone = Vec::new();
        for _ in 0..MAX_WAITING_PER_ADDRESS {
            let s = Arc::clone(&slots);
            gone.push(tokio::spawn(async move {
                s.acquire(ticket(false, "10.0.0.1")).await
            }));
        }
        while slots.waiting() < MAX_WAITING_PER_ADDRESS {
            tokio::task::yield_now().await;
        }
        assert!(matches!(
            slots.acquire(ticket(false, "10.0.0.1")).await,
            Err(Error::Unavailable)
        ));
        // Every waiter of that address gives up; the slot still reaches the next one.
        for g in &gone {
            g.abort();
        }
        let s = Arc::clone(&slots);
        let later = tokio::spawn(async move { s.acquire(ticket(false, "10.0.0.2")).await });
        while slots.waiting() < MAX_WAITING_PER_ADDRESS + 1 {
            tokio::task::yield_now().await;
        }
        drop(held);
        assert!(later.await.unwrap().is_ok());
        assert!(slots.acquire(HashTicket::ADMIN).await.is_ok());
    }
}
