"""FTPS sign-in with ftplib; PASS carries what is given (password, or password+passcode).
Usage: ftps_passcode.py PORT USER PASS. Prints "signed in PWD" or "refused CODE"."""

import ssl
import sys
from ftplib import FTP_TLS, error_perm

port, user, secret = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ftp = FTP_TLS(context=ctx, timeout=20)
ftp.connect("127.0.0.1", port)
ftp.auth()
try:
    ftp.login(user, secret)
except error_perm as e:
    print("refused", str(e)[:3])
    sys.exit(0)
ftp.prot_p()
print("signed in", ftp.pwd())
ftp.quit()
