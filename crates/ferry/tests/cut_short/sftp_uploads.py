"""SFTP uploads that store nothing, for cut_short_transfers.rs to read the audit log after
(paramiko): one whose CLOSE fails (its folder removed while it was written), one whose
connection drops before any CLOSE, and one complete upload.

Usage: sftp_uploads.py SFTP_PORT USER PASSWORD
Prints one line per step; exits non-zero on the first failure.
"""
import io
import os
import socket
import sys

import paramiko

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]


def check(ok, what):
    if not ok:
        print("FAILED: " + what, flush=True)
        sys.exit(1)
    print(what, flush=True)


def connect():
    transport = paramiko.Transport(("127.0.0.1", port))
    transport.connect(username=user, password=password)
    sftp = paramiko.SFTPClient.from_transport(transport)
    sftp.chdir(sftp.normalize("."))
    return transport, sftp


transport, sftp = connect()
sftp.putfo(io.BytesIO(b"stored whole\n"), "whole.txt")
check(sftp.stat("whole.txt").st_size == 13, "whole.txt stored")

sftp.mkdir("gone")
f = sftp.open("gone/orphan.bin", "wb")
f.write(os.urandom(100_000))
f.flush()
sftp.rmdir("gone")  # empty: nothing is visible before CLOSE
# paramiko's close() swallows a refused CLOSE: the request is sent as it sends it.
try:
    sftp._request(paramiko.sftp.CMD_CLOSE, f.handle)
    check(False, "the CLOSE into a removed folder should fail")
except IOError as e:
    print("CLOSE into the removed folder refused: %s" % e, flush=True)
f._closed = True
transport.close()

transport, sftp = connect()
f = sftp.open("abandoned.bin", "wb")
f.write(os.urandom(300_000))
f.flush()  # every write answered: the server holds 300,000 bytes
transport.sock.shutdown(socket.SHUT_RDWR)
transport.close()
print("connection dropped with abandoned.bin open", flush=True)
