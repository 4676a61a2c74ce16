//! One SFTP channel, served inside the SSH connection's own task: the bytes russh hands to
//! `Handler::data` are framed into SFTP packets here, each request is carried out by the
//! [`SftpHandler`] at once, and the replies go straight back through the session.
//!
//! russh-sftp's own server reads the channel as a stream on a task of its own, which costs
//! two hops between tasks (and a flush) for every 32 KiB request; serving the channel where
//! russh decrypts it removes both. russh-sftp still provides the packet types and their
//! encoding.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use russh_sftp::protocol::{Packet, Status};
use russh_sftp::server::{Handler, StatusReply};

use crate::sftp::SftpHandler;

/// Largest request accepted (its length field's value), as OpenSSH's sftp-server: 256 KiB of
/// data and room for the request's other fields.
pub const MAX_PACKET: usize = 256 * 1024 + 1024;

/// The client broke the framing (a packet longer than [`MAX_PACKET`], or of length 0): the
/// channel is closed, since nothing after it can be trusted to be aligned.
#[derive(Debug, thiserror::Error)]
#[error("SFTP framing broken: packet of {0} bytes")]
pub struct FramingBroken(pub usize);

/// An SFTP channel's state.
pub struct SftpChannel {
    handler: SftpHandler,
    inbox: BytesMut,
}

impl SftpChannel {
    /// A channel served by `handler`.
    pub fn new(handler: SftpHandler) -> Self {
        SftpChannel {
            handler,
            inbox: BytesMut::with_capacity(64 * 1024),
        }
    }

    /// Takes bytes from the client and carries out every request they complete; returns
    /// the encoded replies, in order.
    pub async fn feed(&mut self, data: &[u8]) -> Result<Vec<Bytes>, FramingBroken> {
        self.inbox.extend_from_slice(data);
        let mut replies = Vec::new();
        while self.inbox.len() >= 4 {
            let len = u32::from_be_bytes(self.inbox[..4].try_into().expect("4 bytes")) as usize;
            if len == 0 || len > MAX_PACKET {
                return Err(FramingBroken(len));
            }
            if self.inbox.len() < 4 + len {
                break;
            }
            self.inbox.advance(4);
            let mut body = self.inbox.split_to(len).freeze();
            // The two requests that carry the bytes skip the generic decoding: a read's data
            // goes from the file straight into its reply, a write's from the packet into the
            // upload.
            match body[0] {
                SSH_FXP_READ => {
                    if let Some((id, handle, offset, len)) = read_request(&body) {
                        replies.push(self.read(id, &handle, offset, len).await);
                        continue;
                    }
                }
                SSH_FXP_WRITE => {
                    if let Some((id, handle, offset, data)) = write_request(&body) {
                        let result = self.handler.write_at(&handle, offset, &data).await;
                        let reply = answer(id, result.map(|()| ok_status(id)));
                        replies.extend(Bytes::try_from(reply).ok());
                        continue;
                    }
                }
                _ => {}
            }
            let reply = match Packet::try_from(&mut body) {
                Ok(request) => dispatch(&mut self.handler, request).await,
                Err(_) => Packet::error(0, russh_sftp::protocol::StatusCode::BadMessage),
            };
            match Bytes::try_from(reply) {
                Ok(bytes) => replies.push(bytes),
                Err(e) => tracing::error!(error = %e, "an SFTP reply could not be encoded"),
            }
        }
        Ok(replies)
    }
}

impl SftpChannel {
    /// An `SSH_FXP_DATA` reply built around the bytes read, or the status that refuses it.
    async fn read(&mut self, id: u32, handle: &str, offset: u64, len: u32) -> Bytes {
        let mut out = BytesMut::with_capacity(13 + len.min(MAX_PACKET as u32) as usize);
        out.put_u32(0); // length, set below
        out.put_u8(SSH_FXP_DATA);
        out.put_u32(id);
        out.put_u32(0); // data length, set below
        match self.handler.read_into(handle, offset, len, &mut out).await {
            Ok(n) => {
                out[0..4].copy_from_slice(&(9 + n as u32).to_be_bytes());
                out[9..13].copy_from_slice(&(n as u32).to_be_bytes());
                out.freeze()
            }
            Err(code) => {
                Bytes::try_from(answer::<Status, _>(id, Err(code))).unwrap_or_else(|_| Bytes::new())
            }
        }
    }
}

const SSH_FXP_READ: u8 = 5;
const SSH_FXP_WRITE: u8 = 6;
const SSH_FXP_DATA: u8 = 103;

fn ok_status(id: u32) -> Status {
    Status {
        id,
        status_code: russh_sftp::protocol::StatusCode::Ok,
        error_message: "Ok".into(),
        language_tag: "en-US".into(),
    }
}

/// Reads SSH wire fields off the front of a packet body.
struct Fields(Bytes);

impl Fields {
    fn u32(&mut self) -> Option<u32> {
        (self.0.len() >= 4).then(|| self.0.get_u32())
    }
    fn u64(&mut self) -> Option<u64> {
        (self.0.len() >= 8).then(|| self.0.get_u64())
    }
    fn string(&mut self) -> Option<Bytes> {
        let len = self.u32()? as usize;
        (self.0.len() >= len).then(|| self.0.split_to(len))
    }
}

/// `SSH_FXP_READ`: id, handle, offset, length.
/// Every decoding a request body goes through in [`SftpChannel::feed`], without carrying the
/// request out (for fuzzing).
pub(crate) fn decode_only(body: &[u8]) {
    let Some(&kind) = body.first() else {
        return;
    };
    let body = Bytes::copy_from_slice(body);
    match kind {
        SSH_FXP_READ => drop(read_request(&body)),
        SSH_FXP_WRITE => drop(write_request(&body)),
        _ => {}
    }
    let _ = Packet::try_from(&mut body.clone());
}

fn read_request(body: &Bytes) -> Option<(u32, String, u64, u32)> {
    let mut f = Fields(body.slice(1..));
    let id = f.u32()?;
    let handle = String::from_utf8(f.string()?.to_vec()).ok()?;
    let offset = f.u64()?;
    let len = f.u32()?;
    f.0.is_empty().then_some((id, handle, offset, len))
}

/// `SSH_FXP_WRITE`: id, handle, offset, data (a slice of the packet, not a copy).
fn write_request(body: &Bytes) -> Option<(u32, String, u64, Bytes)> {
    let mut f = Fields(body.slice(1..));
    let id = f.u32()?;
    let handle = String::from_utf8(f.string()?.to_vec()).ok()?;
    let offset = f.u64()?;
    let data = f.string()?;
    f.0.is_empty().then_some((id, handle, offset, data))
}

/// A handler's result as the packet that answers the request.
fn answer<T: Into<Packet>, E: Into<StatusReply>>(id: u32, result: Result<T, E>) -> Packet {
    match result {
        Ok(reply) => reply.into(),
        Err(e) => {
            let StatusReply {
                status_code,
                error_message,
                language_tag,
            } = e.into();
            Packet::Status(Status {
                id,
                status_code,
                error_message: error_message.unwrap_or_else(|| status_code.to_string()),
                language_tag: language_tag.unwrap_or_else(|| "en-US".to_string()),
            })
        }
    }
}

async fn dispatch(h: &mut SftpHandler, request: Packet) -> Packet {
    let id = request.get_request_id();
    match request {
        Packet::Init(p) => answer(id, h.init(p.version, p.extensions).await),
        Packet::Open(p) => answer(id, h.open(p.id, p.filename, p.pflags, p.attrs).await),
        Packet::Close(p) => answer(id, h.close(p.id, p.handle).await),
        Packet::Read(p) => answer(id, h.read(p.id, p.handle, p.offset, p.len).await),
        Packet::Write(p) => answer(id, h.write(p.id, p.handle, p.offset, p.data).await),
        Packet::Lstat(p) => answer(id, h.lstat(p.id, p.path).await),
        Packet::Fstat(p) => answer(id, h.fstat(p.id, p.handle).await),
        Packet::SetStat(p) => answer(id, h.setstat(p.id, p.path, p.attrs).await),
        Packet::FSetStat(p) => answer(id, h.fsetstat(p.id, p.handle, p.attrs).await),
        Packet::OpenDir(p) => answer(id, h.opendir(p.id, p.path).await),
        Packet::ReadDir(p) => answer(id, h.readdir(p.id, p.handle).await),
        Packet::Remove(p) => answer(id, h.remove(p.id, p.filename).await),
        Packet::MkDir(p) => answer(id, h.mkdir(p.id, p.path, p.attrs).await),
        Packet::RmDir(p) => answer(id, h.rmdir(p.id, p.path).await),
        Packet::RealPath(p) => answer(id, h.realpath(p.id, p.path).await),
        Packet::Stat(p) => answer(id, h.stat(p.id, p.path).await),
        Packet::Rename(p) => answer(id, h.rename(p.id, p.oldpath, p.newpath).await),
        Packet::ReadLink(p) => answer(id, h.readlink(p.id, p.path).await),
        Packet::Symlink(p) => answer(id, h.symlink(p.id, p.linkpath, p.targetpath).await),
        Packet::Extended(p) => match h.extended(p.id, p.request, p.data).await {
            Ok(packet) => packet,
            Err(e) => answer::<Status, _>(id, Err(e)),
        },
        _ => Packet::error(id, russh_sftp::protocol::StatusCode::BadMessage),
    }
}
