//! The administrative commands (`ferry user|app|audit …`). Each opens the same store as the
//! server (SQLite in WAL mode and PostgreSQL both allow that while a server runs) and calls the
//! Service as the command-line actor, so every change is audited like any other.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use ferry_core::domain::{QuotaSetting, Role, SessionId, quota};
use ferry_core::service::NewUserRequest;
use ferry_core::ticket::parse_ticket_time;
use ferry_core::tool_token::{ToolClaims, ToolTarget};
use ferry_core::{Actor, Clock, Service, SystemClock};
use ferry_crypto::PasswordHasher;
use ferry_http::wire::{AUDIT_COLUMNS, audit_csv_cells, audit_record};
use ferry_store_sql::{SqlStore, StoreOptions};

use crate::cli::{
    AppCommand, AuditCommand, Command, ExportFormat, TicketCommand, TokenCommand, TokenIssueArgs,
    UserCommand,
};
use crate::config::Settings;

/// Opens the metadata store and the content store named by the settings, and builds the
/// Service over them. `serving` is for `ferry serve`: an object store is tried first, and
/// PostgreSQL's session cache is kept.
pub async fn open_service(
    settings: &Settings,
    serving: bool,
) -> anyhow::Result<(Arc<Service>, SqlStore)> {
    crate::data_dir::prepare(&settings.data_dir)?;
    let options = StoreOptions {
        tool_keys: settings.service.tools.as_ref().map(|t| t.keys.clone()),
        ..StoreOptions::default()
    };
    let mut store = ferry_store_sql::connect(&settings.database_url, &options)
        .await
        .context("cannot open the metadata store")?;
    if serving {
        // A long-running server checks sessions all day; a CLI command once at most.
        store.start_session_cache(settings.session_cache);
    }
    let content = settings.storage.open(&settings.data_dir, serving).await?;
    let hasher = PasswordHasher::new(settings.passwords).context("invalid password settings")?;
    let service = Service::new(
        Arc::new(store.clone()),
        content,
        Arc::new(SystemClock),
        hasher,
        settings.service.clone(),
    );
    Ok((Arc::new(service), store))
}

/// Runs one administrative command.
pub async fn run(settings: Settings, command: Command) -> anyhow::Result<ExitCode> {
    let (service, store) = open_service(&settings, false).await?;
    let actor = Actor::Cli {
        os_user: Some(crate::os_account::running_account()),
    };
    let outcome = match command {
        Command::User(c) => user(&service, &actor, c).await,
        Command::App(c) => app(&service, &actor, c).await,
        Command::Audit(c) => audit(&service, c).await,
        Command::Ticket(c) => ticket(&service, c),
        Command::Token(TokenCommand::Issue(args)) => token(&service, args),
        Command::SsoSync(args) => crate::directory_sync::run_once(&service, &actor, &args).await,
        Command::Serve(_) => unreachable!("serve is dispatched in main"),
    };
    store.close().await;
    outcome
}

fn ticket(service: &Service, command: TicketCommand) -> anyhow::Result<ExitCode> {
    match command {
        TicketCommand::Issue { user, timestamp } => {
            let settings = service.config().tickets.as_ref().context(
                "ticket sign-in is not configured: set FERRY_SSO_SITE_NAME and FERRY_SSO_PASSWORD \
                 (or the [sso] section of the configuration file)",
            )?;
            let at = match timestamp {
                Some(t) => parse_ticket_time(&t).with_context(|| {
                    format!("cannot read the time {t:?}: use MM/dd/yyyy HH:mm:ss or ISO 8601")
                })?,
                None => SystemClock.now(),
            };
            println!("{}", settings.issue(&user, at)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn token(service: &Service, args: TokenIssueArgs) -> anyhow::Result<ExitCode> {
    let settings = service.config().tools.as_ref().context(
        "the browser tools are not configured: set FERRY_TOKEN_KEY (and FERRY_TOKEN_IV for \
         version 1), or the [tools] section of the configuration file",
    )?;
    let issued_at = match &args.timestamp {
        Some(t) => parse_ticket_time(t).with_context(|| {
            format!("cannot read the time {t:?}: use MM/dd/yyyy HH:mm:ss or ISO 8601")
        })?,
        None => SystemClock.now(),
    };
    let session = match &args.session {
        Some(s) => Some(SessionId::parse(s).context("--session is not a GUID")?),
        None => None,
    };
    if args.download && args.file.is_empty() && args.access_id.is_empty() {
        anyhow::bail!("a download token names its files: --file or --access-id");
    }
    let claims = ToolClaims {
        version: args.version,
        target: match args.folder {
            Some(folder) => ToolTarget::Folder(folder),
            None if !args.access_id.is_empty() => ToolTarget::AccessIds(args.access_id.clone()),
            None => ToolTarget::Files(args.file.clone()),
        },
        email: args.email.clone(),
        allowed_ip: Some(args.allowed_ip.to_canonical()),
        issued_at,
        expires_at: None,
        session,
    };
    let token = settings.issue(&claims)?;
    match &args.link {
        None => println!("{token}"),
        Some(base) => {
            let page = if args.download { "download" } else { "upload" };
            let encoded: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
            println!(
                "{}/tools/{page}?token={encoded}",
                base.trim_end_matches('/')
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads one line of standard input: a password, without its line ending.
pub fn read_password_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

async fn user(service: &Service, actor: &Actor, command: UserCommand) -> anyhow::Result<ExitCode> {
    match command {
        UserCommand::Add {
            name,
            role,
            email,
            first_name,
            last_name,
            password_stdin,
        } => {
            let role = Role::parse(&role).with_context(|| {
                format!("unknown role {role:?}: use guest, recipient, member, manager, administrator or system")
            })?;
            let password = if password_stdin {
                Some(read_password_line()?)
            } else {
                None
            };
            let has_password = password.is_some();
            let user = service
                .add_user(
                    actor,
                    NewUserRequest {
                        name,
                        role,
                        email,
                        first_name,
                        last_name,
                        password,
                    },
                )
                .await?;
            println!("created user {} with ID {}", user.name, user.id);
            if !has_password {
                println!(
                    "it has no password yet: set one with `ferry user passwd {} --password-stdin`",
                    user.name
                );
            }
        }
        UserCommand::List => {
            println!(
                "{:>6}  {:<24} {:<14} {:<8} EMAIL",
                "ID", "NAME", "ROLE", "ACTIVE"
            );
            for u in service.list_users().await? {
                println!(
                    "{:>6}  {:<24} {:<14} {:<8} {}",
                    u.id,
                    u.name,
                    u.role.name(),
                    if u.active { "yes" } else { "no" },
                    u.email
                );
            }
        }
        UserCommand::AddKey { name, key_file } => {
            let line = if key_file.as_os_str() == "-" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
                s
            } else {
                std::fs::read_to_string(&key_file)
                    .with_context(|| format!("cannot read {}", key_file.display()))?
            };
            let key = service.add_ssh_key(actor, &name, &line).await?;
            println!("added {} {} for {name}", key.algorithm, key.fingerprint);
        }
        UserCommand::ListKeys { name } => {
            for k in service.ssh_keys(actor, &name).await? {
                println!("{} {} {}", k.fingerprint, k.algorithm, k.comment);
            }
        }
        UserCommand::RemoveKey { name, fingerprint } => {
            service.remove_ssh_key(actor, &name, &fingerprint).await?;
            println!("removed {fingerprint} from {name}");
        }
        UserCommand::StartFolder { name, path } => {
            match service
                .set_start_folder(actor, &name, path.as_deref())
                .await?
            {
                Some(id) => println!(
                    "{name}'s SFTP and FTPS sessions start in {} (folder {id})",
                    path.unwrap_or_default()
                ),
                None => println!("{name}'s SFTP and FTPS sessions start in their home folder"),
            }
        }
        UserCommand::Passwd { name, .. } => {
            let password = read_password_line()?;
            service.set_password(actor, &name, password).await?;
            println!("password of {name} changed");
        }
        UserCommand::Disable { name } => {
            service.disable_user(actor, &name).await?;
            println!("user {name} disabled and signed out everywhere");
        }
        UserCommand::Quota { name, quota } => {
            if let Some(q) = quota {
                service
                    .set_quota(actor, &name, QuotaSetting::parse(&q)?)
                    .await?;
            }
            let (set, bound, stored) = service.quota_of(actor, &name).await?;
            let bound = bound.map_or("none".into(), quota::show_size);
            println!(
                "{name}: quota {bound} (set: {set}), stored {}",
                quota::show_size(stored)
            );
        }
        UserCommand::SetRole { name, role } => {
            let role = Role::parse(&role).with_context(|| {
                format!("unknown role {role:?}: use guest, recipient, member, manager, administrator or system")
            })?;
            service.set_role(actor, &name, role).await?;
            println!("{name} is now {} and signed out everywhere", role.name());
        }
        UserCommand::Unlock { name } => {
            let cleared = service.unlock_account(actor, &name).await?;
            println!("{name} unlocked ({cleared} failure counts cleared)");
        }
        UserCommand::ResetTotp { name } => {
            if service.reset_totp(actor, &name).await? {
                println!(
                    "two-step sign-in of {name} reset: they sign in with the password alone and may set it up again"
                );
            } else {
                println!("{name} had no two-step sign-in");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn app(service: &Service, actor: &Actor, command: AppCommand) -> anyhow::Result<ExitCode> {
    match command {
        AppCommand::Add { id, name } => {
            let app = service.add_application(actor, id, &name).await?;
            println!("registered application {} ({})", app.id, app.name);
        }
        AppCommand::Disable { id } => {
            service.set_application_enabled(actor, id, false).await?;
            println!("application {id} disabled");
        }
        AppCommand::Enable { id } => {
            service.set_application_enabled(actor, id, true).await?;
            println!("application {id} enabled");
        }
        AppCommand::List => {
            println!("{:>6}  {:<8} NAME", "ID", "ENABLED");
            for a in service.list_applications().await? {
                println!(
                    "{:>6}  {:<8} {}",
                    a.id,
                    if a.enabled { "yes" } else { "no" },
                    a.name
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn audit(service: &Service, command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify { anchors } => {
            let v = service.verify_audit_chain_against(&anchors).await?;
            match v.first_broken {
                None => {
                    println!(
                        "audit chain intact: {} records, anchors held: {}; head {}:{}",
                        v.records,
                        anchors.len(),
                        v.records,
                        v.last_hash
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Some(b) => {
                    println!(
                        "audit chain BROKEN at record {}: {} ({} records verified before it)",
                        b.seq, b.reason, v.records
                    );
                    Ok(ExitCode::from(1))
                }
            }
        }
        AuditCommand::Export { format } => {
            export(service, format).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Where exported records go: CSV through the csv crate's quoting, or JSON lines.
enum ExportSink {
    Csv(Box<csv::Writer<std::io::StdoutLock<'static>>>),
    Jsonl(std::io::BufWriter<std::io::StdoutLock<'static>>),
}

async fn export(service: &Service, format: ExportFormat) -> anyhow::Result<()> {
    let stdout = std::io::stdout().lock();
    let mut sink = match format {
        ExportFormat::Csv => {
            let mut w = csv::Writer::from_writer(stdout);
            w.write_record(AUDIT_COLUMNS)?;
            ExportSink::Csv(Box::new(w))
        }
        ExportFormat::Jsonl => ExportSink::Jsonl(std::io::BufWriter::new(stdout)),
    };
    let mut after = 0;
    loop {
        let page = service.audit_records(after, 1000).await?;
        for r in &page {
            let row = audit_record(r);
            match &mut sink {
                ExportSink::Csv(w) => {
                    w.write_record(audit_csv_cells(&row))?;
                }
                ExportSink::Jsonl(out) => {
                    serde_json::to_writer(&mut *out, &row)?;
                    out.write_all(b"\n")?;
                }
            }
            after = r.seq;
        }
        if page.len() < 1000 {
            break;
        }
    }
    match &mut sink {
        ExportSink::Csv(w) => w.flush()?,
        ExportSink::Jsonl(out) => out.flush()?,
    }
    Ok(())
}
