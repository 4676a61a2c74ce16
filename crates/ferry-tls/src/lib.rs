//! Ferry's TLS identity for its own listeners (HTTPS, and FTPS when it shares the pair): a
//! certificate chain and key read from PEM files and checked before use ([`pem_pair`]),
//! served through a resolver that re-reads them on `SIGHUP` or when they change
//! ([`reloading`]), or obtained and renewed from an ACME CA ([`acme`]); [`served`] picks
//! what each handshake gets; one rustls configuration with TLS 1.2 and 1.3 only
//! ([`server_config`]).
//!
//! Nothing here accepts connections: the front ends do, with this crate's configuration.

pub mod acme;
pub mod pem_pair;
pub mod reloading;
pub mod served;
pub mod server_config;
#[cfg(test)]
mod test_pairs;

pub use pem_pair::{LoadedPair, PairError, PemFiles};
pub use reloading::ReloadingCert;
pub use served::ServedCert;
pub use server_config::{HTTPS_ALPN, HTTPS_ALPN_WITH_ACME, server_config};
