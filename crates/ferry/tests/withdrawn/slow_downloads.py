"""Downloads one large file slowly over SFTP (paramiko) and FTPS (ftplib) as one user, and
reports how far each got after the test has taken the user's grant away.

Usage: slow_downloads.py SFTP_PORT FTPS_PORT USER PASSWORD PATH SIZE
Opens both downloads and reads 64 KiB of each, prints "ready" and waits for a line on
standard input (the test withdraws the grant meanwhile). Then reads on, 64 KiB every 20 ms,
for at most 20 s, and prints one line per download: "NAME cut BYTES" when the server broke
it off before SIZE bytes, "NAME whole BYTES" when it all came.
"""
import ssl
import sys
import time

import paramiko
from reusing_tls import signed_in

sftp_port, ftps_port = int(sys.argv[1]), int(sys.argv[2])
user, password, path, size = sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
CHUNK = 64 * 1024

transport = paramiko.Transport(("127.0.0.1", sftp_port))
transport.connect(username=user, password=password)
sftp = paramiko.SFTPClient.from_transport(transport)
remote = sftp.open(path, "rb")
got = {"sftp": len(remote.read(CHUNK))}

ftp = signed_in(ftps_port, user, password, timeout=30)
ftp.voidcmd("TYPE I")
data = ftp.transfercmd("RETR " + path)
got["ftps"] = len(data.recv(CHUNK))

print("ready", flush=True)
sys.stdin.readline()

readers = {"sftp": lambda: remote.read(CHUNK), "ftps": lambda: data.recv(CHUNK)}
ended = {}
deadline = time.monotonic() + 20
while len(ended) < 2 and time.monotonic() < deadline:
    for name, read in readers.items():
        if name in ended:
            continue
        try:
            n = len(read())
            got[name] += n
            if n == 0 or got[name] >= size:
                ended[name] = "whole" if got[name] >= size else "cut"
        except (OSError, ssl.SSLError):  # paramiko's IOError is an OSError
            ended[name] = "cut"
    time.sleep(0.02)
for name in ("sftp", "ftps"):
    print(f"{name} {ended.get(name, 'running')} {got[name]}", flush=True)
