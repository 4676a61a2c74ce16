//! `ferry`: the managed file transfer server and its administration commands.
//!
//! This crate only wires things together: it reads the command line and the configuration,
//! opens the store, builds the Service, and either serves the front ends or runs one
//! administrative command against the same store (safe while a server runs).

mod admin;
mod cli;
mod config;
mod config_view;
mod data_dir;
mod directory_sync;
mod ftps;
mod https;
mod limits;
mod logging;
mod os_account;
mod secret_setting;
mod serve;
mod sftp;
mod storage;
mod tools_config;
mod totp_config;

use clap::Parser;

fn main() -> std::process::ExitCode {
    data_dir::restrict_new_files();
    bound_allocator_retention();
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferry: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ferry: error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

/// Each password hash takes Argon2's whole memory (19 MiB by default) at once. glibc's malloc
/// raises its mmap threshold after such a block is freed, so later ones come from the heap and
/// stay with the process: a burst of sign-ins left tens of MiB behind (measured with 100 FTPS
/// logins). A fixed threshold keeps large blocks mapped and returns them when freed.
///
/// Fixing it also fixes the trim threshold at glibc's 128 KiB, so each 256 KiB transfer
/// buffer freed at the top of the heap was handed back to the kernel and faulted in again by
/// the next one (235,000 page faults per six 1 GiB HTTP downloads). Up to 16 MiB of free heap
/// is kept instead: the same downloads took 238 faults and ran 42 % faster (A/B of one
/// binary, bench/README.md).
fn bound_allocator_retention() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets allocator tunables; it is called before any other thread
    // exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 16 << 20);
    }
}

async fn run(cli: cli::Cli) -> anyhow::Result<std::process::ExitCode> {
    let settings = config::Settings::resolve(&cli.global)?;
    let default_filter = match cli.command {
        // sqlx reports PostgreSQL notices (such as "relation already exists, skipping" from
        // the migrator) at info: noise for an operator.
        cli::Command::Serve(_) => "info,sqlx=warn",
        _ => "warn",
    };
    logging::init(settings.log_format, default_filter);
    if let Some(warning) = &settings.exposed_secrets {
        tracing::warn!("{warning}");
    }
    match cli.command {
        cli::Command::Serve(args) => serve::run(settings, args).await,
        command => admin::run(settings, command).await,
    }
}
