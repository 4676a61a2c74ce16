//! FTP command lines: one line is one command, `VERB [argument]`, ended by CRLF (a bare LF is
//! accepted too). A line is refused whole, and nothing of it runs, when it is too long, is not
//! UTF-8, or carries a control character (a lone CR, NUL, …): that is how a command smuggled
//! into an argument (`DELE a\rRMD b`) is stopped.

/// Longest command line accepted, in bytes, terminator excluded.
pub const MAX_LINE: usize = 4096;

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The verb, upper-cased (`RETR`).
    pub verb: String,
    /// Everything after the first space, as sent.
    pub arg: String,
}

/// Why a line is not a command; the text is sent to the client with a 500/501 reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadLine(pub &'static str);

/// Parses one line, its CRLF or LF already removed.
pub fn parse(line: &[u8]) -> Result<Command, BadLine> {
    let text = std::str::from_utf8(line).map_err(|_| BadLine("the command is not UTF-8"))?;
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return Err(BadLine(
            "the command contains a control character (CR, NUL, …); nothing was done",
        ));
    }
    let (verb, arg) = text.split_once(' ').unwrap_or((text, ""));
    if verb.is_empty() || verb.len() > 8 || !verb.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(BadLine("not an FTP command"));
    }
    Ok(Command {
        verb: verb.to_ascii_uppercase(),
        arg: arg.to_string(),
    })
}

/// Strips the line terminator: CRLF, or a bare LF.
pub fn strip_terminator(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse() {
        let c = parse(b"retr Home/a b.txt").unwrap();
        assert_eq!(c.verb, "RETR");
        assert_eq!(c.arg, "Home/a b.txt");
        assert_eq!(parse(b"PWD").unwrap().arg, "");
        assert_eq!(strip_terminator(b"NOOP\r\n"), b"NOOP");
        assert_eq!(strip_terminator(b"NOOP\n"), b"NOOP");
    }

    #[test]
    fn smuggled_and_broken_lines_are_refused() {
        for bad in [
            &b"DELE a\rRMD /Home"[..],
            b"DELE a\0b",
            b"\xff\xfe",
            b"",
            b" NOOP",
            b"VERYLONGVERB x",
            b"RE-TR x",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
