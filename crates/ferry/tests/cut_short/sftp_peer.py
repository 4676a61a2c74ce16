"""What the cut_short scripts share: a step checked and printed, and a paramiko SFTP session
started in the user's home."""
import sys

import paramiko


def check(ok, what):
    """Prints `what`, or exits non-zero saying it failed."""
    if not ok:
        print("FAILED: " + what, flush=True)
        sys.exit(1)
    print(what, flush=True)


def connect_sftp(port, user, password):
    """A transport and an SFTP client on it, in the user's home."""
    transport = paramiko.Transport(("127.0.0.1", port))
    transport.connect(username=user, password=password)
    sftp = paramiko.SFTPClient.from_transport(transport)
    sftp.chdir(sftp.normalize("."))
    return transport, sftp
