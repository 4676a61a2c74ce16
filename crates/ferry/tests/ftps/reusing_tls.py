"""ftplib's FTP_TLS whose data connections resume the control connection's TLS session, as
Ferry requires by default (the recipe in docs/ftps.md) and as WinSCP's "Reuse TLS/SSL session
ID for data connections" does: ftplib does not do it by itself. Shared by the FTPS scripts
of the tests (imported from tests/ftps)."""
import ssl
from ftplib import FTP, FTP_TLS


class ReusingFTP_TLS(FTP_TLS):
    def ntransfercmd(self, cmd, rest=None):
        conn, size = FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size


def signed_in(port, user, password, timeout=20):
    """A connection to Ferry on 127.0.0.1:port, under TLS (Ferry's self-signed certificate is
    not checked), signed in, with protected data connections."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    ftp = ReusingFTP_TLS(context=context, timeout=timeout)
    ftp.connect("127.0.0.1", port)
    ftp.auth()
    ftp.login(user, password)
    ftp.prot_p()
    return ftp
