//! Starting the FTPS front end from the settings: listen address, TLS identity (configured,
//! else the HTTPS pair when there is one, else generated once and kept in the data directory;
//! its fingerprint printed), passive ports.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ferry_core::Service;
use ferry_ftps::{FtpsServer, FtpsSettings};

use crate::config::{FtpsSection, Settings};
use crate::limits::Limits;
use ferry_core::connection_limit::ConnectionGate;

/// Default passive data ports.
const DEFAULT_PASSIVE_PORTS: (u16, u16) = (50000, 50100);

fn passive_ports(text: Option<&str>) -> anyhow::Result<std::ops::RangeInclusive<u16>> {
    let Some(text) = text else {
        return Ok(DEFAULT_PASSIVE_PORTS.0..=DEFAULT_PASSIVE_PORTS.1);
    };
    let parsed = text
        .split_once('-')
        .and_then(|(a, b)| Some((a.trim().parse::<u16>().ok()?, b.trim().parse::<u16>().ok()?)));
    match parsed {
        Some((first, last)) if first > 0 && first <= last => Ok(first..=last),
        _ => anyhow::bail!("ftps.passive_ports must be FIRST-LAST, e.g. 50000-50100"),
    }
}

/// Binds FTPS unless it is off; returns the running task's address.
pub async fn start(
    service: Arc<Service>,
    settings: &Settings,
    listen: Option<String>,
    limits: &Limits,
    https_pair: Option<ferry_tls::ServedCert>,
) -> anyhow::Result<Option<std::net::SocketAddr>> {
    let section: &FtpsSection = &settings.ftps;
    let addr = listen
        .or_else(|| section.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:2121".into());
    if addr.trim() == "0" {
        tracing::info!("FTPS off");
        return Ok(None);
    }
    let configured = match (&section.cert_file, &section.key_file) {
        (Some(c), Some(k)) => Some((c.as_path(), k.as_path())),
        (None, None) => None,
        _ => anyhow::bail!("ftps.cert_file and ftps.key_file go together"),
    };
    let names: Vec<String> = addr
        .rsplit_once(':')
        .map(|(host, _)| host.trim_matches(['[', ']']).to_string())
        .filter(|h| !h.is_empty() && h != "0.0.0.0" && h != "::")
        .into_iter()
        .collect();
    let (tls, fingerprint, sha1) = match (configured, https_pair) {
        // No pair of its own and HTTPS has one: FTPS presents it, reloads included.
        (None, Some(pair)) => {
            let (sha256, sha1) = match pair.current() {
                Some(p) => (
                    p.fingerprint,
                    ferry_ftps::fingerprint_sha1(&p.certified.cert[0]),
                ),
                None => ("none yet (ACME)".into(), "none yet".into()),
            };
            let config = ferry_tls::server_config(Arc::new(pair), &[]);
            tracing::info!("FTPS presents the HTTPS certificate");
            (config, sha256, sha1)
        }
        (configured, _) => {
            let loaded = ferry_ftps::load_or_generate(configured, &settings.data_dir, &names)
                .context("cannot set up the FTPS certificate")?;
            if loaded.generated {
                tracing::info!(cert = %loaded.cert_file.display(), "generated a self-signed FTPS certificate");
            }
            let config = loaded
                .identity
                .server_config()
                .context("cannot set up the FTPS certificate")?;
            (
                config,
                loaded.identity.fingerprint(),
                loaded.identity.fingerprint_sha1(),
            )
        }
    };
    let ftps_settings = FtpsSettings {
        passive_ports: passive_ports(section.passive_ports.as_deref())?,
        passive_host: section.passive_address,
        idle_timeout: Duration::from_secs(section.idle_timeout_seconds.unwrap_or(600)),
        sign_in_timeout: limits.sign_in_timeout,
        gate: ConnectionGate::new(
            section.max_connections_per_ip.unwrap_or(50).max(1),
            &limits.node,
        ),
        max_connections_per_user: section.max_connections_per_user.unwrap_or(64).max(1),
        max_passive_ports_per_user: section.max_passive_ports_per_user.unwrap_or(16).max(1),
        allow_plain_data: section.allow_plain_data,
        require_tls_session_reuse: section.require_tls_session_reuse.unwrap_or(true),
        tls: Arc::new(tls),
        passcode_in_password: section.passcode_in_password,
        proxies: settings.trusted_proxies.clone(),
    };
    let server = FtpsServer::bind(&addr, service, ftps_settings)
        .await
        .with_context(|| format!("cannot listen for FTPS on {addr}"))?;
    let local = server.local_addr()?;
    tokio::spawn(server.run());
    // Tests and scripts read this line to learn the port when they asked for port 0.
    println!("ferry: ftps on {local} (certificate SHA-256 {fingerprint}, SHA-1 {sha1})");
    tracing::info!(%local, %fingerprint, %sha1, "FTPS serving");
    Ok(Some(local))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passive_port_ranges_parse() {
        assert_eq!(passive_ports(Some("50000-50010")).unwrap(), 50000..=50010);
        assert_eq!(passive_ports(None).unwrap(), 50000..=50100);
        for bad in ["50010-50000", "0-10", "x", "1-70000", "5000"] {
            assert!(passive_ports(Some(bad)).is_err(), "{bad}");
        }
    }
}
