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

from sftp_peer import check, connect_sftp

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]

transport, sftp = connect_sftp(port, user, password)
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

transport, sftp = connect_sftp(port, user, password)
f = sftp.open("abandoned.bin", "wb")
f.write(os.urandom(300_000))
f.flush()  # every write answered: the server holds 300,000 bytes
transport.sock.shutdown(socket.SHUT_RDWR)
transport.close()
print("connection dropped with abandoned.bin open", flush=True)
