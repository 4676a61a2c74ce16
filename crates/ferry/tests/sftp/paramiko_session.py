"""Drives Ferry's SFTP with paramiko, as an integration script would.

Usage: paramiko_session.py PORT USER PASSWORD WORKDIR
Prints one line per check; exits non-zero on the first failure.
"""
import hashlib
import io
import os
import sys

import paramiko

port, user, password, workdir = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


def connect(pw=password):
    transport = paramiko.Transport(("127.0.0.1", port))
    transport.connect(username=user, password=pw)
    return transport, paramiko.SFTPClient.from_transport(transport)


def expect_error(what, fn, kinds=(IOError, OSError), message=None):
    """Runs `fn`, which must be refused; `message`, if given, must be in the refusal's text
    (SSH_FX_FAILURE alone would not tell a client why)."""
    try:
        fn()
    except kinds as e:
        if message is not None and message not in str(e):
            raise SystemExit(f"{what}: the refusal says {e!r}, not {message!r}")
        print(f"refused {what}: {type(e).__name__}: {e}")
        return
    raise SystemExit(f"{what} was not refused")


try:
    connect("not-the-password")
    raise SystemExit("a wrong password was accepted")
except paramiko.AuthenticationException:
    print("refused wrong password")

transport, sftp = connect()
print("server", transport.remote_version)
sftp.chdir(workdir)
assert sftp.normalize(".") == workdir, sftp.normalize(".")
data = os.urandom(5 * 1024 * 1024 + 3)
digest = hashlib.sha256(data).hexdigest()
sftp.putfo(io.BytesIO(data), "report.bin")
assert sftp.stat("report.bin").st_size == len(data)
got = io.BytesIO()
sftp.getfo("report.bin", got)
assert hashlib.sha256(got.getvalue()).hexdigest() == digest
print(f"round trip {digest}")
# A read in the middle (paramiko seeks).
with sftp.open("report.bin", "rb") as f:
    f.seek(4_000_000)
    assert f.read(1000) == data[4_000_000:4_001_000]
print("seek ok")
# Many READs in flight on one handle (readv sends them all before reading a reply), at
# offsets going backwards and jumping about: each reply carries the bytes of its own request.
with sftp.open("report.bin", "rb") as f:
    wanted = [(o, 32768) for o in range(0, len(data) - 32768, 32768)][::-1]
    wanted += [(3, 100), (len(data) - 10, 10), (1_000_001, 70_000)]
    for (o, n), block in zip(wanted, f.readv(wanted)):
        assert block == data[o:o + n], (o, n, len(block))
print(f"{len(wanted)} pipelined reads ok")
# A new version.
sftp.putfo(io.BytesIO(b"version two"), "report.bin")
assert sftp.stat("report.bin").st_size == len(b"version two")

sftp.mkdir("sub")
sftp.rename("report.bin", "sub/moved.bin")
sftp.rename("sub/moved.bin", "sub/renamed.bin")
assert sftp.listdir("sub") == ["renamed.bin"], sftp.listdir("sub")
expect_error("rmdir of a folder that is not empty", lambda: sftp.rmdir("sub"),
             message="the folder is not empty (error 207)")
sftp.utime("sub/renamed.bin", (1_700_000_000, 1_700_000_000))
print("setstat of times accepted")
sftp.remove("sub/renamed.bin")
sftp.rmdir("sub")
print("folders ok")

# Paths: .. stays inside the tree; things the model does not have are refused.
assert sorted(sftp.listdir("/../../..")) == ["Home", "Shared"], sftp.listdir("/../../..")
expect_error("a path outside the tree", lambda: sftp.listdir("/etc"))
expect_error("a NUL in a path", lambda: sftp.stat(workdir + "/a\x00b"))
expect_error("a backslash name", lambda: sftp.putfo(io.BytesIO(b"x"), workdir + "/..\\x"))
expect_error("a 300-byte name", lambda: sftp.putfo(io.BytesIO(b"x"), workdir + "/" + "n" * 300))
expect_error("a 5000-byte path", lambda: sftp.stat("/" + "d/" * 2500))
expect_error("writing into Shared without Create", lambda: sftp.putfo(io.BytesIO(b"x"), "/Shared/x.bin"))
expect_error("symlink", lambda: sftp.symlink(workdir + "/a", workdir + "/b"))
sftp.putfo(io.BytesIO(b"mode"), "mode.txt")
# A mode is accepted and ignored (as SFTPGo's setstat_mode): Ferry's permission bits decide.
before = sftp.stat("mode.txt").st_mode
sftp.chmod("mode.txt", 0o777)
assert sftp.stat("mode.txt").st_mode == before, oct(sftp.stat("mode.txt").st_mode)
print("chmod accepted and ignored")
expect_error("chown", lambda: sftp.chown("mode.txt", 0, 0))
# Appending ("a": WRITE|CREAT|APPEND) makes a new version that starts with the old bytes.
with sftp.open("mode.txt", "a") as f:
    f.write(b" and more")
got = io.BytesIO()
sftp.getfo("mode.txt", got)
assert got.getvalue() == b"mode and more", got.getvalue()
with sftp.open("appended-new.txt", "a") as f:
    f.write(b"fresh")
assert sftp.stat("appended-new.txt").st_size == 5
# APPEND with EXCLUDE ("ax") refuses an existing name instead of appending to it.
expect_error("an exclusive append to an existing name", lambda: sftp.open("appended-new.txt", "ax"),
             message="(error 204)")
assert sftp.stat("appended-new.txt").st_size == 5
print("append ok")
expect_error("an unknown extension", lambda: sftp._request(paramiko.sftp.CMD_EXTENDED, "nonsense@example.com"))

# The same name opened for writing twice at once: two versions, neither one torn.
first, second = sftp.open("twice.bin", "wb"), sftp.open("twice.bin", "wb")
first.write(b"A" * 300_000)
second.write(b"B" * 200_000)
first.close()
second.close()
got = io.BytesIO()
sftp.getfo("twice.bin", got)
assert got.getvalue() == b"B" * 200_000, len(got.getvalue())
print("two writers made two versions")

# Malformed and oversized packets on a second channel end that channel, not the server.
for garbage in [b"\x00\x00\x00\x05\xff\x00\x00\x00\x01", b"\x7f\xff\xff\xff" + b"x" * 64]:
    chan = transport.open_session()
    chan.invoke_subsystem("sftp")
    chan.sendall(garbage)
    chan.settimeout(10)
    try:
        chan.recv(1024)
    except Exception:
        pass
    chan.close()
sftp.stat("twice.bin")
print("malformed packets survived")

# An upload cut off by the connection ending leaves nothing.
f = sftp.open("cut.bin", "wb")
f.write(os.urandom(1024 * 1024))
f.flush()
transport.sock.close()
transport.close()

transport, sftp = connect()
sftp.chdir(workdir)
names = sftp.listdir(".")
assert "cut.bin" not in names, names
print("cut upload left nothing")
transport.close()
print("done")
