"""A download's bytes wait for its audit record. With SQLite's write lock held by another
process (this script, as the CLI would), SFTP (paramiko) and FTPS (ftplib) open a file and ask
for its bytes: the open is answered, no byte arrives until the lock is let go, and then the
bytes do. Held past the server's busy timeout (10 s), the record cannot be written: the reads
fail and no byte of the file arrives.

Usage: held_record.py SFTP_PORT FTPS_PORT USER PASSWORD DATABASE wait|refuse-sftp|refuse-ftps
("wait": the lock let go after a moment; "refuse-…": held past the timeout, one protocol at a
time, since records that fail one after the other take the timeout each.)
Prints one line per check; exits non-zero on the first failure.
"""
import io
import os
import sqlite3
import ssl
import sys
import threading
import time
from ftplib import error_temp

import paramiko

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ftps"))
from reusing_tls import ReusingFTP_TLS  # noqa: E402

sftp_port, ftps_port, user, password, database, mode = (
    int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6])
DATA = bytes(range(256)) * 64
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE


def check(ok, what):
    if not ok:
        print("FAILED: " + what, flush=True)
        sys.exit(1)
    print(what, flush=True)


transport = paramiko.Transport(("127.0.0.1", sftp_port))
transport.connect(username=user, password=password)
sftp = paramiko.SFTPClient.from_transport(transport)
sftp.chdir(sftp.normalize("."))
sftp.putfo(io.BytesIO(DATA), "gate.bin")
ftp = ReusingFTP_TLS(context=context, timeout=60)
ftp.connect("127.0.0.1", ftps_port)
ftp.auth()
ftp.login(user, password)
ftp.prot_p()

lock = sqlite3.connect(database, isolation_level=None, timeout=0)


def downloads(protocols):
    """Starts an SFTP read and/or an FTPS RETR of gate.bin; returns their results and threads."""
    got = {"sftp": None, "ftps": bytearray(), "sftp_error": None, "ftps_error": None}

    def sftp_read(f):
        try:
            # Exactly the size: a read to the end would also wait at the end of the file.
            got["sftp"] = f.read(len(DATA))
        except IOError as e:
            got["sftp_error"] = e

    def ftps_read():
        try:
            ftp.retrbinary("RETR gate.bin", got["ftps"].extend)
        except error_temp as e:
            got["ftps_error"] = e

    threads = []
    if "sftp" in protocols:
        started = time.monotonic()
        f = sftp.open("gate.bin", "rb")
        got["open_seconds"] = time.monotonic() - started
        threads.append(threading.Thread(target=sftp_read, args=(f,)))
    if "ftps" in protocols:
        threads.append(threading.Thread(target=ftps_read))
    for t in threads:
        t.start()
    return got, threads


if mode == "wait":
    # Held for a moment: the bytes wait, then come.
    lock.execute("BEGIN IMMEDIATE")
    got, threads = downloads(("sftp", "ftps"))
    check(got["open_seconds"] < 2, "SFTP open answered while the record waits")
    time.sleep(1.5)
    check(got["sftp"] is None and all(t.is_alive() for t in threads), "no SFTP byte before the record")
    check(len(got["ftps"]) == 0, "no FTPS byte before the record")
    lock.execute("COMMIT")
    for t in threads:
        t.join(30)
    check(got["sftp"] == DATA, "SFTP bytes once recorded")
    check(bytes(got["ftps"]) == DATA, "FTPS bytes once recorded")
else:
    # Held past the busy timeout: the record fails, and so does the read, with nothing sent.
    protocol = mode.removeprefix("refuse-")
    lock.execute("BEGIN IMMEDIATE")
    got, threads = downloads((protocol,))
    for t in threads:
        t.join(60)
    lock.execute("COMMIT")
    if protocol == "sftp":
        check(got["sftp"] is None and got["sftp_error"] is not None,
              "SFTP read refused without its record")
    else:
        check(len(got["ftps"]) == 0 and str(got["ftps_error"]).startswith("451"),
              "FTPS transfer aborted without its record: %s" % got["ftps_error"])
ftp.quit()
transport.close()
