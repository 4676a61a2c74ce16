"""WinSCP's way of keeping a file's time over FTPS, replayed with ftplib (issue 16, item 8):
FEAT advertises MFMT; STOR, then MFMT with the local file's time; the listing (MLSD, MDTM)
shows that time from then on. Bad times and missing files are refused.

Usage: mfmt_session.py PORT USER PASSWORD
Prints one line per check; exits non-zero on the first failure.
"""
import ftplib
import io
import sys

from reusing_tls import signed_in

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ftp = signed_in(port, user, password)

features = ftp.sendcmd("FEAT")
assert " MFMT" in features, features
print("FEAT lists MFMT")

ftp.storbinary("STOR kept.txt", io.BytesIO(b"a file whose time is kept"))
reply = ftp.sendcmd("MFMT 20010203040506 kept.txt")
assert reply == "213 Modify=20010203040506; kept.txt", reply
assert ftp.sendcmd("MDTM kept.txt") == "213 20010203040506"
facts = dict(ftp.mlsd(facts=["modify"]))
assert facts["kept.txt"]["modify"] == "20010203040506", facts
print("MFMT kept:", reply)

# Setting the same time again changes (and audits) nothing; a folder's time is not stored.
ftp.sendcmd("MFMT 20010203040506 kept.txt")
assert ftp.sendcmd("MFMT 20010203040506 /Home").startswith("213")

for command, code in [
    ("MFMT 20010230040506 kept.txt", "501"),  # 30 February
    ("MFMT 2001020304 kept.txt", "501"),
    ("MFMT 20010203040506", "501"),
    ("MFMT kept.txt", "501"),
    ("MFMT 20010203040506 missing.txt", "550"),
    ("MFMT 20010203040506 /Shared/nowhere.txt", "550"),
]:
    try:
        ftp.sendcmd(command)
        raise SystemExit(f"{command} was accepted")
    except ftplib.error_perm as e:
        assert str(e).startswith(code), (command, str(e))
assert ftp.sendcmd("MDTM kept.txt") == "213 20010203040506"
print("bad MFMT refused")

# A new version has no time of its own until one is set: the upload's time shows.
ftp.storbinary("STOR kept.txt", io.BytesIO(b"version two"))
assert ftp.sendcmd("MDTM kept.txt") != "213 20010203040506"
print("new version shows its upload time")
ftp.quit()
print("done")
