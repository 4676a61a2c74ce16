//! The effective configuration as the administration console shows it (issue 17): every
//! setting after flags, environment, file and defaults were merged, as `(section, name, value)`
//! rows. Secrets are never among the values: keys and passwords read "set (hidden)", and a
//! database URL's password is masked. Built once at start-up from [`Settings`].

use ferry_core::ServiceConfig;

use crate::config::Settings;

/// What a secret reads as.
const HIDDEN: &str = "set (hidden)";

/// A database URL with its password masked (`postgres://ferry:****@db/ferry`).
fn masked_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("****"));
            }
            // Secrets given as parameters (`?password=…`, `sslpassword`, a key) too.
            let pairs: Vec<(String, String)> = u
                .query_pairs()
                .map(|(k, v)| {
                    let lower = k.to_lowercase();
                    let secret = ["pass", "secret", "key", "token"]
                        .iter()
                        .any(|w| lower.contains(w));
                    (
                        k.into_owned(),
                        if secret {
                            "****".into()
                        } else {
                            v.into_owned()
                        },
                    )
                })
                .collect();
            if !pairs.is_empty() {
                u.query_pairs_mut().clear().extend_pairs(pairs);
            }
            u.to_string()
        }
        // Not a URL we can read: show only its scheme.
        Err(_) => url.split(':').next().unwrap_or("").to_string() + ":…",
    }
}

fn minutes(ms: i64) -> String {
    format!("{} min", ms / 60_000)
}

/// Whole hours as such, anything else in minutes.
fn hours(ms: i64) -> String {
    match ms % 3_600_000 {
        0 => format!("{} h", ms / 3_600_000),
        _ => minutes(ms),
    }
}

/// The rows.
pub fn rows(s: &Settings) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut put = |section: &str, name: &str, value: String| {
        out.push((section.to_string(), name.to_string(), value));
    };
    let c: &ServiceConfig = &s.service;
    put("", "data_dir", s.data_dir.display().to_string());
    put("", "database_url", masked_url(&s.database_url));
    put("storage", "content", s.storage.describe());
    if s.storage.credentials_in_file() {
        put("storage", "credentials", HIDDEN.into());
    }
    put("", "http", s.http.clone());
    put(
        "",
        "log_format",
        format!("{:?}", s.log_format).to_lowercase(),
    );
    put(
        "",
        "trusted_proxies",
        format!("{} configured", s.trusted_proxies.0.len()),
    );
    put(
        "sessions",
        "immutable_ttl_hours",
        format!("{}", c.immutable_session_ttl_ms / 3_600_000),
    );
    put("sessions", "web_idle_minutes", minutes(c.web_idle_ms));
    put("sessions", "web_max_hours", hours(c.web_max_ms));
    put(
        "sessions",
        "max_per_user",
        c.max_sessions_per_user.to_string(),
    );
    put(
        "sessions",
        "sweep_interval_seconds",
        s.sweep_interval_secs.to_string(),
    );
    let l = &c.lockout;
    put(
        "lockout",
        "account_threshold",
        l.account_threshold.to_string(),
    );
    put(
        "lockout",
        "account_total_threshold",
        l.account_total_threshold.to_string(),
    );
    put(
        "lockout",
        "address_threshold",
        l.address_threshold.to_string(),
    );
    put(
        "lockout",
        "base_delay_seconds",
        (l.base_delay_ms / 1000).to_string(),
    );
    put(
        "lockout",
        "max_delay_seconds",
        (l.max_delay_ms / 1000).to_string(),
    );
    put(
        "lockout",
        "forget_after_seconds",
        (l.forget_after_ms / 1000).to_string(),
    );
    put(
        "files",
        "purge_after_days",
        format!("{}", c.purge_after_ms / 86_400_000),
    );
    put(
        "files",
        "inline_max_kib",
        format!("{}", c.inline_max_bytes / 1024),
    );
    put(
        "files",
        "user_quota",
        c.user_quota
            .map_or("none".into(), ferry_core::domain::quota::show_size),
    );
    put(
        "passwords",
        "argon2_memory_kib",
        s.passwords.memory_kib.to_string(),
    );
    put(
        "passwords",
        "argon2_iterations",
        s.passwords.iterations.to_string(),
    );
    put(
        "passwords",
        "argon2_parallelism",
        s.passwords.parallelism.to_string(),
    );
    match &c.tickets {
        Some(t) => {
            put("sso", "site_name", t.site_name.clone());
            put("sso", "password", HIDDEN.into());
            put("sso", "max_age_seconds", (t.max_age_ms / 1000).to_string());
            put(
                "sso",
                "tickets_open_privileged_accounts",
                t.admit_privileged.to_string(),
            );
            put(
                "sso",
                "tickets_open_password_accounts",
                t.admit_password_accounts.to_string(),
            );
            put("sso", "single_use", t.single_use.to_string());
        }
        None => put("sso", "tickets", "off".into()),
    }
    match &s.directory_sync {
        Some(sync) => put("sso.sync", "schedule", format!("{sync:?}")),
        None => put("sso.sync", "schedule", "off".into()),
    }
    match &c.tools {
        Some(t) => {
            put("tools", "key", HIDDEN.into());
            put(
                "tools",
                "max_age_seconds",
                (t.max_age_ms / 1000).to_string(),
            );
            put("tools", "single_use", t.single_use.to_string());
            put(
                "tools",
                "grant_hours",
                (t.grant_ttl_ms / 3_600_000).to_string(),
            );
            put("tools", "redirect_hosts", s.redirect_hosts.join(", "));
        }
        None => put(
            "tools",
            "browser tools and shared links",
            "off (no key)".into(),
        ),
    }
    put("ftps", "settings", format!("{:?}", s.ftps));
    // File paths only: the key's contents are never read here.
    put("https", "settings", format!("{:?}", s.https));
    put("sftp", "settings", format!("{:?}", s.sftp));
    put("limits", "settings", format!("{:?}", s.limits));
    put(
        "metrics",
        "token",
        if s.metrics_token.is_some() {
            HIDDEN.into()
        } else {
            "none (/metrics is open)".into()
        },
    );
    put("soap", "namespace", s.soap_namespace.clone());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_masked() {
        assert_eq!(
            masked_url("postgres://ferry:s3cret@db:5432/ferry"),
            "postgres://ferry:****@db:5432/ferry"
        );
        assert_eq!(
            masked_url("sqlite:///var/lib/ferry/ferry.db"),
            "sqlite:///var/lib/ferry/ferry.db"
        );
        let both = masked_url("postgres://a:b@c/d?password=xyz&sslmode=require");
        assert!(
            !both.contains(":b@") && !both.contains("xyz") && both.contains("sslmode=require"),
            "{both}"
        );
    }
}
