"""Clients that put a PROXY protocol header in front of their connections, as a balancer does.

    clients.py sftp PORT USER PASSWORD HEADER_HEX      sign in with paramiko, list /, print "ok"
    clients.py ftps PORT USER PASSWORD HEADER_TEXT     ftplib: sign in, STOR /Shared/proxied.txt,
                                                       print "ok" (the header goes in front of
                                                       the control and every data connection)
    clients.py ftps-steal …                            the same, but first another "client" of
                                                       the balancer (203.0.113.99) races for the
                                                       passive port; prints whether it was dropped
"""
import ftplib
import io
import socket
import ssl
import sys

import paramiko

mode, port, user, password, header = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]

if mode == "sftp":
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(bytes.fromhex(header))
    t = paramiko.Transport(sock)
    t.connect(username=user, password=password)
    s = paramiko.SFTPClient.from_transport(t)
    s.listdir("/")
    t.close()
    print("ok")
elif mode in ("ftps", "ftps-steal"):
    real = socket.create_connection

    def with_header(address, *args, **kwargs):
        sock = real(address, *args, **kwargs)
        sock.sendall(header.encode() + b"\r\n")
        return sock

    class Reusing(ftplib.FTP_TLS):
        # Ferry requires data connections to resume the control connection's TLS session.
        def ntransfercmd(self, cmd, rest=None):
            conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
            if self._prot_p:
                conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
            return conn, size

    class Stealing(Reusing):
        def makepasv(self):
            host, port = super().makepasv()
            thief = real(("127.0.0.1", port))
            thief.sendall(b"PROXY TCP4 203.0.113.99 127.0.0.1 40002 21\r\n")
            thief.settimeout(5)
            try:
                dropped = thief.recv(1) == b""
            except ConnectionResetError:
                dropped = True
            print("thief dropped" if dropped else "thief kept")
            thief.close()
            return host, port

    ftplib.socket.create_connection = with_header
    ftp = (Stealing if mode == "ftps-steal" else Reusing)(context=ssl._create_unverified_context(), timeout=20)
    ftp.connect("127.0.0.1", port)
    ftp.login(user, password)
    ftp.prot_p()
    ftp.storbinary("STOR /Shared/proxied.txt", io.BytesIO(b"through a balancer"))
    ftp.quit()
    print("ok")
