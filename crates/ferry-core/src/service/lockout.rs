//! Brute-force protection: failed sign-ins counted per account and per client address in the
//! store (so every node and every protocol shares them), with a lock-out that doubles each
//! time the count grows past the threshold.
//!
//! Keys are `user:<lowercased name>` and `ip:<address>`. The account key is counted whether or
//! not the account exists, so a lock-out reveals nothing about which names are real. A
//! successful sign-in clears the account's count but not the address's, so one valid account
//! cannot be used to reset the count between guesses at others.

use std::net::IpAddr;

use crate::clock::Timestamp;
use crate::store::LockoutState;

/// Thresholds and delays of the lock-out.
#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    /// Failures for one account before it is locked; 0 turns the account lock-out off.
    pub account_threshold: i64,
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
            address_threshold: 20,
            base_delay_ms: 30_000,
            max_delay_ms: 15 * 60_000,
            forget_after_ms: 15 * 60_000,
        }
    }
}

/// One counted key and its threshold.
#[derive(Debug, Clone)]
pub(crate) struct LockoutKey {
    pub key: String,
    pub threshold: i64,
}

impl LockoutPolicy {
    /// The keys a sign-in attempt for `user_name` from `ip` is counted under.
    pub(crate) fn keys(&self, user_name: &str, ip: Option<IpAddr>) -> Vec<LockoutKey> {
        let mut keys = Vec::with_capacity(2);
        if self.account_threshold > 0 {
            keys.push(LockoutKey {
                key: account_key(user_name),
                threshold: self.account_threshold,
            });
        }
        if let (Some(ip), true) = (ip, self.address_threshold > 0) {
            keys.push(LockoutKey {
                key: format!("ip:{}", ip.to_canonical()),
                threshold: self.address_threshold,
            });
        }
        keys
    }

    /// The key a failure from `ip` alone is counted under (no account involved: a browser
    /// tool's token).
    pub(crate) fn address_keys(&self, ip: IpAddr) -> Vec<LockoutKey> {
        let mut keys = self.keys("", Some(ip));
        keys.retain(|k| k.key.starts_with("ip:"));
        keys
    }

    /// The state after one more failure at `now`.
    pub(crate) fn after_failure(
        &self,
        previous: Option<LockoutState>,
        threshold: i64,
        now: Timestamp,
    ) -> LockoutState {
        let still_counting = previous.filter(|s| {
            s.locked_until.is_some_and(|u| u > now)
                || s.last_failure_at.plus_millis(self.forget_after_ms) > now
        });
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
}

/// The account key for a login name.
pub(crate) fn account_key(user_name: &str) -> String {
    format!("user:{}", user_name.to_lowercase())
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
    fn ipv4_mapped_addresses_count_as_ipv4() {
        let p = LockoutPolicy::default();
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let keys = p.keys("Bob", Some(mapped));
        assert_eq!(keys[0].key, "user:bob");
        assert_eq!(keys[1].key, "ip:10.0.0.1");
    }
}
