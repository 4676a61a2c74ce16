"""One user hoarding FTPS passive ports, with ftplib.

Usage: passive_ports.py PORT USER PASSWORD MAX_PER_USER
Prints one line per check; exits non-zero on the first failure.
"""
import ssl
import sys
import time
from ftplib import FTP_TLS, error_temp

port, user, password, max_ports = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE


def connect():
    ftp = FTP_TLS(context=context, timeout=20)
    ftp.connect("127.0.0.1", port)
    ftp.auth()
    ftp.login(user, password)
    ftp.prot_p()
    return ftp


def pasv(ftp):
    return ftp.sendcmd("PASV")


# One connection holds one passive port however often it asks.
first = connect()
for _ in range(10):
    assert pasv(first).startswith("227"), "PASV refused on one connection"
print("one connection: one port")

# Across connections, at most MAX_PER_USER at once.
held = [first] + [connect() for _ in range(max_ports)]
for ftp in held[1:max_ports]:
    assert pasv(ftp).startswith("227")
try:
    pasv(held[max_ports])
    raise SystemExit("a passive port beyond the user's limit was given")
except error_temp as e:
    assert str(e).startswith("425"), e
print("limit per user holds")

# A connection that goes gives its port back, once the server has closed it (QUIT's answer
# comes just before; under load the next command on another connection may come first).
held[0].quit()
for attempt in range(100):
    try:
        assert pasv(held[max_ports]).startswith("227")
        break
    except error_temp:
        if attempt == 99:
            raise
        time.sleep(0.05)
print("a closed connection gives its port back")

# A port nobody connects to is given back after the data-connection timeout (30 s).
try:
    pasv(held[1])  # replaces its own: still within the limit
    extra = connect()
    pasv(extra)
    raise SystemExit("the limit did not hold")
except error_temp:
    pass
time.sleep(36)
assert pasv(extra).startswith("227"), "an unused port was not given back"
print("unused ports are given back")
