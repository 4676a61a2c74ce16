"""One item per name in a folder, as the file protocols' clients see it: paramiko (SFTP) and
ftplib (FTPS) try to make a file where a folder has the name and a folder where a file has
it, and each listing names every item once.

Usage: file_protocols.py SFTP_PORT FTPS_PORT USER PASSWORD
Prints one line per check; exits non-zero on the first failure.
"""
import io
import os
import sys
from ftplib import error_perm

import paramiko

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ftps"))
from reusing_tls import signed_in  # noqa: E402

sftp_port, ftps_port, user, password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]

transport = paramiko.Transport(("127.0.0.1", sftp_port))
transport.connect(username=user, password=password)
sftp = paramiko.SFTPClient.from_transport(transport)


def refused(what, fn, errors=IOError):
    """Runs fn, which the server must refuse: paramiko raises IOError, ftplib error_perm."""
    try:
        fn()
    except errors as e:
        print(f"refused {what}: {e}")
        return
    raise SystemExit(f"{what} was not refused")


def write(path, data):
    with sftp.open(path, "w") as f:
        f.write(data)


sftp.mkdir("Reports")
refused("SFTP: a file named as a folder", lambda: write("reports", b"x" * 100))
refused("SFTP: a large file named as a folder", lambda: write("REPORTS", b"y" * 300_000))
write("notes.txt", b"notes")
refused("SFTP: a folder named as a file", lambda: sftp.mkdir("Notes.TXT"))
sftp.mkdir("Archive")
write("Archive/old.txt", b"old")
refused("SFTP: a file renamed to a folder's name", lambda: sftp.rename("notes.txt", "archive"))
refused("SFTP: a folder renamed to a file's name", lambda: sftp.rename("Archive", "NOTES.txt"))
names = sorted(sftp.listdir("."))
assert names == ["Archive", "Reports", "notes.txt"], names
assert sftp.open("notes.txt").read() == b"notes"
assert sftp.listdir("Reports") == []
print("SFTP lists each name once:", names)

# A rename into another folder, refused there for its name, leaves the item where it was
# (before, the move was made and audited, and only the rename refused).
write("Reports/taken.txt", b"taken")
sftp.mkdir("Reports/Taken")
refused("SFTP: a file moved onto a name taken there", lambda: sftp.rename("notes.txt", "Reports/TAKEN.txt"))
refused("SFTP: a folder moved onto a name taken there", lambda: sftp.rename("Archive", "Reports/taken"))
assert sorted(sftp.listdir(".")) == ["Archive", "Reports", "notes.txt"], sftp.listdir(".")
assert sorted(sftp.listdir("Reports")) == ["Taken", "taken.txt"], sftp.listdir("Reports")
assert sftp.open("notes.txt").read() == b"notes"
print("SFTP: a refused rename into another folder moved nothing")

ftp = signed_in(ftps_port, user, password)

refused("FTPS: a file named as a folder", lambda: ftp.storbinary("STOR Reports", io.BytesIO(b"z")), error_perm)
refused("FTPS: a folder named as a file", lambda: ftp.mkd("notes.txt"), error_perm)
refused("FTPS: a file renamed to a folder's name", lambda: ftp.rename("notes.txt", "Reports"), error_perm)
listed = sorted(ftp.nlst())
assert listed == ["Archive", "Reports", "notes.txt"], listed
print("FTPS lists each name once:", listed)
# (RNTO onto a file there would make the moved file its next version, by design.)
refused("FTPS: a file moved onto a folder's name there", lambda: ftp.rename("notes.txt", "Reports/TAKEN"), error_perm)
refused("FTPS: a folder moved onto a name taken there", lambda: ftp.rename("Archive", "Reports/Taken"), error_perm)
assert sorted(ftp.nlst()) == listed, ftp.nlst()
print("FTPS: a refused rename into another folder moved nothing")
ftp.quit()
