"""Opening SFTP handles without using them, with paramiko.

Usage: sftp_handles.py PORT USER PASSWORD PER_CONNECTION PER_USER
Prints one line per check; exits non-zero on the first failure.
"""
import sys

import paramiko

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
per_connection, per_user = int(sys.argv[4]), int(sys.argv[5])


def connect():
    transport = paramiko.Transport(("127.0.0.1", port))
    transport.connect(username=user, password=password)
    return paramiko.SFTPClient.from_transport(transport)


def refused(sftp, name, why):
    """Whether opening `name` is refused with a message that says `why`."""
    try:
        sftp.open(name, "w")
    except IOError as e:
        assert why in str(e), f"the refusal says {e!r}, not {why!r}"
        return True
    return False


one = connect()
one.chdir(f"/Home/{user}")
files = [one.open(f"held-{i}.bin", "w") for i in range(per_connection)]
assert refused(one, "one-too-many.bin", f"too many open handles on this channel (at most {per_connection})"), "a handle beyond the connection's limit was given"
print("limit per connection holds")

two = connect()
two.chdir(f"/Home/{user}")
room = per_user - per_connection
others = [two.open(f"other-{i}.bin", "w") for i in range(room)]
assert refused(two, "beyond-user.bin", f"too many open handles for this user (at most {per_user})"), "a handle beyond the user's limit was given"
print("limit per user holds")

for f in files[:2]:
    f.close()
more = [two.open(f"later-{i}.bin", "w") for i in range(2)]
print("closed handles are given back")

# The connection still works for everything else.
for f in files[2:] + others + more:
    f.close()
assert len(one.listdir(".")) >= per_connection
print("done")
