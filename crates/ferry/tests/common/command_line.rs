//! The test server's command line: `ferry` run against its data directory and database, and
//! the accounts and applications the tests make through it.

use std::io::Write;
use std::process::{Output, Stdio};

use super::{Server, ferry_command};

impl Server {
    /// Runs `ferry ARGS` against this server's store, with `stdin` as standard input.
    pub fn ferry(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = ferry_command(self.dir.path(), &self.database_url)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    }

    /// Runs `ferry ARGS` against this server's store with `env` set and `unset` removed from
    /// its environment (no standard input).
    pub fn ferry_env(&self, args: &[&str], env: &[(&str, &str)], unset: &[&str]) -> Output {
        let mut cmd = ferry_command(self.dir.path(), &self.database_url);
        for name in unset {
            cmd.env_remove(name);
        }
        cmd.args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Like [`Server::ferry`], asserting success; returns standard output.
    pub fn ferry_ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.ferry(args, stdin);
        assert!(
            out.status.success(),
            "ferry {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Creates a user through the CLI; returns its ID.
    pub fn add_user(&self, name: &str, role: &str, password: &str) -> i64 {
        let out = self.ferry_ok(
            &[
                "user",
                "add",
                name,
                "--role",
                role,
                "--email",
                &format!("{name}@example.com"),
                "--password-stdin",
            ],
            Some(&format!("{password}\n")),
        );
        out.split_whitespace()
            .last()
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("no user ID in {out:?}"))
    }

    /// Registers an application ID through the CLI.
    pub fn add_app(&self, id: i64) {
        self.ferry_ok(
            &["app", "add", &id.to_string(), &format!("Test app {id}")],
            None,
        );
    }
}
