//! Counted limits on this node: how many of something one key may hold at once (connections
//! per address, FTPS passive ports per user, SFTP handles per user), each place taken as a
//! [`Permit`] and given back when the permit is dropped. Connections per user are counted
//! across the nodes instead ([`UserConnectionLimit`], in the metadata store). A [`ConnectionGate`] puts
//! the per-address limit and the node-wide one in front of every listener, so that silent
//! connections from one address (slowloris) cannot take the descriptors every protocol needs.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::store::MetadataStore;

/// At most `max` places per key.
#[derive(Debug)]
pub struct Limit<K: Hash + Eq> {
    max: usize,
    counts: Mutex<HashMap<K, usize>>,
}

/// One place in a [`Limit`]; dropping it gives the place back.
#[derive(Debug)]
pub struct Permit<K: Hash + Eq> {
    limit: Arc<Limit<K>>,
    key: K,
}

/// Signed-in connections per user on one file protocol (SFTP, FTPS), counted across every node
/// in the metadata store ([`crate::connection_counts`]); the Service admits a connection in it
/// once its credentials are right.
#[derive(Debug)]
pub struct UserConnectionLimit {
    protocol: &'static str,
    max: usize,
}

impl UserConnectionLimit {
    /// At most `max` (at least one) connections per user on `protocol`.
    pub fn new(protocol: &'static str, max: usize) -> Arc<UserConnectionLimit> {
        Arc::new(UserConnectionLimit {
            protocol,
            max: max.max(1),
        })
    }

    /// The protocol counted.
    pub fn protocol(&self) -> &'static str {
        self.protocol
    }

    /// The limit.
    pub fn max(&self) -> usize {
        self.max
    }
}

/// One connection's place in its user's count; dropping it gives the place back (in the
/// store, on a task of its own).
pub struct ConnectionPermit {
    store: Arc<dyn MetadataStore>,
    id: String,
}

impl ConnectionPermit {
    pub(crate) fn new(store: Arc<dyn MetadataStore>, id: String) -> Self {
        ConnectionPermit { store, id }
    }
}

impl std::fmt::Debug for ConnectionPermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ConnectionPermit({})", self.id)
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // the count runs out with the node's renewals
        };
        let (store, id) = (Arc::clone(&self.store), std::mem::take(&mut self.id));
        runtime.spawn(async move {
            if let Err(e) = store.uncount_connection(&id).await {
                tracing::warn!(error = %e, "could not give back a connection's place (it runs out)");
            }
        });
    }
}

impl<K: Hash + Eq + Clone> Limit<K> {
    /// At most `max` places per key (at least one).
    pub fn new(max: usize) -> Arc<Limit<K>> {
        Arc::new(Limit {
            max: max.max(1),
            counts: Mutex::new(HashMap::new()),
        })
    }

    /// A place for one more of `key`, if it has one left.
    pub fn admit(self: &Arc<Self>, key: K) -> Option<Permit<K>> {
        let mut counts = self.counts.lock().expect("limit counts lock");
        let n = counts.entry(key.clone()).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Permit {
            limit: Arc::clone(self),
            key,
        })
    }

    /// The limit.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Places taken by `key` now.
    pub fn held(&self, key: &K) -> usize {
        let counts = self.counts.lock().expect("limit counts lock");
        counts.get(key).copied().unwrap_or(0)
    }
}

impl<K: Hash + Eq> Drop for Permit<K> {
    fn drop(&mut self) {
        let mut counts = self.limit.counts.lock().expect("limit counts lock");
        if let Some(n) = counts.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateRefusal {
    /// Its address holds every connection it may.
    Address,
    /// The node holds every connection it may (the descriptor budget).
    Node,
}

/// Connections held on this node by every protocol together.
pub type NodeLimit = Limit<()>;

/// A listener's connection limits: its own per address, and the node-wide one it shares with
/// every other listener, set below the open-file limit so that listeners, the database and
/// content files always find a descriptor.
#[derive(Debug)]
pub struct ConnectionGate {
    per_address: Arc<Limit<IpAddr>>,
    node: Arc<NodeLimit>,
}

/// An admitted connection's places; dropping it gives them back.
#[derive(Debug)]
pub struct GatePermit {
    _address: Option<Permit<IpAddr>>,
    _node: Permit<()>,
}

impl ConnectionGate {
    /// A gate for at most `per_address` connections from one address, within `node`.
    pub fn new(per_address: usize, node: &Arc<NodeLimit>) -> Arc<ConnectionGate> {
        Arc::new(ConnectionGate {
            per_address: Limit::new(per_address),
            node: Arc::clone(node),
        })
    }

    /// Admits a connection from `ip`; `exempt` skips the per-address limit (a trusted proxy,
    /// whose connections carry many clients). An IPv6 client is counted by its /64, as the
    /// lock-out counts it: one host is routinely given a whole /64, and counting each of its
    /// 2^64 addresses apart would give it no limit at all.
    pub fn admit(&self, ip: IpAddr, exempt: bool) -> Result<GatePermit, GateRefusal> {
        let ip = crate::service::address_network(ip);
        let address = if exempt {
            None
        } else {
            Some(self.per_address.admit(ip).ok_or(GateRefusal::Address)?)
        };
        let node = self.node.admit(()).ok_or(GateRefusal::Node)?;
        Ok(GatePermit {
            _address: address,
            _node: node,
        })
    }

    /// Connections held now, node-wide.
    pub fn open_connections(&self) -> usize {
        self.node.held(&())
    }

    /// The node-wide limit.
    pub fn node_limit(&self) -> usize {
        self.node.max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_are_counted_per_key_and_given_back() {
        let limit = Limit::<i64>::new(2);
        let a1 = limit.admit(1).unwrap();
        let _a2 = limit.admit(1).unwrap();
        assert!(limit.admit(1).is_none());
        let _b = limit.admit(2).unwrap();
        drop(a1);
        assert!(limit.admit(1).is_some());
    }

    #[test]
    fn the_gate_limits_each_address_and_the_node() {
        let node = NodeLimit::new(3);
        let gate = ConnectionGate::new(2, &node);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let p1 = gate.admit(a, false).unwrap();
        let _p2 = gate.admit(mapped, false).unwrap();
        assert_eq!(gate.admit(a, false).unwrap_err(), GateRefusal::Address);
        let _p3 = gate.admit(b, false).unwrap();
        assert_eq!(gate.admit(b, false).unwrap_err(), GateRefusal::Node);
        assert_eq!(gate.admit(a, true).unwrap_err(), GateRefusal::Node);
        drop(p1);
        let proxied = gate.admit(a, true);
        assert!(proxied.is_ok(), "a proxy skips the address limit");
        assert_eq!(gate.open_connections(), 3);
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_network() {
        let node = NodeLimit::new(100);
        let gate = ConnectionGate::new(2, &node);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let _p1 = gate.admit(ip("2001:db8:1:2::1"), false).unwrap();
        let _p2 = gate.admit(ip("2001:db8:1:2:ffff::9"), false).unwrap();
        assert_eq!(
            gate.admit(ip("2001:db8:1:2:abcd::7"), false).unwrap_err(),
            GateRefusal::Address,
            "a third address of the same /64"
        );
        assert!(
            gate.admit(ip("2001:db8:1:3::1"), false).is_ok(),
            "the next /64"
        );
    }
}
