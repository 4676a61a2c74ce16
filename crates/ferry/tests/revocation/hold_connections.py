"""Holds signed-in SFTP (paramiko) and FTPS (ftplib) connections open and idle, and reports
which of them the server ends after the test changes something about their user.

Usage: hold_connections.py SFTP_PORT FTPS_PORT SPEC...
Each SPEC is NAME:PROTOCOL:USER:SECRET where PROTOCOL is sftp (SECRET a password), sftp-key
(SECRET a private key file) or ftps (SECRET a password); a port of 0 means the protocol is off.

Signs every connection in, prints "ready" and waits for a line on standard input (the test
changes the user meanwhile). Then, without sending anything, waits up to 12 s for the server
to close each connection, and prints one line per connection: "NAME ended" or "NAME alive"
(an alive connection is then checked to still work).
"""
import socket
import ssl
import sys
import time
from ftplib import FTP_TLS

import paramiko

sftp_port, ftps_port = int(sys.argv[1]), int(sys.argv[2])
specs = [a.split(":", 3) for a in sys.argv[3:]]

context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE


def open_sftp(user, password=None, key_file=None):
    transport = paramiko.Transport(("127.0.0.1", sftp_port))
    if key_file:
        transport.connect(username=user, pkey=paramiko.Ed25519Key.from_private_key_file(key_file))
    else:
        transport.connect(username=user, password=password)
    sftp = paramiko.SFTPClient.from_transport(transport)
    sftp.listdir("/")
    return transport, sftp


def open_ftps(user, password):
    ftp = FTP_TLS(context=context, timeout=30)
    ftp.connect("127.0.0.1", ftps_port)
    ftp.auth()
    ftp.login(user, password)
    ftp.voidcmd("NOOP")
    return ftp


def ftps_closed(ftp):
    """Whether the server has closed the control connection (read without sending)."""
    sock = ftp.sock
    sock.settimeout(0.05)
    try:
        data = sock.recv(4096)
    except (socket.timeout, ssl.SSLWantReadError):
        return False
    except (OSError, ssl.SSLError):
        return True
    finally:
        sock.settimeout(30)
    # The server says why ("421 …") and closes; either way the connection is over.
    return data == b"" or data.startswith(b"421")


held = {}
for name, protocol, user, secret in specs:
    if protocol == "sftp":
        held[name] = ("sftp", open_sftp(user, password=secret))
    elif protocol == "sftp-key":
        held[name] = ("sftp", open_sftp(user, key_file=secret))
    elif protocol == "ftps":
        held[name] = ("ftps", open_ftps(user, secret))
    else:
        raise SystemExit(f"unknown protocol {protocol}")
print("ready", flush=True)
sys.stdin.readline()

ended = set()
deadline = time.monotonic() + 12
while time.monotonic() < deadline and len(ended) < len(held):
    for name, (kind, conn) in held.items():
        if name in ended:
            continue
        if kind == "sftp" and not conn[0].is_active():
            ended.add(name)
        elif kind == "ftps" and ftps_closed(conn):
            ended.add(name)
    time.sleep(0.2)

for name, (kind, conn) in held.items():
    if name in ended:
        print(f"{name} ended", flush=True)
        continue
    # Still open: it must still work.
    if kind == "sftp":
        conn[1].listdir("/")
    else:
        conn.voidcmd("NOOP")
    print(f"{name} alive", flush=True)
