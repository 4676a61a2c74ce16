//! `ferry serve`: opens the store, makes sure there is an administrator, starts the HTTP front
//! end and the session sweeper, and shuts down gracefully on SIGTERM or Ctrl-C.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ferry_core::Service;
use ferry_core::connection_limit::ConnectionGate;
use ferry_http::AppState;
use ferry_tls::acme::ChallengeKind;
use tokio::net::TcpListener;

use crate::admin::open_service;
use crate::cli::ServeArgs;
use crate::config::Settings;

/// Runs the server until a shutdown signal.
pub async fn run(settings: Settings, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let (service, store) = open_service(&settings, true).await?;
    tracing::info!(content = %settings.storage.describe(), "content store ready");
    bootstrap_administrator(&service).await?;
    // Uploads interrupted by a crash or a kill: never visible, removed now.
    match service.clean_staging().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(removed = n, "interrupted uploads removed from staging"),
        Err(e) => tracing::warn!(error = %e, "could not clean the upload staging"),
    }

    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("cannot install the metrics recorder")?;

    let node = node_identity(&settings.data_dir)?;
    tracing::info!(%node, "this node's name in the leases");
    let sweeper = tokio::spawn(sweep_sessions(
        Arc::clone(&service),
        Duration::from_secs(settings.sweep_interval_secs),
        node.clone(),
    ));
    let renewer = tokio::spawn(renew_connection_counts(Arc::clone(&service)));

    let mut directory: Option<Arc<dyn ferry_http::directory::DirectorySync>> = None;
    if let Some(section) = settings.directory_sync.clone() {
        directory = Some(crate::directory_sync::spawn_schedule(
            Arc::clone(&service),
            section,
            node.clone(),
        )?);
    }
    match &service.config().tickets {
        Some(t) => tracing::info!(site = %t.site_name, "ticket sign-in enabled"),
        None => tracing::info!(
            "ticket sign-in off: set FERRY_SSO_SITE_NAME and FERRY_SSO_PASSWORD to enable it"
        ),
    }

    match &service.config().tools {
        Some(t) => tracing::info!(
            version_1 = t.keys.v1_enabled(),
            single_use = t.single_use,
            "browser tools enabled"
        ),
        None => tracing::info!(
            "browser tools off: set FERRY_TOKEN_KEY (and FERRY_TOKEN_IV) to enable them"
        ),
    }

    let limits = settings.limits.resolve();
    let https = crate::https::prepare(&settings.https, args.https.clone(), &settings.data_dir)?;
    let shared_pair = https
        .as_ref()
        .filter(|h| h.for_ftps)
        .map(|h| h.served.without_challenges());
    crate::ftps::start(
        Arc::clone(&service),
        &settings,
        args.ftps.clone(),
        &limits,
        shared_pair,
    )
    .await?;
    crate::sftp::start(Arc::clone(&service), &settings, args.sftp.clone(), &limits).await?;

    let tls_listener = match &https {
        Some(h) => {
            let listener = listen(&h.listen)
                .await
                .with_context(|| format!("cannot listen for HTTPS on {}", h.listen))?;
            let local = listener.local_addr()?;
            let (certificate, source) = h.describe();
            // Tests and scripts read this line to learn the port when they asked for port 0.
            println!("ferry: https on {local} ({certificate})");
            tracing::info!(%local, %certificate, from = source, "HTTPS serving");
            Some((listener, h.front(), local.port()))
        }
        None => None,
    };

    let addr = args.http.unwrap_or(settings.http.clone());
    let listener = listen(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    // Tests and scripts read this line to learn the port when they asked for port 0.
    println!("ferry: listening on http://{local}");
    tracing::info!(%local, database = %store_kind(&settings.database_url), "ferry serving");

    let service_for_shutdown = Arc::clone(&service);
    let app = ferry_http::router(AppState {
        service,
        metrics,
        tools: Arc::new(ferry_http::tools::ToolsFront {
            redirect_hosts: settings.redirect_hosts.clone(),
            patches: Default::default(),
        }),
        metrics_token: settings.metrics_token.as_deref().map(Arc::from),
        config_view: Arc::new(crate::config_view::rows(&settings)),
        directory,
        soap_namespace: Arc::from(settings.soap_namespace.as_str()),
    });
    // One gate for both listeners: the per-address limit counts a client's HTTP and HTTPS
    // connections together.
    let gate = ConnectionGate::new(limits.http_per_ip, &limits.node);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let mut plain_app = app.clone();
    let acme = https.as_ref().and_then(|h| h.served.acme());
    if let Some(acme) = acme.filter(|a| a.settings().challenge == ChallengeKind::Http01) {
        plain_app = crate::https::answer_http01(plain_app, acme);
    }
    if let Some((_, _, port)) = &tls_listener
        && https.as_ref().is_some_and(|h| h.redirect_http)
    {
        plain_app = ferry_http::https_redirect::redirect_to_https(plain_app, *port);
    }
    if let Some(h) = &https {
        // Both listeners are bound: the CA can connect back for its challenge.
        h.start_acme();
    }
    let plain = ferry_http::server::serve(
        listener,
        plain_app,
        Arc::clone(&gate),
        settings.trusted_proxies.clone(),
        limits.http,
        None,
        until_stopped(stopped.clone()),
    );
    let secure = async {
        if let Some((listener, front, _)) = tls_listener {
            ferry_http::server::serve(
                listener,
                app,
                Arc::clone(&gate),
                settings.trusted_proxies.clone(),
                limits.http,
                Some(front),
                until_stopped(stopped.clone()),
            )
            .await;
        }
    };
    let signal = async {
        shutdown_signal().await;
        let _ = stop.send(true);
    };
    tokio::join!(plain, secure, signal);

    sweeper.abort();
    renewer.abort();
    // Repeated refusals counted in memory are written before the process goes.
    if let Err(e) = service_for_shutdown.flush_refusals(true).await {
        tracing::warn!(error = %e, "could not write the last counts of refused attempts");
    }
    store.close().await;
    tracing::info!("ferry stopped");
    Ok(ExitCode::SUCCESS)
}

/// On a store without users, creates the first administrator: `FERRY_ADMIN_USER` (default
/// `admin`) with `FERRY_ADMIN_PASSWORD`, or with a random password printed once to the terminal.
/// Connections the kernel may hold for an HTTP listener before Ferry accepts them. Tokio's
/// default is 1,024; a burst of clients (a thousand partners' schedulers firing on the same
/// minute) past it is dropped or reset by the kernel before Ferry's own limits can answer.
/// The kernel caps it at `net.core.somaxconn` (4,096 by default).
const ACCEPT_QUEUE: u32 = 4096;

/// Binds an HTTP or HTTPS listener on `addr` (an address or a name that resolves to one),
/// with [`ACCEPT_QUEUE`].
async fn listen(addr: &str) -> std::io::Result<TcpListener> {
    let mut last = None;
    for resolved in tokio::net::lookup_host(addr).await? {
        let socket = if resolved.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        match socket
            .bind(resolved)
            .and_then(|()| socket.listen(ACCEPT_QUEUE))
        {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("the address resolves to nothing")))
}

async fn bootstrap_administrator(service: &Service) -> anyhow::Result<()> {
    let name = std::env::var("FERRY_ADMIN_USER").unwrap_or_else(|_| "admin".into());
    let (password, generated) = match std::env::var("FERRY_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (ferry_crypto::new_session_guid().simple().to_string(), true),
    };
    if let Some(user) = service
        .bootstrap_administrator(
            &name,
            password.clone(),
            Some(crate::os_account::running_account()),
        )
        .await?
    {
        if generated {
            // Printed, never logged: this is the only time the password exists in clear.
            eprintln!(
                "ferry: created the first administrator {:?} with password {password}\n       change it with: ferry user passwd {} --password-stdin",
                user.name, user.name
            );
        } else {
            eprintln!("ferry: created the first administrator {:?}", user.name);
        }
    }
    Ok(())
}

/// How often content that no file references is looked for (and once at start-up).
const CONTENT_SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// Content younger than this is never swept: it may belong to an upload committing right now.
const ORPHAN_MIN_AGE: Duration = Duration::from_secs(3600);

/// Removes expired sessions, purges the content of files deleted longer ago than the
/// retention period, and hourly removes content no file references and aborts uploads a killed
/// node left in a bucket. Of the nodes sharing a database, only the holder of the "sweeps"
/// lease does this (each run is audited once); if it dies, another takes over when the lease
/// runs out.
async fn sweep_sessions(service: Arc<Service>, every: Duration, node: String) {
    let mut ticker = tokio::time::interval(every);
    let mut last_content_sweep: Option<std::time::Instant> = None;
    let mut last_anchor: Option<(std::time::Instant, i64)> = None;
    loop {
        ticker.tick().await;
        match service
            .take_lease("sweeps", &node, ferry_core::service::lease_for(every))
            .await
        {
            Ok(true) => {}
            Ok(false) => continue, // another node sweeps
            Err(e) => {
                tracing::warn!(error = %e, "cannot take the sweeps' lease");
                continue;
            }
        }
        if last_content_sweep.is_none_or(|t| t.elapsed() >= CONTENT_SWEEP_EVERY) {
            last_content_sweep = Some(std::time::Instant::now());
            match service.sweep_unreferenced_content(ORPHAN_MIN_AGE).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "unreferenced content removed"),
                Err(e) => tracing::warn!(error = %e, "sweep of unreferenced content failed"),
            }
            match service.sweep_abandoned_uploads(ORPHAN_MIN_AGE).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(aborted = n, "abandoned uploads aborted"),
                Err(e) => tracing::warn!(error = %e, "sweep of abandoned uploads failed"),
            }
        }
        match service.sweep_expired_sessions().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "expired sessions removed"),
            Err(e) => tracing::warn!(error = %e, "session sweep failed"),
        }
        match service.purge_deleted_files().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "content of deleted files purged"),
            Err(e) => tracing::warn!(error = %e, "purge of deleted files failed"),
        }
        match service.sweep_lockouts().await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(removed = n, "old failure counts forgotten"),
            Err(e) => tracing::warn!(error = %e, "sweep of failure counts failed"),
        }
        if let Err(e) = service.sweep_resumables().await {
            tracing::warn!(error = %e, "sweep of idle resumable uploads failed");
        }
        log_audit_anchor(&service, &mut last_anchor).await;
    }
}

/// How often the sweeps' holder logs the audit chain's head (when it moved).
const ANCHOR_EVERY: Duration = Duration::from_secs(600);

/// Logs the audit chain's head as an anchor, at start-up and then every [`ANCHOR_EVERY`] while
/// records are added. Shipped off the machine with the log, anchors are what shows a trail
/// rewritten whole, hashes recomputed, by someone who can write the database:
/// `ferry audit verify --anchor SEQ:HASH` (ARCHITECTURE.md, "Audit chain").
async fn log_audit_anchor(service: &Service, last: &mut Option<(std::time::Instant, i64)>) {
    if last.is_some_and(|(at, _)| at.elapsed() < ANCHOR_EVERY) {
        return;
    }
    match service.audit_anchor().await {
        Ok(head) if head.seq > 0 && last.is_none_or(|(_, seq)| seq != head.seq) => {
            *last = Some((std::time::Instant::now(), head.seq));
            tracing::info!(anchor = %format!("{}:{}", head.seq, head.hash), "audit anchor");
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot read the audit chain's head"),
    }
}

/// Keeps this node's signed-in connections counting in the store (every node runs it; a node
/// that dies stops, and its connections run out).
async fn renew_connection_counts(service: Arc<Service>) {
    let mut tick = tokio::time::interval(ferry_core::connection_counts::CONNECTION_RENEW_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = service.renew_connection_counts().await {
            tracing::warn!(error = %e, "cannot renew this node's connection counts");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown requested; finishing requests in flight");
}

/// This node's name in the leases, kept in `<data_dir>/node-id` (made on the first start): a
/// node restarted after a crash is the same holder and takes its work back at once, instead of
/// waiting for its old lease to run out. Each node has its own data directory (docs/cluster.md).
fn node_identity(data_dir: &std::path::Path) -> anyhow::Result<String> {
    let path = data_dir.join("node-id");
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "node".into());
    let id = format!("{host}-{}", uuid::Uuid::new_v4().simple());
    std::fs::write(&path, format!("{id}\n"))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(id)
}

fn store_kind(url: &str) -> &'static str {
    match ferry_store_sql::Engine::of_url(url) {
        Some(ferry_store_sql::Engine::Sqlite) => "sqlite",
        Some(ferry_store_sql::Engine::Postgres) => "postgres",
        None => "unknown",
    }
}
