//! Directory sync from the command line (`ferry sso-sync`) and on a schedule inside `serve`
//! (`[sso.sync]` in the configuration file). Reading the group is `ferry-ldap`'s job; the plan
//! and its all-or-nothing application are the Service's.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ferry_core::service::{SyncOptions, SyncSummary};
use ferry_core::{Actor, Service};
use ferry_ldap::LdapSource;
use serde::Deserialize;

use crate::cli::SsoSyncArgs;

/// `[sso.sync]`: a directory sync that `serve` runs on a schedule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSection {
    ldap_url: String,
    bind_dn: String,
    bind_password_file: PathBuf,
    base_dn: String,
    group_dn: String,
    domain: Option<String>,
    #[serde(default)]
    starttls: bool,
    ca_file: Option<PathBuf>,
    #[serde(default = "default_interval")]
    interval_minutes: u64,
    #[serde(default = "default_share")]
    max_deactivate_percent: u32,
    #[serde(default = "default_count")]
    max_deactivate_count: u32,
}

fn default_interval() -> u64 {
    60
}
fn default_count() -> u32 {
    10
}
fn default_share() -> u32 {
    25
}

/// The DOMAIN of `DOMAIN\name` when none is given: the first `dc=` of the base DN.
fn domain_from_base_dn(base_dn: &str) -> Option<String> {
    base_dn.split(',').find_map(|rdn| {
        let (k, v) = rdn.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("dc") && !v.trim().is_empty())
            .then(|| v.trim().to_uppercase())
    })
}

/// One sync, then a summary on standard output. Exit status 0 when applied (or planned, for a
/// dry run), 1 on any error, in which case nothing changed.
pub async fn run_once(
    service: &Service,
    actor: &Actor,
    args: &SsoSyncArgs,
) -> anyhow::Result<ExitCode> {
    let bind_password = if args.bind_password_stdin {
        crate::admin::read_password_line()?
    } else {
        std::env::var("FERRY_LDAP_BIND_PASSWORD").context(
            "give the bind password on standard input (--bind-password-stdin) or in FERRY_LDAP_BIND_PASSWORD",
        )?
    };
    let domain = match &args.domain {
        Some(d) => d.clone(),
        None => domain_from_base_dn(&args.base_dn)
            .context("the base DN has no dc= component: give --domain")?,
    };
    let source = LdapSource {
        url: args.ldap_url.clone(),
        bind_dn: args.bind_dn.clone(),
        bind_password,
        base_dn: args.base_dn.clone(),
        group_dn: args.group_dn.clone(),
        starttls: args.starttls,
        ca_file: args.ca_file.clone(),
        timeout: Duration::from_secs(args.timeout_secs.max(1)),
    };
    let opts = SyncOptions {
        domain,
        dry_run: args.dry_run,
        max_deactivate_percent: args.max_deactivate_percent,
        max_deactivate_count: args.max_deactivate_count,
        force: args.force,
    };
    let summary = sync(service, actor, &source, &opts).await?;
    print_summary(&summary);
    Ok(ExitCode::SUCCESS)
}

async fn sync(
    service: &Service,
    actor: &Actor,
    source: &LdapSource,
    opts: &SyncOptions,
) -> anyhow::Result<SyncSummary> {
    let members = source
        .read_members()
        .await
        .context("cannot read the directory group; nothing was changed")?;
    Ok(service.sync_directory(actor, members, opts).await?)
}

fn print_summary(s: &SyncSummary) {
    let list = |label: &str, names: &[String]| {
        for n in names {
            println!("{label:<12} {n}");
        }
    };
    list("created", &s.created);
    list("updated", &s.updated);
    list("deactivated", &s.deactivated);
    list("conflict", &s.conflicts);
    println!("{s}");
}

/// The configured sync, as the schedule and the administration console run it.
pub struct ConfiguredSync {
    service: Arc<Service>,
    source: LdapSource,
    opts: SyncOptions,
}

impl ferry_http::directory::DirectorySync for ConfiguredSync {
    fn run<'a>(&'a self, actor: &'a Actor, dry_run: bool) -> ferry_http::directory::SyncFuture<'a> {
        Box::pin(async move {
            let opts = SyncOptions {
                dry_run,
                ..self.opts.clone()
            };
            sync(&self.service, actor, &self.source, &opts)
                .await
                .map_err(|e| format!("{e:#}"))
        })
    }

    fn describe(&self) -> String {
        format!("{} group {}", self.source.url, self.source.group_dn)
    }
}

/// Runs the configured sync every `interval_minutes`, logging each outcome; failures leave
/// everything as it was and are retried at the next tick. Returns the sync for the console.
/// Of the nodes sharing a database, the holder of the "directory-sync" lease runs it (`node`
/// names this one), so each interval's sync runs, and is audited, once.
pub fn spawn_schedule(
    service: Arc<Service>,
    section: SyncSection,
    node: String,
) -> anyhow::Result<Arc<ConfiguredSync>> {
    let bind_password = std::fs::read_to_string(&section.bind_password_file)
        .with_context(|| {
            format!(
                "cannot read sso.sync.bind_password_file {}",
                section.bind_password_file.display()
            )
        })?
        .trim_end_matches(['\r', '\n'])
        .to_string();
    let domain = match &section.domain {
        Some(d) => d.clone(),
        None => domain_from_base_dn(&section.base_dn)
            .context("sso.sync.base_dn has no dc= component: set sso.sync.domain")?,
    };
    let source = LdapSource {
        url: section.ldap_url.clone(),
        bind_dn: section.bind_dn.clone(),
        bind_password,
        base_dn: section.base_dn.clone(),
        group_dn: section.group_dn.clone(),
        starttls: section.starttls,
        ca_file: section.ca_file.clone(),
        timeout: Duration::from_secs(30),
    };
    let opts = SyncOptions {
        domain,
        dry_run: false,
        max_deactivate_percent: section.max_deactivate_percent,
        max_deactivate_count: section.max_deactivate_count,
        force: false,
    };
    let every = Duration::from_secs(section.interval_minutes.max(1) * 60);
    let configured = Arc::new(ConfiguredSync {
        service,
        source,
        opts,
    });
    let scheduled = Arc::clone(&configured);
    tokio::spawn(async move {
        let actor = Actor::Cli {
            os_user: Some("scheduled directory sync".into()),
        };
        let ConfiguredSync {
            service,
            source,
            opts,
        } = &*scheduled;
        let lease = ferry_core::service::lease_for(every);
        loop {
            match service.take_lease("directory-sync", &node, lease).await {
                Ok(true) => {}
                Ok(false) => {
                    tokio::time::sleep(every).await;
                    continue; // another node syncs
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot take the directory sync's lease");
                    tokio::time::sleep(every).await;
                    continue;
                }
            }
            match sync(service, &actor, source, opts).await {
                Ok(summary) => tracing::info!(%summary, "scheduled directory sync"),
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "scheduled directory sync failed")
                }
            }
            tokio::time::sleep(every).await;
        }
    });
    Ok(configured)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_defaults_to_the_first_dc() {
        assert_eq!(
            domain_from_base_dn("ou=People, DC=corp,dc=example,dc=com").as_deref(),
            Some("CORP")
        );
        assert_eq!(domain_from_base_dn("o=Example"), None);
    }
}
