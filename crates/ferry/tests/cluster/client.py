"""A client behind HAProxy, from 127.0.0.3 (so that the nodes can tell it from the balancer).

    client.py LB_HTTP LB_SFTP LB_FTPS SESSION FOLDER USER PASSWORD

Uses SESSION through the balancer on fresh connections (round robin: every node), uploads a
file over HTTP and reads it back over HTTP, SFTP and FTPS, each through the balancer; prints
one JSON object: the statuses of the session calls and the SHA-256 of what each protocol read.
"""
import ftplib
import hashlib
import http.client
import io
import json
import socket
import ssl
import sys

import paramiko

SOURCE = ("127.0.0.3", 0)
http_port, sftp_port, ftps_port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
session, folder, user, password = sys.argv[4], int(sys.argv[5]), sys.argv[6], sys.argv[7]


def request(method, path, body=None, headers=None):
    # A fresh connection each time: the balancer picks the next node for each.
    c = http.client.HTTPConnection("127.0.0.2", http_port, timeout=30, source_address=SOURCE)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


statuses = []
for _ in range(6):
    status, _ = request("POST", "/api/v1/GetCurrentUser", json.dumps({"sessionID": session}),
                        {"Content-Type": "application/json"})
    statuses.append(status)

payload = bytes((i * 31 + 7) % 256 for i in range(3 * 1048576 + 11))
status, body = request("PUT", f"/api/v1/folders/{folder}/files/spread.bin", payload,
                       {"X-Session-ID": session})
assert status == 200, (status, body)
file_id = json.loads(body)["FileID"]
status, got = request("GET", f"/api/v1/files/{file_id}/content", headers={"X-Session-ID": session})
assert status == 200, status
shas = {"sent": hashlib.sha256(payload).hexdigest(), "http": hashlib.sha256(got).hexdigest()}

sock = socket.create_connection(("127.0.0.2", sftp_port), source_address=SOURCE)
t = paramiko.Transport(sock)
t.connect(username=user, password=password)
sftp = paramiko.SFTPClient.from_transport(t)
with sftp.open("/Shared/Cluster/spread.bin", "rb") as f:
    shas["sftp"] = hashlib.sha256(f.read()).hexdigest()
t.close()


class Reusing(ftplib.FTP_TLS):
    # Ferry requires data connections to resume the control connection's TLS session.
    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size


ftp = Reusing(context=ssl._create_unverified_context(), timeout=30, source_address=SOURCE)
ftp.connect("127.0.0.2", ftps_port)
ftp.login(user, password)
ftp.prot_p()
out = io.BytesIO()
ftp.retrbinary("RETR /Shared/Cluster/spread.bin", out.write)
ftp.quit()
shas["ftps"] = hashlib.sha256(out.getvalue()).hexdigest()

print(json.dumps({"statuses": statuses, "shas": shas}))
