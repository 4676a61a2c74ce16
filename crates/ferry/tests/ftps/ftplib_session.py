"""Drives Ferry's FTPS with Python's ftplib (FTP_TLS), as a trading partner's script would.

Usage: ftplib_session.py HOST PORT USER PASSWORD WORKDIR
Prints one line per check; exits non-zero on the first failure.
"""
import hashlib
import io
import os
import socket
import ssl
import sys
from ftplib import FTP, FTP_TLS, error_perm

from reusing_tls import ReusingFTP_TLS

host, port, user, password, workdir = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE


def connect(cls=ReusingFTP_TLS):
    ftp = cls(context=context, timeout=20)
    ftp.connect(host, port)
    ftp.auth()
    ftp.login(user, password)
    ftp.prot_p()
    return ftp


def stor(ftp, name, data):
    """ftplib's own storbinary: it waits for the server's TLS close_notify after the data."""
    return ftp.storbinary("STOR " + name, io.BytesIO(data))


def expect_perm(what, fn):
    try:
        fn()
    except error_perm as e:
        print(f"refused {what}: {str(e)[:3]}")
        return
    raise SystemExit(f"{what} was not refused")


# A login before AUTH TLS is refused, and so is the plaintext password.
plain = FTP(timeout=20)
plain.connect(host, port)
expect_perm("plaintext login", lambda: plain.login(user, password))
plain.close()

# A wrong password.
bad = FTP_TLS(context=context, timeout=20)
bad.connect(host, port)
bad.auth()
expect_perm("wrong password", lambda: bad.login(user, "not-the-password"))
bad.close()

# A data connection that does not resume the control connection's TLS session (plain
# ftplib) is refused, and nothing is stored.
careless = connect(FTP_TLS)
careless.cwd(workdir)
expect_perm("a data connection without TLS session reuse", lambda: stor(careless, "careless.bin", b"x"))
careless.quit()

ftp = connect()
# The session starts in the user's home folder (the work folder here), as on vsftpd; a write
# where nothing may be written is refused as not permitted.
assert ftp.pwd() == workdir, ftp.pwd()
stor(ftp, "at-start.txt", b"no path given")
assert "at-start.txt" in [n for n, _ in ftp.mlsd(workdir)]
ftp.delete(workdir + "/at-start.txt")
expect_perm("a write into the root", lambda: stor(ftp, "/at-root.txt", b"x"))
print("starts in the home folder")
ftp.cwd(workdir)
data = os.urandom(3 * 1024 * 1024 + 17)
digest = hashlib.sha256(data).hexdigest()
reply = stor(ftp, "report.bin", data)
assert reply.startswith("226") and digest in reply, reply
print("STOR ended with both close_notify alerts")
assert ftp.sendcmd("XSHA256 report.bin") == "213 " + digest
assert ftp.sendcmd("HASH report.bin") == f"213 SHA-256 0-{len(data) - 1} {digest} report.bin"
print("HASH and XSHA256 give the recorded SHA-256")
assert ftp.size("report.bin") == len(data), ftp.size("report.bin")
names = [n for n, facts in ftp.mlsd()]
assert "report.bin" in names, names
facts = dict(ftp.mlsd())["report.bin"]
assert facts["type"] == "file" and int(facts["size"]) == len(data), facts
got = io.BytesIO()
ftp.retrbinary("RETR report.bin", got.write)
assert hashlib.sha256(got.getvalue()).hexdigest() == digest
print(f"round trip {digest}")

# A second upload to the same name is a new version.
stor(ftp, "report.bin", b"version two")
assert ftp.size("report.bin") == len(b"version two")

# Resumed download (REST), then the tail only.
stor(ftp, "big.bin", data)
tail = io.BytesIO()
ftp.retrbinary("RETR big.bin", tail.write, rest=1_000_000)
assert tail.getvalue() == data[1_000_000:], len(tail.getvalue())
print("resumed download ok")

# A resumed upload: REST at the stored file's size, then STOR of the rest; and APPE.
stor(ftp, "resumed.bin", data[:1_000_000])
ftp.storbinary("STOR resumed.bin", io.BytesIO(data[1_000_000:]), rest=1_000_000)
assert ftp.sendcmd("XSHA256 resumed.bin") == "213 " + digest
expect_perm("REST before STOR that is not the stored size",
            lambda: ftp.storbinary("STOR resumed.bin", io.BytesIO(b"x"), rest=5))
expect_perm("REST before STOR of a missing file",
            lambda: ftp.storbinary("STOR missing.bin", io.BytesIO(b"x"), rest=5))
ftp.storbinary("APPE resumed.bin", io.BytesIO(b"and a tail"))
assert ftp.sendcmd("XSHA256 resumed.bin") == "213 " + hashlib.sha256(data + b"and a tail").hexdigest()
print("resumed upload and APPE ok")

# Active mode to the client's own address works (PORT/EPRT from ftplib itself).
ftp.set_pasv(False)
active = io.BytesIO()
ftp.retrbinary("RETR big.bin", active.write)
assert hashlib.sha256(active.getvalue()).hexdigest() == digest
ftp.set_pasv(True)
print("active mode to the client's own address ok")

# Listing a folder that does not exist is one 550, before any data connection.
expect_perm("MLSD of a missing folder", lambda: list(ftp.mlsd("no-such-folder")))

# Folders, rename within and across folders, delete.
ftp.mkd("sub")
ftp.rename("big.bin", "sub/moved.bin")
ftp.rename("sub/moved.bin", "sub/renamed.bin")
assert [n for n, _ in ftp.mlsd("sub")] == ["renamed.bin"], list(ftp.mlsd("sub"))
expect_perm("RMD of a folder that is not empty", lambda: ftp.rmd("sub"))
ftp.delete("sub/renamed.bin")
ftp.rmd("sub")
print("folders ok")

# Paths: .. stays inside the tree, names that cannot exist, NUL and CR/LF are refused.
ftp.cwd("/../../..")
assert ftp.pwd() == "/", ftp.pwd()
assert sorted(n for n, _ in ftp.mlsd()) == ["Home", "Shared"], list(ftp.mlsd())
expect_perm("a path outside the tree", lambda: ftp.cwd("/etc"))
expect_perm("a backslash name", lambda: stor(ftp, workdir + "/..\\..\\x", b"x"))
expect_perm("a name over 255 bytes", lambda: stor(ftp, workdir + "/" + "n" * 300, b"x"))
# ftplib refuses CR/LF in commands, so the smuggled line goes out on the socket itself.
ftp.sock.sendall(("DELE " + workdir + "/report.bin\rRMD " + workdir + "\r\n").encode())
smuggled = ftp.getline()
assert smuggled.startswith("500"), smuggled
assert ftp.size(workdir + "/report.bin") == len(b"version two")
print(f"refused CR injection: {smuggled[:3]}, nothing deleted")

# Writing into a folder without Create.
expect_perm("STOR into Shared without Create", lambda: stor(ftp, "/Shared/x.bin", b"x"))
expect_perm("MKD in Shared without Create", lambda: ftp.mkd("/Shared/newdir"))
expect_perm("RNTO into Shared without Create", lambda: ftp.rename(workdir + "/report.bin", "/Shared/stolen.bin"))
assert ftp.size(workdir + "/report.bin") == len(b"version two")

# Active mode (FTP bounce): PORT to another host is refused; only passive mode is served.
expect_perm("PORT to another address", lambda: ftp.sendcmd("PORT 10,0,0,1,4,1"))
expect_perm("EPRT to another address", lambda: ftp.sendcmd("EPRT |1|10.0.0.1|1025|"))

# A data connection cut in the middle of STOR leaves nothing behind.
ftp.cwd(workdir)
conn = ftp.transfercmd("STOR cut.bin")
conn.sendall(os.urandom(2 * 1024 * 1024))
# Close the TCP connection without TLS's close_notify: an abort, not an end of file.
raw = socket.socket(fileno=os.dup(conn.fileno()))
raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
raw.close()
conn.close()
try:
    ftp.voidresp()
except Exception as e:
    print(f"aborted upload answered: {str(e)[:3]}")
ftp.close()

ftp = connect()
ftp.cwd(workdir)
names = [n for n, _ in ftp.mlsd()]
assert "cut.bin" not in names, names
print("aborted upload left nothing")
ftp.quit()

# STARTTLS command injection: a command sent together with AUTH TLS, before the handshake,
# would be read as if it had come over TLS. The server answers 234 and closes instead.
raw = socket.create_connection((host, port), timeout=20)
raw.recv(1024)
raw.sendall(b"AUTH TLS\r\nUSER alice\r\n")
answer = b""
while True:
    chunk = raw.recv(1024)
    if not chunk:
        break
    answer += chunk
raw.close()
assert answer.startswith(b"234") and b"421" in answer, answer
print("refused commands injected before the TLS handshake")
print("done")
