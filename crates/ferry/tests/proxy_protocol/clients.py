"""Clients that put a PROXY protocol header in front of their connections, as a balancer does.

    clients.py sftp PORT USER PASSWORD HEADER_HEX      sign in with paramiko, list /, print "ok"
    clients.py ftps PORT USER PASSWORD HEADER_TEXT     ftplib: sign in, STOR /Shared/proxied.txt,
                                                       print "ok" (the header goes in front of
                                                       the control and every data connection)
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
elif mode == "ftps":
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

    ftplib.socket.create_connection = with_header
    ftp = Reusing(context=ssl._create_unverified_context(), timeout=20)
    ftp.connect("127.0.0.1", port)
    ftp.login(user, password)
    ftp.prot_p()
    ftp.storbinary("STOR /Shared/proxied.txt", io.BytesIO(b"through a balancer"))
    ftp.quit()
    print("ok")
