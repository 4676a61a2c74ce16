"""What a folder's deletion costs: N files of 4 KiB PUT into one folder, then DeleteFolder timed.

    python3 bench/folder_deletion.py FERRY_BINARY N
    DBURL=postgres://user:pw@host/db python3 bench/folder_deletion.py FERRY_BINARY N

Starts the binary on a throwaway data directory (SQLite, or the empty PostgreSQL database in
DBURL) with its default listeners; run two builds alternately and compare (bench/README.md).
"""
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

binary, n = sys.argv[1], int(sys.argv[2])
work = tempfile.mkdtemp()
env = dict(os.environ, FERRY_ADMIN_PASSWORD="Admin-pass-123!", FERRY_LOG="warn")
args = [binary, "--data-dir", work + "/data"] + (["--database-url", os.environ["DBURL"]] if os.environ.get("DBURL") else [])
srv = subprocess.Popen(args + ["serve", "--http", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=open(work + "/err", "w"), env=env, text=True)
line = srv.stdout.readline()
while "listening on" not in line:
    assert line, "the server ended"
    line = srv.stdout.readline()
host = line.strip().rsplit("//", 1)[1]
subprocess.run(args + ["app", "add", "1000", "bench"], check=True, env=env, stdout=subprocess.DEVNULL)
c = http.client.HTTPConnection(host)
def call(m, body):
    c.request("POST", f"/api/v1/{m}", json.dumps(body), {"Content-Type": "application/json"})
    r = c.getresponse(); d = r.read()
    assert r.status in (200, 204), (m, r.status, d)
    return json.loads(d) if d else None
sid = call("Open", {"userName": "admin", "password": "Admin-pass-123!", "applicationID": 1000})["SessionID"]
home = call("GetHomeFolder", {"sessionID": sid})["FolderID"]
f = call("CreateFolder", {"sessionID": sid, "parentFolderID": home, "name": "big"})["FolderID"]
for i in range(n):
    c.request("PUT", f"/api/v1/folders/{f}/files/f{i}.txt", b"x" * 4096, {"x-session-id": sid})
    r = c.getresponse(); r.read(); assert r.status == 200
t = time.perf_counter()
call("DeleteFolder", {"sessionID": sid, "folderID": f})
print(f"{n} files: DeleteFolder {1000 * (time.perf_counter() - t):.0f} ms")
srv.terminate(); srv.wait()
shutil.rmtree(work)
