//! The client's address, as every route sees it (the audit, the lock-out, a browser tool's
//! `AllowedIP`): the socket's peer, unless that peer is a configured trusted proxy, in which
//! case the nearest address in `X-Forwarded-For` that is not itself a trusted proxy.
//! `X-Forwarded-For` from anyone else is ignored, so a client cannot claim another address.
//! Resolved once per request, in [`crate::server`].

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
pub use ferry_core::proxy_protocol::{ProxyNet, TrustedProxies};

/// What only HTTP's forwarding headers say: the client behind a chain of proxies
/// (`X-Forwarded-For`) and whether the request was HTTPS before them (`X-Forwarded-Proto`).
pub trait ForwardedHeaders {
    /// The client's address for a request that arrived from `peer`.
    fn client_ip(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr;
    /// Whether a request that arrived in plain HTTP from `peer` was HTTPS before a proxy.
    fn over_https(&self, peer: SocketAddr, headers: &HeaderMap) -> bool;
}

impl ForwardedHeaders for TrustedProxies {
    /// The client's address for a request that arrived from `peer`.
    fn client_ip(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let mut ip = peer.ip().to_canonical();
        if !self.trusts(ip) {
            return ip;
        }
        // Walk X-Forwarded-For from the nearest hop back while the hops are our proxies. A hop
        // that is no address (a proxy's `unknown`, a header that is not text) ends the walk
        // where it is: what lies beyond it was written by whoever sent the request. Skipping it
        // let a client's own `X-Forwarded-For: 203.0.113.9` stand as its address whenever the
        // proxy wrote something unreadable after it.
        let hops: Vec<Option<IpAddr>> = headers
            .get_all("x-forwarded-for")
            .iter()
            .flat_map(|v| match v.to_str() {
                Ok(v) => v.split(',').map(parse_hop).collect::<Vec<_>>(),
                Err(_) => vec![None],
            })
            .collect();
        for hop in hops.into_iter().rev() {
            let Some(hop) = hop else {
                break;
            };
            ip = hop.to_canonical();
            if !self.trusts(ip) {
                break;
            }
        }
        ip
    }

    /// Whether a request that arrived in plain HTTP from `peer` was HTTPS before a proxy:
    /// only a trusted proxy can say so, in `X-Forwarded-Proto` (its last value: the one the
    /// nearest proxy wrote). A client's own claim counts for nothing. (A request on Ferry's
    /// own HTTPS listener is HTTPS whatever this says.)
    fn over_https(&self, peer: SocketAddr, headers: &HeaderMap) -> bool {
        self.trusts(peer.ip().to_canonical())
            && headers
                .get_all("x-forwarded-proto")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .next_back()
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
    }
}

/// One `X-Forwarded-For` entry: an address, or an address with its port (`192.0.2.1:4711`,
/// `[2001:db8::1]:443`, as some proxies write them).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let trusted = TrustedProxies(vec!["10.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()]);
        let from = |ip: &str| SocketAddr::new(ip.parse().unwrap(), 4000);
        let xff = headers("203.0.113.9, 198.51.100.7, 10.1.2.3");
        assert_eq!(
            trusted.client_ip(from("10.9.9.9"), &xff).to_string(),
            "198.51.100.7"
        );
        assert_eq!(
            trusted.client_ip(from("192.0.2.1"), &xff).to_string(),
            "192.0.2.1",
            "a forged header from an untrusted peer is ignored"
        );
        assert_eq!(
            trusted
                .client_ip(from("::ffff:10.0.0.1"), &headers("::ffff:192.0.2.5"))
                .to_string(),
            "192.0.2.5",
            "IPv4-mapped forms read as IPv4"
        );
        assert_eq!(
            trusted
                .client_ip(from("::1"), &HeaderMap::new())
                .to_string(),
            "::1"
        );
        assert_eq!(
            TrustedProxies::default()
                .client_ip(from("10.0.0.1"), &xff)
                .to_string(),
            "10.0.0.1"
        );
        // Addresses with ports are read; an entry that is no address ends the walk there,
        // and what the client wrote before it is not believed.
        assert_eq!(
            trusted
                .client_ip(from("10.0.0.2"), &headers("198.51.100.7:5123"))
                .to_string(),
            "198.51.100.7"
        );
        assert_eq!(
            trusted
                .client_ip(from("10.0.0.2"), &headers("203.0.113.9, [2001:db8::7]:443"))
                .to_string(),
            "2001:db8::7"
        );
        assert_eq!(
            trusted
                .client_ip(from("10.0.0.2"), &headers("203.0.113.9, unknown"))
                .to_string(),
            "10.0.0.2",
            "a forged entry behind an unreadable one"
        );
        assert_eq!(
            trusted
                .client_ip(from("10.0.0.2"), &headers("203.0.113.9, unknown, 10.3.3.3"))
                .to_string(),
            "10.3.3.3"
        );
    }

    #[test]
    fn only_a_trusted_proxy_says_https() {
        let trusted = TrustedProxies(vec!["10.0.0.0/8".parse().unwrap()]);
        let from = |ip: &str| SocketAddr::new(ip.parse().unwrap(), 4000);
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-proto", "http, https".parse().unwrap());
        assert!(trusted.over_https(from("10.0.0.2"), &h));
        assert!(
            !trusted.over_https(from("192.0.2.1"), &h),
            "a client's claim"
        );
        h.insert("x-forwarded-proto", "https, http".parse().unwrap());
        assert!(
            !trusted.over_https(from("10.0.0.2"), &h),
            "the nearest hop wins"
        );
        assert!(!trusted.over_https(from("10.0.0.2"), &HeaderMap::new()));
    }
}
