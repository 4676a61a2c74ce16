//! Starting the SFTP front end from the settings: listen address and the host key (made once
//! and kept in the data directory; its fingerprint printed for `known_hosts`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ferry_core::Service;
use ferry_sftp::{SftpServer, SftpSettings};

use crate::config::Settings;
use crate::limits::Limits;
use ferry_core::connection_limit::ConnectionGate;

/// Binds SFTP unless it is off; returns its address.
pub async fn start(
    service: Arc<Service>,
    settings: &Settings,
    listen: Option<String>,
    limits: &Limits,
) -> anyhow::Result<Option<std::net::SocketAddr>> {
    let section = &settings.sftp;
    let addr = listen
        .or_else(|| section.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:2222".into());
    if addr.trim() == "0" {
        tracing::info!("SFTP off");
        return Ok(None);
    }
    let (key, generated) = ferry_sftp::load_or_generate_host_key(&settings.data_dir)
        .context("cannot set up the SFTP host key")?;
    let fingerprint = key
        .public_key()
        .fingerprint(russh::keys::HashAlg::Sha256)
        .to_string();
    if generated {
        tracing::info!(%fingerprint, "generated the SFTP host key");
    }
    let sftp_settings = SftpSettings {
        idle_timeout: Duration::from_secs(section.idle_timeout_seconds.unwrap_or(600)),
        sign_in_timeout: limits.sign_in_timeout,
        gate: ConnectionGate::new(
            section.max_connections_per_ip.unwrap_or(50).max(1),
            &limits.node,
        ),
        max_connections_per_user: section.max_connections_per_user.unwrap_or(64).max(1),
        max_sessions_per_connection: section.max_sessions_per_connection.unwrap_or(10).max(1),
        max_handles_per_connection: section.max_handles_per_connection.unwrap_or(64).max(1),
        max_handles_per_user: section.max_handles_per_user.unwrap_or(256).max(1),
        proxies: settings.trusted_proxies.clone(),
    };
    let server = SftpServer::bind(&addr, service, key, sftp_settings)
        .await
        .with_context(|| format!("cannot listen for SFTP on {addr}"))?;
    let local = server.local_addr()?;
    // Tests and scripts read this line to learn the port when they asked for port 0.
    println!("ferry: sftp on {local} (host key {fingerprint})");
    tracing::info!(%local, %fingerprint, "SFTP serving");
    tokio::spawn(server.run());
    Ok(Some(local))
}
