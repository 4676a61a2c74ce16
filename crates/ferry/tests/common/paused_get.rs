//! A download read the way a slow client reads it: a little, then nothing for a while (the
//! server's writer waits on a full pipe), then the rest; for what must hold of a response that
//! outlives a change made while it is sent (an audit export, a ZIP).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::FromRawFd;
use std::time::Duration;

/// `n` (sized for Linux's default largest socket send buffer, 4 MiB) scaled for this machine's:
/// a response must outgrow the server's buffer for its writer to wait on the paused reader,
/// and a machine tuned for larger buffers (`net.ipv4.tcp_wmem`) needs a larger one.
pub fn beyond_socket_buffers(n: usize) -> usize {
    let largest = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|t| t.split_whitespace().nth(2)?.parse::<usize>().ok())
        .unwrap_or(4 << 20);
    n * largest.div_ceil(4 << 20).max(1)
}

/// A paused download's answer.
pub struct PausedAnswer {
    /// The status line and headers.
    pub head: String,
    /// The body's data, de-chunked.
    pub body: Vec<u8>,
    /// Whether the body came whole: a chunked one ended with its last chunk (a response
    /// broken off has none), one of a stated length had all its bytes.
    pub complete: bool,
}

/// `GET path` over HTTP/1.1 from `base` (`http://host:port`) with `headers`: reads 2 KiB of
/// the answer, waits half a second, runs `meanwhile`, then reads the rest.
pub fn paused_get(
    base: &str,
    path: &str,
    headers: &[(&str, &str)],
    meanwhile: impl FnOnce(),
) -> PausedAnswer {
    let addr = base.trim_start_matches("http://");
    let mut conn = narrow_connection(addr);
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    conn.write_all(request.as_bytes()).unwrap();
    let mut answer = vec![0u8; 2048];
    conn.read_exact(&mut answer).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    meanwhile();
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let _ = conn.read_to_end(&mut answer); // a response broken off may end in a reset
    let at = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&answer[..at]).to_string();
    let lower = head.to_ascii_lowercase();
    let stated = lower
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|n| n.trim().parse::<usize>().unwrap());
    let (body, complete) = match stated {
        Some(length) => {
            let body = answer[at + 4..].to_vec();
            let whole = body.len() == length;
            (body, whole)
        }
        None => {
            assert!(lower.contains("transfer-encoding: chunked"), "{head}");
            dechunked(&answer[at + 4..])
        }
    };
    PausedAnswer {
        head,
        body,
        complete,
    }
}

/// A connection to `addr` whose receive buffer is 4 KiB, set before it connects (so the
/// window it offers stays small): the server's writes stop once the pipe is full, and the
/// test decides when the rest is read. The server's own socket buffer still takes up to
/// 4 MiB (Linux's largest), so a response must be larger than that for its writer to wait.
fn narrow_connection(addr: &str) -> TcpStream {
    let addr: std::net::SocketAddrV4 = addr.parse().unwrap();
    // SAFETY: plain socket calls on a descriptor this function owns until it is handed over
    // to the TcpStream; the address structure lives across the connect.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let size: libc::c_int = 4096;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            &size as *const _ as *const libc::c_void,
            std::mem::size_of_val(&size) as libc::socklen_t,
        );
        let sa = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: addr.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*addr.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        let r = libc::connect(
            fd,
            &sa as *const _ as *const libc::sockaddr,
            std::mem::size_of_val(&sa) as libc::socklen_t,
        );
        assert_eq!(r, 0, "connect to {addr}");
        TcpStream::from_raw_fd(fd)
    }
}

/// The data of a chunked body, and whether its last (empty) chunk arrived.
fn dechunked(mut raw: &[u8]) -> (Vec<u8>, bool) {
    let mut data = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else {
            return (data, false);
        };
        let size = std::str::from_utf8(&raw[..eol]).unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return (data, true);
        }
        let chunk = &raw[eol + 2..];
        if chunk.len() < size + 2 {
            data.extend_from_slice(&chunk[..chunk.len().min(size)]);
            return (data, false);
        }
        data.extend_from_slice(&chunk[..size]);
        raw = &chunk[size + 2..];
    }
}
