"""Lists one folder three ways with Python's ftplib (FTP_TLS): NLST, MLSD and LIST.

Usage: large_listing.py HOST PORT USER PASSWORD FOLDER
Prints one JSON object: each command's names, in the order they came.
"""
import json
import ssl
import sys

from reusing_tls import ReusingFTP_TLS

host, port, user, password, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE

ftp = ReusingFTP_TLS(context=context, timeout=30)
ftp.connect(host, port)
ftp.auth()
ftp.login(user, password)
ftp.prot_p()
listed = {"nlst": [n.rsplit("/", 1)[-1] for n in ftp.nlst(folder)]}
listed["mlsd"] = [name for name, _facts in ftp.mlsd(folder)]
lines = []
ftp.retrlines("LIST " + folder, lines.append)
# `ls -l`'s line: the name is everything after the eighth field.
listed["list"] = [line.split(None, 8)[8] for line in lines]
ftp.quit()
print(json.dumps(listed))
