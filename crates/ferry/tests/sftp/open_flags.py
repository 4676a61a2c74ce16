"""SFTP open flags as OpenSSH's server honours them, driven packet by packet with paramiko:
the sequences sshfs, lftp's resume and editors send (issue 16, item 2).

Usage: open_flags.py PORT USER PASSWORD WORKDIR
Prints one line per check; exits non-zero on the first failure. Leaves in WORKDIR:
  kept.txt      "0123456789" as version 1: opened without TRUNC and closed unwritten
  edited.txt    version 2: "01XY456789" (no TRUNC, a write at offset 2)
  scattered.bin one version: writes out of order and a gap of zeros
  rw.txt        version 2: read through a READ|WRITE handle, then changed (a download audited)
  cut.txt       version 2: "0123" (ftruncate on a handle)
  created.txt   version 1: "fresh" (CREAT|EXCL, STAT of the path while written)
  empty.txt     version 1: empty (CREAT|TRUNC, nothing written)
  far.bin       absent, or empty (a far write or extension refused)
"""
import errno
import io
import sys

import paramiko
from paramiko.sftp import CMD_HANDLE, CMD_OPEN
from paramiko.sftp_attr import SFTPAttributes
from paramiko.sftp_file import SFTPFile

READ, WRITE, APPEND, CREAT, TRUNC, EXCL = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20

port, user, password, workdir = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
transport = paramiko.Transport(("127.0.0.1", port))
transport.connect(username=user, password=password)
sftp = paramiko.SFTPClient.from_transport(transport)
sftp.chdir(workdir)


def open_raw(path, flags):
    """SSH_FXP_OPEN with exactly `flags` (paramiko's modes cannot say WRITE|CREAT alone)."""
    kind, msg = sftp._request(CMD_OPEN, sftp._adjust_cwd(path), flags, SFTPAttributes())
    assert kind == CMD_HANDLE, kind
    return SFTPFile(sftp, msg.get_binary(), "r+")


def content(path):
    out = io.BytesIO()
    sftp.getfo(path, out)
    return out.getvalue()


def refused(what, fn, code):
    try:
        fn()
    except IOError as e:
        assert code is None or e.errno == code, (what, e)
        print(f"refused {what}: {e}")
        return
    raise SystemExit(f"{what} was not refused")


# WRITE without CREAT on a name with no file: no such file, and nothing made.
refused("WRITE without CREAT on a missing name", lambda: open_raw("missing.txt", WRITE), errno.ENOENT)
assert "missing.txt" not in sftp.listdir(".")

# lftp's `put -c` of a complete file: WRITE|CREAT without TRUNC, nothing written: no version.
sftp.putfo(io.BytesIO(b"0123456789"), "kept.txt")
open_raw("kept.txt", WRITE | CREAT).close()
assert content("kept.txt") == b"0123456789"
print("unwritten handle committed nothing")

# Without TRUNC the next version starts from the stored bytes; a write lands at its offset.
sftp.putfo(io.BytesIO(b"0123456789"), "edited.txt")
with open_raw("edited.txt", WRITE | CREAT) as f:
    assert f.stat().st_size == 10
    f.seek(2)
    f.write(b"XY")
    f.flush()
    assert f.stat().st_size == 10
    assert sftp.stat("edited.txt").st_size == 10
assert content("edited.txt") == b"01XY456789", content("edited.txt")
print("copy-on-write edit ok")

# Writes out of order, and past the end (the gap reads as zeros), on a new file.
with open_raw("scattered.bin", WRITE | CREAT | TRUNC) as f:
    f.seek(70_000)
    f.write(b"C" * 30_000)
    f.seek(0)
    f.write(b"A" * 40_000)
    f.flush()
    assert f.stat().st_size == 100_000
expected = b"A" * 40_000 + b"\0" * 30_000 + b"C" * 30_000
assert content("scattered.bin") == expected
print("out-of-order writes ok")

# A write far past the end, or an extension, that would make the file reach more than 64 MiB
# beyond the bytes put into it is refused (one packet must not make an exabyte-sized file), and
# the refused handle stores nothing.
def far_write():
    with open_raw("far.bin", WRITE | CREAT | TRUNC) as f:
        f.seek(1 << 40)
        f.write(b"x")
        f.flush()


def huge_truncate():
    with open_raw("far.bin", WRITE | CREAT | TRUNC) as f:
        f.truncate(1 << 40)


refused("a write 1 TiB past the end", far_write, None)
refused("an ftruncate to 1 TiB", huge_truncate, None)
assert "far.bin" not in sftp.listdir(".") or sftp.stat("far.bin").st_size == 0

# READ|WRITE (paramiko's r+, Go's pkg/sftp): reads see the stored bytes, then the handle's own.
sftp.putfo(io.BytesIO(b"read me, then change me"), "rw.txt")
with sftp.open("rw.txt", "r+") as f:
    assert f.read(7) == b"read me"
    f.seek(0)
    f.write(b"READ ME")
    f.seek(0)
    assert f.read(7) == b"READ ME"
assert content("rw.txt") == b"READ ME, then change me"
print("read-write handle ok")

# ftruncate (FSETSTAT of a size) on a handle that started from the stored bytes.
sftp.putfo(io.BytesIO(b"0123456789"), "cut.txt")
with open_raw("cut.txt", WRITE) as f:
    f.truncate(4)
    assert f.stat().st_size == 4
assert content("cut.txt") == b"0123"
print("ftruncate ok")

# sshfs creating a file: OPEN CREAT|EXCL, then FSTAT and STAT of the path before and after a
# write, then CLOSE. Until CLOSE nobody else sees the file.
f = open_raw("created.txt", WRITE | CREAT | EXCL)
assert f.stat().st_size == 0
assert sftp.stat("created.txt").st_size == 0
f.write(b"fresh")
f.flush()
assert sftp.stat("created.txt").st_size == 5
other = paramiko.Transport(("127.0.0.1", port))
other.connect(username=user, password=password)
other_sftp = paramiko.SFTPClient.from_transport(other)
other_sftp.chdir(workdir)
assert "created.txt" not in other_sftp.listdir("."), "visible before CLOSE"
f.close()
assert "created.txt" in other_sftp.listdir(".")
other.close()
assert content("created.txt") == b"fresh"
refused("CREAT|EXCL on an existing name", lambda: open_raw("created.txt", WRITE | CREAT | EXCL), None)
print("sshfs create sequence ok")

# CREAT|TRUNC with nothing written makes an empty file, as open(2) would.
open_raw("empty.txt", WRITE | CREAT | TRUNC).close()
assert sftp.stat("empty.txt").st_size == 0
print("empty create ok")
transport.close()
print("done")
