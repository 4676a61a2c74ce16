"""Uploads slowly over FTPS (ftplib) and reports what the server did after the test changed
something about the user.

Usage: slow_ftps_upload.py FTPS_PORT USER PASSWORD PATH
Begins `STOR PATH`, sends 64 KiB, prints "ready" and waits for a line on standard input (the
test changes the user meanwhile). Then sends 64 KiB every 20 ms for at most 10 s, and prints
"cut BYTES REPLY" when the server stopped taking bytes before then, "whole BYTES REPLY" when
it took them all, REPLY being the server's answer to the STOR.
"""
import ssl
import sys
import time
from ftplib import all_errors

from reusing_tls import signed_in

port, user, password, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
CHUNK = b"u" * (64 * 1024)

ftp = signed_in(port, user, password, timeout=30)
ftp.voidcmd("TYPE I")
data = ftp.transfercmd("STOR " + path)
data.sendall(CHUNK)
sent = len(CHUNK)
print("ready", flush=True)
sys.stdin.readline()

state = "whole"
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    try:
        data.sendall(CHUNK)
        sent += len(CHUNK)
    except (OSError, ssl.SSLError):
        state = "cut"
        break
    time.sleep(0.02)
try:
    data.unwrap()
except (OSError, ssl.SSLError, ValueError):
    pass
data.close()
try:
    reply = ftp.voidresp()
except all_errors as e:
    reply = str(e)
print(f"{state} {sent} {reply.splitlines()[0] if reply else ''}", flush=True)
