"""Opening SFTP session channels on one connection, with paramiko.

Usage: sftp_sessions.py PORT USER PASSWORD MAX_SESSIONS
Prints one line per check; exits non-zero on the first failure.
"""
import sys

import paramiko

port, user, password, most = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])

transport = paramiko.Transport(("127.0.0.1", port))
transport.connect(username=user, password=password)
sessions = [paramiko.SFTPClient.from_transport(transport) for _ in range(most)]
try:
    transport.open_session(timeout=10)
    raise AssertionError("a session channel beyond the connection's limit was opened")
except paramiko.ChannelException as e:
    assert e.code == paramiko.common.OPEN_FAILED_RESOURCE_SHORTAGE, f"refused with {e.code}"
print("limit per connection holds")

# The connection and its sessions go on.
assert transport.is_active(), "the refusal ended the connection"
for s in sessions:
    assert s.normalize(".") == f"/Home/{user}"
print("the sessions still work")

# A closed session gives its place back.
sessions.pop().close()
again = paramiko.SFTPClient.from_transport(transport)
assert again.normalize(".") == f"/Home/{user}"
print("a closed session gives its place back")
transport.close()
print("done")
