//! Brute-force protection: failed sign-ins counted in the store (so every node and every
//! protocol shares them), with a lock-out that doubles each time a count grows past its
//! threshold. Three counts, so that guessing is stopped and the owner stays in:
//!
//! - per account *and* address (`pair:<name>|<address>`, `account_threshold`): a guesser
//!   locks their own address out of the account, not the owner;
//! - per account from every address together (`user:<name>`, `account_total_threshold`),
//!   against guessing spread over many addresses; an address the account signed in from
//!   before keeps its own budget and is not held by it;
//! - per address (`ip:<address>`, `address_threshold`), against one address guessing at many
//!   accounts. An IPv6 address counts as its /64 ([`address_network`]): one host is given a
//!   /64 (a cloud machine, a home line) and can take a new address for every guess, so
//!   counted per address, spraying one password over every account never reached a threshold.
//!
//! The account counts are kept whether or not the account exists, so a lock-out reveals
//! nothing about which names are real. A success clears only its own (account, address)
//! count: not the address's, so one valid account cannot reset the count between guesses at
//! others, and not the account-wide one, so the owner signing in does not hand a spread-out
//! guesser a fresh budget.
//! `ferry user unlock` clears an account's counts. Rows are forgotten by the sweep once old.

use std::net::IpAddr;

use crate::clock::Timestamp;
use crate::store::LockoutState;

/// Thresholds and delays of the lock-out.
#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    /// Failures for one account from one address before that address is locked out of it;
    /// 0 turns the account lock-outs off.
    pub account_threshold: i64,
    /// Failures for one account from every address together before addresses the account
    /// never signed in from are locked out of it; 0 turns it off.
    pub account_total_threshold: i64,
    /// Failures from one address before it is locked; 0 turns the address lock-out off.
    pub address_threshold: i64,
    /// The first lock-out's length; each further failure doubles it.
    pub base_delay_ms: i64,
    /// The longest lock-out.
    pub max_delay_ms: i64,
    /// Failures older than this (with no lock-out running) are forgotten.
    pub forget_after_ms: i64,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            account_threshold: 5,
            account_total_threshold: 50,
            address_threshold: 20,
            base_delay_ms: 30_000,
            max_delay_ms: 15 * 60_000,
            forget_after_ms: 15 * 60_000,
        }
    }
}

/// What a count is kept for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// One account from one address.
    Pair,
    /// One account from every address.
    Account,
    /// One address, every account.
    Address,
}

/// One counted key and its threshold.
#[derive(Debug, Clone)]
pub(crate) struct LockoutKey {
    pub key: String,
    pub threshold: i64,
    pub kind: KeyKind,
}

impl LockoutKey {
    /// Whether a lock-out under this key holds for an attempt from an address the account
    /// signed in from before (`known`): the account-wide count does not.
    pub fn binds(&self, known: bool) -> bool {
        !(known && self.kind == KeyKind::Account)
    }

    /// Whether a success clears this count (its own account and address only).
    pub fn cleared_by_success(&self) -> bool {
        self.kind == KeyKind::Pair
    }
}

impl LockoutPolicy {
    /// The keys a sign-in attempt for `user_name` from `ip` is counted under.
    pub(crate) fn keys(&self, user_name: &str, ip: Option<IpAddr>) -> Vec<LockoutKey> {
        let mut keys = Vec::with_capacity(3);
        let ip = ip.map(|ip| ip.to_canonical());
        if self.account_threshold > 0
            && let Some(ip) = ip
        {
            keys.push(LockoutKey {
                key: format!("{}{ip}", pair_prefix(user_name)),
                threshold: self.account_threshold,
                kind: KeyKind::Pair,
            });
        }
        if self.account_total_threshold > 0 {
            keys.push(LockoutKey {
                key: account_key(user_name),
                threshold: self.account_total_threshold,
                kind: KeyKind::Account,
            });
        }
        if let (Some(ip), true) = (ip, self.address_threshold > 0) {
            keys.push(LockoutKey {
                key: format!("ip:{}", network_text(ip)),
                threshold: self.address_threshold,
                kind: KeyKind::Address,
            });
        }
        keys
    }

    /// The key a failure from `ip` alone is counted under (no account involved: a browser
    /// tool's token).
    pub(crate) fn address_keys(&self, ip: IpAddr) -> Vec<LockoutKey> {
        let mut keys = self.keys("", Some(ip));
        keys.retain(|k| k.kind == KeyKind::Address);
        keys
    }

    /// The state after one more failure at `now`.
    pub(crate) fn after_failure(
        &self,
        previous: Option<LockoutState>,
        threshold: i64,
        now: Timestamp,
    ) -> LockoutState {
        let still_counting = previous.filter(|s| self.still_counting(s, now));
        let failures = still_counting.map_or(0, |s| s.failures) + 1;
        let locked_until = (failures >= threshold).then(|| {
            let doublings = (failures - threshold).min(30) as u32;
            let delay = self
                .base_delay_ms
                .saturating_mul(1i64 << doublings)
                .min(self.max_delay_ms);
            now.plus_millis(delay)
        });
        LockoutState {
            failures,
            last_failure_at: now,
            locked_until,
        }
    }

    /// Whether a stored state still counts at `now` (a lock-out running, or failures recent
    /// enough to be remembered); older rows are removed by the sweep.
    pub(crate) fn still_counting(&self, s: &LockoutState, now: Timestamp) -> bool {
        s.locked_until.is_some_and(|u| u > now)
            || s.last_failure_at.plus_millis(self.forget_after_ms) > now
    }
}

/// The network `ip` is counted as where one address could stand for many: an IPv4 address
/// itself, an IPv6 address its /64 (the low 64 bits zeroed), which one host usually holds whole.
pub(crate) fn address_network(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from(
            u128::from(v6) & !u128::from(u64::MAX),
        )),
        v4 => v4,
    }
}

/// [`address_network`] as text: `192.0.2.1`, `2001:db8:1:2::/64`.
pub(crate) fn network_text(ip: IpAddr) -> String {
    match address_network(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("{v6}/64"),
    }
}

/// The account-wide key for a login name.
pub(crate) fn account_key(user_name: &str) -> String {
    format!("user:{}", user_name.to_lowercase())
}

/// The start of every (account, address) key of a login name.
pub(crate) fn pair_prefix(user_name: &str) -> String {
    format!("pair:{}|", user_name.to_lowercase())
}

/// Seconds left of a lock-out at `now`, if one is running.
pub(crate) fn remaining_secs(state: &LockoutState, now: Timestamp) -> Option<u64> {
    let until = state.locked_until?;
    (until > now).then(|| ((until.0 - now.0 + 999) / 1000) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_at_the_threshold_and_doubles_after() {
        let p = LockoutPolicy::default();
        let mut s = None;
        let now = Timestamp(1_000_000);
        for _ in 0..4 {
            s = Some(p.after_failure(s, 5, now));
            assert_eq!(s.unwrap().locked_until, None);
        }
        s = Some(p.after_failure(s, 5, now));
        assert_eq!(s.unwrap().locked_until, Some(now.plus_millis(30_000)));
        s = Some(p.after_failure(s, 5, now));
        assert_eq!(s.unwrap().locked_until, Some(now.plus_millis(60_000)));
        for _ in 0..20 {
            s = Some(p.after_failure(s, 5, now));
        }
        assert_eq!(
            s.unwrap().locked_until,
            Some(now.plus_millis(p.max_delay_ms))
        );
    }

    #[test]
    fn old_failures_are_forgotten() {
        let p = LockoutPolicy::default();
        let s = p.after_failure(None, 5, Timestamp(0));
        let later = Timestamp(p.forget_after_ms + 1);
        assert_eq!(p.after_failure(Some(s), 5, later).failures, 1);
        assert!(!p.still_counting(&s, later));
    }

    #[test]
    fn remaining_time_rounds_up() {
        let s = LockoutState {
            failures: 5,
            last_failure_at: Timestamp(0),
            locked_until: Some(Timestamp(1_001)),
        };
        assert_eq!(remaining_secs(&s, Timestamp(0)), Some(2));
        assert_eq!(remaining_secs(&s, Timestamp(1_001)), None);
    }

    #[test]
    fn keys_per_pair_account_and_address() {
        let p = LockoutPolicy::default();
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let keys = p.keys("Bob", Some(mapped));
        let names: Vec<_> = keys.iter().map(|k| k.key.as_str()).collect();
        assert_eq!(names, ["pair:bob|10.0.0.1", "user:bob", "ip:10.0.0.1"]);
        // An IPv6 address is counted as its /64 for the address-wide key; the pair keeps it.
        let v6: IpAddr = "2001:db8:1:2:aaaa:bbbb:cccc:dddd".parse().unwrap();
        let keys = p.keys("Bob", Some(v6));
        let names: Vec<_> = keys.iter().map(|k| k.key.as_str()).collect();
        assert_eq!(
            names,
            [
                "pair:bob|2001:db8:1:2:aaaa:bbbb:cccc:dddd",
                "user:bob",
                "ip:2001:db8:1:2::/64"
            ]
        );
        let neighbour: IpAddr = "2001:db8:1:2::9".parse().unwrap();
        assert_eq!(p.address_keys(neighbour)[0].key, "ip:2001:db8:1:2::/64");
        assert!(keys[0].binds(true) && !keys[1].binds(true) && keys[1].binds(false));
        assert!(keys[0].cleared_by_success());
        assert!(!keys[1].cleared_by_success() && !keys[2].cleared_by_success());
        assert!(keys[0].key.starts_with(&pair_prefix("BOB")));
        assert!(!pair_prefix("bobby").starts_with(&pair_prefix("bob")));
    }
}
