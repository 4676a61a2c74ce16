//! Who the client is behind a load balancer: the trusted proxies (`trusted_proxies`, addresses
//! or CIDR blocks) and the PROXY protocol (HAProxy's, versions 1 and 2) that they may put in
//! front of a connection on any of Ferry's listeners (HTTP, SFTP, FTPS control and data).
//!
//! A header is read only from a trusted proxy, and only if the connection starts with one; from
//! anyone else the same bytes are left to the protocol, which refuses them, so a client cannot
//! claim another address. The header is parsed by the `ppp` crate after exactly its own bytes
//! were read (a v1 line of at most 107 bytes, a v2 block of 16 bytes and its stated length), so
//! nothing of the protocol behind it is consumed.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// One trusted proxy: an address or a CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyNet {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for ProxyNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR block"))?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?} has a bad prefix length"))?,
        };
        Ok(ProxyNet { addr, prefix })
    }
}

impl ProxyNet {
    fn contains(&self, ip: IpAddr) -> bool {
        let bits = |ip: IpAddr| -> u128 {
            match ip {
                IpAddr::V4(v4) => u128::from(u32::from(v4)),
                IpAddr::V6(v6) => u128::from(v6),
            }
        };
        let ip = ip.to_canonical();
        if ip.is_ipv4() != self.addr.is_ipv4() {
            return false;
        }
        let width = if ip.is_ipv4() { 32 } else { 128 };
        let shift = width - u32::from(self.prefix);
        if shift >= 128 {
            return true;
        }
        (bits(ip) >> shift) == (bits(self.addr) >> shift)
    }
}

/// The configured trusted proxies.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<ProxyNet>);

impl TrustedProxies {
    /// Whether `ip` is one of the trusted proxies.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }
}

/// The longest version 1 header (the specification's bound, CRLF included).
const V1_MAX: usize = 107;
/// Version 2's fixed part: the signature, version and command, family, and length.
const V2_FIXED: usize = 16;
/// How long a trusted proxy may take to send its header.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// What a connection's first bytes say.
enum Start {
    /// Not a PROXY header: leave the bytes alone.
    Other,
    /// A version 1 line of this many bytes.
    V1(usize),
    /// A version 2 block of this many bytes.
    V2(usize),
    /// Too few bytes yet to tell.
    Unknown,
}

fn classify(bytes: &[u8]) -> std::io::Result<Start> {
    let v1 = b"PROXY ";
    let v2 = ppp::v2::PROTOCOL_PREFIX;
    let n = bytes.len();
    if bytes[..n.min(v1.len())] == v1[..n.min(v1.len())] {
        return Ok(match bytes.windows(2).position(|w| w == b"\r\n") {
            Some(at) => Start::V1(at + 2),
            None if n >= V1_MAX => return Err(invalid("a PROXY v1 line longer than 107 bytes")),
            None => Start::Unknown,
        });
    }
    if bytes[..n.min(v2.len())] == v2[..n.min(v2.len())] {
        if n < V2_FIXED {
            return Ok(Start::Unknown);
        }
        let len = u16::from_be_bytes([bytes[14], bytes[15]]) as usize;
        return Ok(Start::V2(V2_FIXED + len));
    }
    Ok(Start::Other)
}

fn invalid(why: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_string())
}

/// Reads a PROXY header if the connection starts with one and returns the client's address it
/// names; `None` when the connection does not start with a header, or the header names no
/// address (v1 `UNKNOWN`, v2 `LOCAL`: a balancer's own health check). A malformed header is an
/// error: the caller closes the connection.
pub async fn read_header(stream: &mut TcpStream) -> std::io::Result<Option<SocketAddr>> {
    let mut head = [0u8; V1_MAX];
    let total = loop {
        let n = stream.peek(&mut head).await?;
        if n == 0 {
            return Ok(None);
        }
        match classify(&head[..n])? {
            Start::Other => return Ok(None),
            Start::V1(len) | Start::V2(len) => break len,
            // Headers come in one segment from every balancer we know; a split one is waited
            // for briefly, within the caller's timeout.
            Start::Unknown => tokio::time::sleep(Duration::from_millis(2)).await,
        }
    };
    let mut header = vec![0u8; total];
    stream.read_exact(&mut header).await?;
    parse(&header)
}

/// Whether `bytes`, the start of a connection, begin with a complete PROXY header: its length
/// and the client it names (what [`read_header`] decides from the socket; the fuzz target's
/// entry point).
pub fn header_in(bytes: &[u8]) -> std::io::Result<Option<(usize, Option<SocketAddr>)>> {
    match classify(&bytes[..bytes.len().min(V1_MAX)])? {
        Start::V1(len) | Start::V2(len) if len <= bytes.len() => {
            Ok(Some((len, parse(&bytes[..len])?)))
        }
        _ => Ok(None),
    }
}

/// The client address in a complete header.
fn parse(header: &[u8]) -> std::io::Result<Option<SocketAddr>> {
    if header.starts_with(b"PROXY ") {
        let h = ppp::v1::Header::try_from(header)
            .map_err(|_| invalid("a malformed PROXY v1 header"))?;
        return Ok(match h.addresses {
            ppp::v1::Addresses::Tcp4(a) => {
                Some(SocketAddr::new(a.source_address.into(), a.source_port))
            }
            ppp::v1::Addresses::Tcp6(a) => {
                Some(SocketAddr::new(a.source_address.into(), a.source_port))
            }
            ppp::v1::Addresses::Unknown => None,
        });
    }
    let h =
        ppp::v2::Header::try_from(header).map_err(|_| invalid("a malformed PROXY v2 header"))?;
    if h.command == ppp::v2::Command::Local {
        return Ok(None);
    }
    Ok(match h.addresses {
        ppp::v2::Addresses::IPv4(a) => {
            Some(SocketAddr::new(a.source_address.into(), a.source_port))
        }
        ppp::v2::Addresses::IPv6(a) => {
            Some(SocketAddr::new(a.source_address.into(), a.source_port))
        }
        ppp::v2::Addresses::Unspecified | ppp::v2::Addresses::Unix(_) => None,
    })
}

/// The address to treat as the client's for a connection accepted from `peer`: what a trusted
/// proxy's PROXY header names, else `peer`. An error (a malformed header, or none within
/// [`HEADER_TIMEOUT`] of a proxy that started one) means the connection must be closed.
pub async fn client_of(
    stream: &mut TcpStream,
    peer: SocketAddr,
    proxies: &TrustedProxies,
) -> std::io::Result<SocketAddr> {
    if !proxies.trusts(peer.ip()) {
        return Ok(peer);
    }
    match tokio::time::timeout(HEADER_TIMEOUT, read_header(stream)).await {
        Ok(Ok(Some(client))) => Ok(SocketAddr::new(client.ip().to_canonical(), client.port())),
        Ok(Ok(None)) => Ok(peer),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no PROXY header in time",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks() {
        let n: ProxyNet = "192.168.0.0/16".parse().unwrap();
        assert!(n.contains("192.168.44.1".parse().unwrap()));
        assert!(!n.contains("192.169.0.1".parse().unwrap()));
        assert!(!n.contains("::1".parse().unwrap()));
        let all: ProxyNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<ProxyNet>().is_err());
        assert!("nonsense".parse::<ProxyNet>().is_err());
    }

    #[test]
    fn headers_of_both_versions_name_the_client() {
        assert_eq!(
            parse(b"PROXY TCP4 203.0.113.7 10.0.0.1 51000 22\r\n").unwrap(),
            Some("203.0.113.7:51000".parse().unwrap())
        );
        assert_eq!(
            parse(b"PROXY TCP6 2001:db8::7 2001:db8::1 51000 22\r\n").unwrap(),
            Some("[2001:db8::7]:51000".parse().unwrap())
        );
        assert_eq!(parse(b"PROXY UNKNOWN\r\n").unwrap(), None);
        let mut v2 = ppp::v2::PROTOCOL_PREFIX.to_vec();
        v2.extend([
            0x21, 0x11, 0, 12, 198, 51, 100, 9, 10, 0, 0, 1, 0xC3, 0x50, 0, 22,
        ]);
        assert_eq!(
            parse(&v2).unwrap(),
            Some("198.51.100.9:50000".parse().unwrap())
        );
        let mut local = ppp::v2::PROTOCOL_PREFIX.to_vec();
        local.extend([0x20, 0x00, 0, 0]);
        assert_eq!(parse(&local).unwrap(), None, "a health check names nobody");
    }

    #[test]
    fn what_is_not_a_header_is_left_alone_and_a_bad_one_refused() {
        for other in [
            &b"SSH-2.0-OpenSSH_9.2\r\n"[..],
            b"GET / HTTP/1.1\r\n",
            b"\x16\x03\x01",
            b"USER bob\r\n",
        ] {
            assert!(matches!(classify(other).unwrap(), Start::Other));
        }
        assert!(matches!(classify(b"PROX").unwrap(), Start::Unknown));
        assert!(matches!(classify(b"\r\n\r\n\0\r").unwrap(), Start::Unknown));
        assert!(classify(&[b"PROXY ".as_slice(), &[b'1'; 120]].concat()).is_err());
        for bad in [
            &b"PROXY TCP4 nonsense\r\n"[..],
            b"PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\n",
            b"PROXY \r\n",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let mut v2 = ppp::v2::PROTOCOL_PREFIX.to_vec();
        v2.extend([0x21, 0x11, 0, 3, 1, 2, 3]);
        assert!(parse(&v2).is_err(), "addresses cut short");
    }
}
