"""ftplib's FTP_TLS whose data connections resume the control connection's TLS session, as
Ferry requires by default (the recipe in docs/ftps.md) and as WinSCP's "Reuse TLS/SSL session
ID for data connections" does: ftplib does not do it by itself. Shared by the FTPS scripts
of the tests (imported from tests/ftps)."""
from ftplib import FTP, FTP_TLS


class ReusingFTP_TLS(FTP_TLS):
    def ntransfercmd(self, cmd, rest=None):
        conn, size = FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size
