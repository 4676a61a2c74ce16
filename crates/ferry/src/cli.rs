//! The command line. Every option also reads from a `FERRY_…` environment variable; the
//! configuration file fills in what neither gives (see [`crate::config`]).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Ferry, a managed file transfer server.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by `serve` and every administrative command.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Configuration file (TOML).
    #[arg(long, global = true, env = "FERRY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (SQLite database, keys, content). Default: ./ferry-data
    #[arg(long, global = true, env = "FERRY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Metadata database: sqlite://PATH or postgres://USER@HOST/DB. Default: SQLite in the data directory.
    #[arg(
        long,
        global = true,
        env = "FERRY_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Content storage: s3://BUCKET/PREFIX?endpoint=…&region=… Default: the data directory.
    #[arg(long, global = true, env = "FERRY_STORAGE_URL")]
    pub storage_url: Option<String>,
    /// Log format.
    #[arg(long, global = true, env = "FERRY_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
}

/// How logs are written to standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage registered application IDs.
    #[command(subcommand)]
    App(AppCommand),
    /// Verify or export the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Single sign-on tickets (docs/sso-tickets.md).
    #[command(subcommand)]
    Ticket(TicketCommand),
    /// Synchronise users with the members of one LDAP / Active Directory group.
    SsoSync(SsoSyncArgs),
    /// Browser-tool tokens (docs/upload-tool.md).
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a token for the upload tool (`--folder`) or the download tool (`--download
    /// --file`), encrypted with the configured key, as an integrator's application would.
    Issue(TokenIssueArgs),
}

/// What a token says.
#[derive(Debug, Clone, Args)]
pub struct TokenIssueArgs {
    /// The folder the upload tool uploads into.
    #[arg(long, conflicts_with_all = ["download", "file", "access_id"], required_unless_present = "download")]
    pub folder: Option<i64>,
    /// A download-tool token instead (with `--file`, or `--access-id` and no `--session`).
    #[arg(long)]
    pub download: bool,
    /// The files the download tool offers (repeat, or separate with commas).
    #[arg(long, value_delimiter = ',', conflicts_with = "access_id")]
    pub file: Vec<i64>,
    /// SARG 2.7.2.2's session-less download token: the files by access ID (from
    /// `RetrieveUploadInfo`), acting as the user each ID was given to. No `--session`.
    #[arg(
        long,
        value_delimiter = ',',
        conflicts_with = "session",
        requires = "download"
    )]
    pub access_id: Vec<String>,
    /// Recorded in the audit of everything done through the page.
    #[arg(long)]
    pub email: Option<String>,
    /// The only browser address that may use the token.
    #[arg(long)]
    pub allowed_ip: std::net::IpAddr,
    /// The session the page acts for (from `Open` or `OpenImmutable`).
    #[arg(long, required_unless_present = "access_id")]
    pub session: Option<String>,
    /// 2 (AES-256-GCM, recommended) or 1 (the spec's AES-256-CBC).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub version: u8,
    /// Date the token at this time instead of now (any accepted time format).
    #[arg(long)]
    pub timestamp: Option<String>,
    /// Print the whole link on this server base (`https://files.example.com`) instead of
    /// the bare token.
    #[arg(long)]
    pub link: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TicketCommand {
    /// Print a sealed ticket for a user, using the configured site name and shared password.
    Issue {
        /// `DOMAIN\name` of the user the ticket vouches for.
        #[arg(long)]
        user: String,
        /// Date the ticket at this time instead of now (any accepted ticket time format).
        #[arg(long)]
        timestamp: Option<String>,
    },
}

/// Where the directory is and how to sync with it.
#[derive(Debug, Clone, Args)]
pub struct SsoSyncArgs {
    /// `ldap://host:port` or `ldaps://host:port`.
    #[arg(long)]
    pub ldap_url: String,
    /// DN to bind as.
    #[arg(long)]
    pub bind_dn: String,
    /// Read the bind password from the first line of standard input (otherwise from
    /// FERRY_LDAP_BIND_PASSWORD).
    #[arg(long)]
    pub bind_password_stdin: bool,
    /// Members outside this subtree are ignored.
    #[arg(long)]
    pub base_dn: String,
    /// The group whose members become Ferry users.
    #[arg(long)]
    pub group_dn: String,
    /// The DOMAIN of DOMAIN\name. Default: the first dc= of the base DN, uppercased.
    #[arg(long)]
    pub domain: Option<String>,
    /// Upgrade ldap:// with StartTLS.
    #[arg(long)]
    pub starttls: bool,
    /// PEM file of the CA that signed the directory's certificate (default: system roots).
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// Print what would change without changing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Refuse to deactivate more than this percentage of the synced users...
    #[arg(long, default_value_t = 25)]
    pub max_deactivate_percent: u32,
    /// ... when that is also more than this many users.
    #[arg(long, default_value_t = 10)]
    pub max_deactivate_count: u32,
    /// Apply even beyond those bounds (or when the group is empty).
    #[arg(long)]
    pub force: bool,
    /// Seconds allowed for connecting and for each directory operation.
    #[arg(long, default_value_t = 30)]
    pub timeout_secs: u64,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// HTTP listen address. Default: 127.0.0.1:8080
    #[arg(long, env = "FERRY_HTTP")]
    pub http: Option<String>,
    /// HTTPS listen address (needs [https] cert_file and key_file); 0 turns it off.
    #[arg(long, env = "FERRY_HTTPS")]
    pub https: Option<String>,
    /// FTPS listen address (explicit AUTH TLS); 0 turns FTPS off. Default: 127.0.0.1:2121
    #[arg(long, env = "FERRY_FTPS")]
    pub ftps: Option<String>,
    /// SFTP listen address; 0 turns SFTP off. Default: 127.0.0.1:2222
    #[arg(long, env = "FERRY_SFTP")]
    pub sftp: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Add {
        /// Login name.
        name: String,
        /// Role: guest, recipient, member, manager, administrator, system.
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "")]
        email: String,
        #[arg(long, default_value = "")]
        first_name: String,
        #[arg(long, default_value = "")]
        last_name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Set a user's password.
    Passwd {
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Disable a user and end their sessions.
    Disable { name: String },
    /// Change a user's role and end their sessions.
    SetRole {
        name: String,
        /// guest, recipient, member, manager, administrator or system.
        role: String,
    },
    /// Clear the failed sign-ins counted against an account (from every address).
    Unlock { name: String },
    /// Turn off a user's two-step sign-in (a lost phone); they set it up again.
    ResetTotp { name: String },
    /// Add an SSH public key (OpenSSH one-line form, e.g. ~/.ssh/id_ed25519.pub) for SFTP.
    AddKey {
        name: String,
        /// The public key file ("-" for standard input).
        #[arg(long)]
        key_file: PathBuf,
    },
    /// List a user's SSH public keys.
    ListKeys { name: String },
    /// Remove a user's SSH public key by its SHA256 fingerprint.
    RemoveKey { name: String, fingerprint: String },
    /// Choose the folder a user's SFTP and FTPS sessions start in (a tree path such as
    /// /Shared/Partners/acme); without a path, back to their home folder. A folder the user
    /// cannot reach when a session starts is passed over for the home folder.
    StartFolder { name: String, path: Option<String> },
    /// Show a user's storage quota and what they have stored, or set it: a size such as
    /// 500M or 10G (powers of 1024), "none" for no bound, or "default" for [files]
    /// user_quota. Every version they uploaded counts (in whole 4 KiB blocks, one at least), a
    /// deleted file's until it is purged.
    Quota { name: String, quota: Option<String> },
}

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register an application ID (1000 and above) for a client developer.
    Add { id: i64, name: String },
    /// List registered applications.
    List,
    /// Refuse new sign-ins for an application ID.
    Disable { id: i64 },
    /// Allow sign-ins for an application ID again.
    Enable { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain; exit status 1 and the first broken link if it does not hold.
    /// Prints the chain's head as an anchor (`SEQ:HASH`) to keep off this machine.
    Verify {
        /// A record's place and hash kept from before (`SEQ:HASH`, as printed here or logged
        /// by the server as "audit anchor"): the chain must hold it. Repeatable. Without one,
        /// a trail rewritten whole from some record on (hashes recomputed) still verifies.
        #[arg(long = "anchor", value_name = "SEQ:HASH", value_parser = anchor)]
        anchors: Vec<ferry_core::domain::AuditHead>,
    },
    /// Write every record to standard output.
    Export {
        #[arg(long, value_enum, default_value = "jsonl")]
        format: ExportFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

/// `--anchor SEQ:HASH`.
fn anchor(text: &str) -> Result<ferry_core::domain::AuditHead, String> {
    ferry_core::service::parse_anchor(text)
        .ok_or_else(|| "expected SEQ:HASH, a record number from 1 and 64 hexadecimal digits".into())
}
