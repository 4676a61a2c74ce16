"""Downloads over SFTP (paramiko) and FTPS (ftplib) read whole, read in part, and cut off, for
broken_off_downloads.rs to read the audit log after.

Usage: partial_reads.py SFTP_PORT FTPS_PORT USER PASSWORD
Uploads whole.bin (256 KiB) and big.bin (8 MiB), then:
- SFTP: whole.bin read to its end; big.bin opened, 100,000 bytes read, closed; big.bin opened,
  50,000 bytes read, the connection dropped without a CLOSE.
- FTPS: whole.bin retrieved; big.bin's data connection closed after 64 KiB; whole.bin with
  REST at its size (nothing to send).
Prints one line per step; exits non-zero on the first failure.
"""
import io
import os
import socket
import ssl
import sys
from ftplib import all_errors

from sftp_peer import check, connect_sftp

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ftps"))
from reusing_tls import ReusingFTP_TLS  # noqa: E402

sftp_port, ftps_port, user, password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
WHOLE = bytes(range(256)) * 1024
BIG = os.urandom(8 << 20)
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE

transport, sftp = connect_sftp(sftp_port, user, password)
sftp.putfo(io.BytesIO(WHOLE), "whole.bin")
sftp.putfo(io.BytesIO(BIG), "big.bin")

got = io.BytesIO()
sftp.getfo("whole.bin", got)
check(got.getvalue() == WHOLE, "SFTP whole.bin read whole")

with sftp.open("big.bin", "rb") as f:
    check(f.read(100_000) == BIG[:100_000], "SFTP big.bin: 100,000 bytes read, then closed")
transport.close()

transport, sftp = connect_sftp(sftp_port, user, password)
f = sftp.open("big.bin", "rb")
check(f.read(50_000) == BIG[:50_000], "SFTP big.bin: 50,000 bytes read")
transport.sock.shutdown(socket.SHUT_RDWR)
transport.close()
print("SFTP connection dropped without a CLOSE", flush=True)

ftp = ReusingFTP_TLS(context=context, timeout=60)
ftp.connect("127.0.0.1", ftps_port)
ftp.auth()
ftp.login(user, password)
ftp.prot_p()
data = bytearray()
ftp.retrbinary("RETR whole.bin", data.extend)
check(bytes(data) == WHOLE, "FTPS whole.bin retrieved whole")

conn = ftp.transfercmd("RETR big.bin")
part = bytearray()
while len(part) < 65536:
    chunk = conn.recv(65536 - len(part))
    if not chunk:
        break
    part.extend(chunk)
check(bytes(part) == BIG[:len(part)] and len(part) == 65536, "FTPS big.bin: 64 KiB read")
conn.close()  # no TLS goodbye: the data connection simply goes
try:
    reply = ftp.getresp()
    print("FTPS after the cut: " + reply, flush=True)
except all_errors as e:
    print("FTPS after the cut: %s" % e, flush=True)

nothing = bytearray()
ftp.retrbinary("RETR whole.bin", nothing.extend, rest=len(WHOLE))
check(len(nothing) == 0, "FTPS whole.bin with REST at its size: nothing sent")
ftp.quit()
