"""Holds many signed-in, idle FTPS control connections (TLS on, PBSZ/PROT done).

Usage: idle_crowd.py HOST PORT USER PASSWORD COUNT
Prints "held COUNT" once every connection is signed in, then waits for a line on stdin and
closes them all.
"""
import ssl
import sys
from ftplib import FTP_TLS

host, port, user, password, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
held = []
for _ in range(count):
    ftp = FTP_TLS(context=context, timeout=60)
    ftp.connect(host, port)
    ftp.auth()
    ftp.login(user, password)
    ftp.prot_p()
    held.append(ftp)
print(f"held {len(held)}", flush=True)
sys.stdin.readline()
for ftp in held:
    ftp.close()
