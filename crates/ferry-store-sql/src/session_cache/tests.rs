//! The cache's rules without a database: what is served, what a notice or a change evicts,
//! and which reads may fill it. `tests/session_cache.rs` (crate `ferry`) runs it against
//! PostgreSQL's real notices.

use std::thread::sleep;

use ferry_core::Timestamp;
use ferry_core::domain::{Role, SessionId};

use super::*;

fn session(user: UserId) -> Session {
    Session {
        key: SessionId::generate().key(),
        user_id: user,
        application_id: 1999,
        immutable: false,
        created_at: Timestamp(0),
        last_used_at: Timestamp(0),
        expires_at: None,
        client_version: None,
        client_ip: None,
        impersonator_id: None,
        impersonator_application_id: None,
        external_user: None,
        ssh_key: None,
    }
}

fn user(id: UserId) -> User {
    User {
        id,
        name: format!("user{id}"),
        domain_username: None,
        first_name: String::new(),
        last_name: String::new(),
        email: String::new(),
        role: Role::Member,
        active: true,
        deleted: false,
        user_sync_id: None,
        home_folder_id: None,
        password_hash: None,
        created_at: Timestamp(0),
        quota: Default::default(),
    }
}

/// A live cache holding one session of user 7.
fn holding() -> (Arc<SessionCache>, Session) {
    let cache = SessionCache::new(Duration::from_secs(60));
    cache.set_live(true);
    let s = session(7);
    cache.fill(cache.ticket(), &s, &user(7));
    (cache, s)
}

#[test]
fn serves_what_it_was_filled_with() {
    let (cache, s) = holding();
    let (got, u) = cache.get(&s.key).expect("held");
    assert_eq!(got, s);
    assert_eq!(u.id, 7);
    assert!(cache.get(&SessionId::generate().key()).is_none());
}

#[test]
fn nothing_is_served_or_kept_while_the_listener_is_away() {
    let (cache, s) = holding();
    cache.set_live(false);
    assert!(cache.get(&s.key).is_none(), "served while dark");
    cache.fill(cache.ticket(), &s, &user(7));
    cache.set_live(true);
    assert!(cache.get(&s.key).is_none(), "kept a fill made while dark");
}

#[test]
fn answers_expire_after_their_lifetime() {
    let cache = SessionCache::new(Duration::from_millis(50));
    cache.set_live(true);
    let s = session(1);
    cache.fill(cache.ticket(), &s, &user(1));
    assert!(cache.get(&s.key).is_some());
    sleep(Duration::from_millis(60));
    assert!(cache.get(&s.key).is_none(), "served past its lifetime");
}

#[test]
fn notices_evict_a_session_or_every_session_of_a_user() {
    let (cache, s) = holding();
    let other = session(8);
    let second = session(7);
    cache.fill(cache.ticket(), &other, &user(8));
    cache.fill(cache.ticket(), &second, &user(7));

    cache.apply(&format!("s{}", s.key.to_hex()));
    assert!(cache.get(&s.key).is_none());
    assert!(cache.get(&second.key).is_some());

    cache.apply("u7");
    assert!(cache.get(&second.key).is_none());
    assert!(
        cache.get(&other.key).is_some(),
        "another user's session went too"
    );
}

#[test]
fn a_notice_it_does_not_understand_empties_it() {
    for payload in ["*", "", "x12", "unot-a-number", "snot-a-guid"] {
        let (cache, s) = holding();
        cache.apply(payload);
        assert!(
            cache.get(&s.key).is_none(),
            "{payload:?} left the cache as it was"
        );
    }
}

#[test]
fn a_read_that_began_before_an_eviction_does_not_fill() {
    let cache = SessionCache::new(Duration::from_secs(60));
    cache.set_live(true);
    let s = session(3);
    // The read begins, the row changes and its notice evicts, then the read ends with the
    // old row: it must not be kept.
    let ticket = cache.ticket();
    cache.apply("u3");
    cache.fill(ticket, &s, &user(3));
    assert!(cache.get(&s.key).is_none(), "a stale read filled the cache");
    // A read begun after the eviction fills it.
    cache.fill(cache.ticket(), &s, &user(3));
    assert!(cache.get(&s.key).is_some());
}

#[test]
fn its_size_is_bounded() {
    let cache = SessionCache::new(Duration::from_secs(60));
    cache.set_live(true);
    for _ in 0..CAPACITY + 10 {
        cache.fill(cache.ticket(), &session(1), &user(1));
    }
    assert_eq!(cache.entries().by_session.len(), CAPACITY);
}
