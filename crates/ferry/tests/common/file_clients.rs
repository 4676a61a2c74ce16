//! One-line sessions of the file protocols' peers as a test user (password `{user}-password`):
//! Python's ftplib over FTPS, and curl's (libssh2's) SFTP quote commands.

use std::process::Command;

use super::run_ok;

/// Runs `body` (Python, with `f` an ftplib FTPS connection signed in as `user`, `sys.argv[1:]`
/// being `args`) and quits; what it printed.
pub fn ftplib_as(port: u16, user: &str, body: &str, args: &[&str]) -> String {
    let script = format!(
        "import ftplib, io, ssl, sys\n\
         from reusing_tls import ReusingFTP_TLS\n\
         c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE\n\
         f = ReusingFTP_TLS(context=c, timeout=20); f.connect('127.0.0.1', {port})\n\
         f.auth(); f.login('{user}', '{user}-password'); f.prot_p()\n\
         {body}\n\
         f.quit()\n"
    );
    run_ok(
        Command::new("python3")
            .env(
                "PYTHONPATH",
                concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ftps"),
            )
            .args(["-c", &script])
            .args(args),
    )
    .trim()
    .to_string()
}

/// curl's SFTP quote command `command` (`rename a b`, `mkdir p`) as `user`: whether it
/// succeeded.
pub fn sftp_quote_as(port: u16, user: &str, command: &str) -> bool {
    Command::new("curl")
        .args(["-sS", "-k", "-l", "-o", "/dev/null"])
        .args(["-u", &format!("{user}:{user}-password")])
        .args(["-Q", command])
        .arg(format!("sftp://127.0.0.1:{port}/"))
        .status()
        .unwrap()
        .success()
}
