"""A soak of mixed clients against one Ferry server: the JSON API (PUT and GET), tus uploads
through the browser upload tool, SFTP (paramiko) and FTPS (ftplib), each client in a loop of
upload, download, compare by SHA-256, for a while. Samples the server's resident memory and
open descriptors as it goes. Prints one JSON report.

Usage: soak.py SETUP_JSON SECONDS CLIENTS
SETUP_JSON names the server: {"base", "app", "sftp_port", "ftps_port", "pid", "users":
[[name, password], ...], "links": {name: upload-tool link into that user's home}}.

Every client signs in once, then loops; a failure of any kind is counted as an error with its
text (the first few are kept). At the end every file a client stored is checked once more
through the JSON API, by the SHA-256 Ferry recorded.
"""
import hashlib
import io
import json
import os
import random
import re
import ssl
import sys
import threading
import time

import paramiko
import requests
from tusclient import client as tus

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ftps"))
from reusing_tls import ReusingFTP_TLS  # noqa: E402

setup = json.load(open(sys.argv[1]))
seconds, clients = float(sys.argv[2]), int(sys.argv[3])
base = setup["base"]
stop_at = time.monotonic() + seconds
lock = threading.Lock()
report = {"operations": {}, "errors": 0, "first_errors": [], "files": 0, "verified": 0,
          "retried_503": 0}
stored = []  # (user, password, name, sha256) of every file a client stored

tls = ssl.create_default_context()
tls.check_hostname = False
tls.verify_mode = ssl.CERT_NONE


def payload(rng):
    size = rng.choice([1, 700, 4096, 65_536, 200_000, 1_000_003]) if rng.random() < 0.97 else 4 << 20
    return rng.randbytes(size)


def count(kind):
    with lock:
        report["operations"][kind] = report["operations"].get(kind, 0) + 1


def failed(kind, e):
    import traceback
    where = " < ".join(f"{f.name}:{f.lineno}" for f in reversed(traceback.extract_tb(e.__traceback__)[-6:]))
    with lock:
        report["errors"] += 1
        if len(report["first_errors"]) < 10:
            report["first_errors"].append(f"{kind}: {type(e).__name__}: {e} (at {where})"[:400])


def remember(user, password, name, data):
    with lock:
        stored.append((user, password, name, hashlib.sha256(data).hexdigest()))
        report["files"] += 1


def api_open(user, password):
    r = requests.post(f"{base}/api/v1/OpenImmutable", json={
        "userName": user, "password": password, "applicationID": setup["app"], "clientVersion": "soak"})
    r.raise_for_status()
    session = r.json()["SessionID"]
    home = requests.post(f"{base}/api/v1/GetHomeFolder", json={"sessionID": session}).json()["FolderID"]
    return session, home


def unavailable(e):
    """Whether a failure is the documented "temporarily unavailable" (error 120: retry later):
    HTTP's 503, SFTP's refusal that names error 120, FTP's 451 that says so."""
    text = str(e)
    return ("503" in text or "Service Unavailable" in text or "(error 120)" in text
            or "temporarily unavailable" in text)


def loop(kind, i, user, password, rng, round_trip):
    """Until the end: a new name and payload, `round_trip(name, data)` (which stores the bytes
    and reads them back, raising if they differ), and the count or the error. A 503 is retried
    after a second, as docs/errors.md documents for error 120 (at most three times), and
    counted apart."""
    n = 0
    while time.monotonic() < stop_at:
        name = f"{kind}-{i}-{n}.bin"
        n += 1
        data = payload(rng)
        for attempt in range(4):
            try:
                round_trip(name, data)
                remember(user, password, name, data)
                count(kind)
                break
            except Exception as e:  # noqa: BLE001 - every failure is counted and reported
                if attempt < 3 and unavailable(e):
                    with lock:
                        report["retried_503"] += 1
                    time.sleep(1)
                    continue
                failed(kind, e)
                break


def api_client(i, user, password, rng):
    http = requests.Session()
    session, home = api_open(user, password)

    def round_trip(name, data):
        r = http.put(f"{base}/api/v1/folders/{home}/files/{name}", data=data,
                     headers={"X-Session-ID": session, "X-Content-SHA256": hashlib.sha256(data).hexdigest()})
        r.raise_for_status()
        r = http.get(f"{base}/api/v1/files/{r.json()['FileID']}/content", headers={"X-Session-ID": session})
        r.raise_for_status()
        assert r.content == data, "downloaded bytes differ"

    loop("api", i, user, password, rng, round_trip)


def tus_client(i, link, user, password, rng):
    page = requests.get(link)
    page.raise_for_status()
    grant = re.search(r'data-grant="([^"]+)"', page.text).group(1)
    uploads = tus.TusClient(f"{base}/tools/tus", headers={"Ferry-Grant": grant})

    def round_trip(name, data):
        # Checked by the tus checksum on the way in, and by the recorded SHA-256 at the end.
        uploads.uploader(file_stream=io.BytesIO(data), chunk_size=256 * 1024,
                         metadata={"filename": name}, upload_checksum=True).upload()

    loop("tus", i, user, password, rng, round_trip)


def sftp_client(i, user, password, rng):
    transport = paramiko.Transport(("127.0.0.1", setup["sftp_port"]))
    transport.connect(username=user, password=password)
    sftp = paramiko.SFTPClient.from_transport(transport)
    sftp.chdir(f"/Home/{user}")

    def round_trip(name, data):
        sftp.putfo(io.BytesIO(data), name)
        got = io.BytesIO()
        sftp.getfo(name, got)
        assert got.getvalue() == data, "downloaded bytes differ"

    loop("sftp", i, user, password, rng, round_trip)
    transport.close()


def ftps_client(i, user, password, rng):
    ftp = ReusingFTP_TLS(context=tls, timeout=60)
    ftp.connect("127.0.0.1", setup["ftps_port"])
    ftp.auth()
    ftp.login(user, password)
    ftp.prot_p()
    ftp.cwd(f"/Home/{user}")

    def round_trip(name, data):
        ftp.storbinary(f"STOR {name}", io.BytesIO(data))
        got = io.BytesIO()
        ftp.retrbinary(f"RETR {name}", got.write)
        assert got.getvalue() == data, "downloaded bytes differ"

    loop("ftps", i, user, password, rng, round_trip)
    ftp.quit()


def run_client(i):
    rng = random.Random(i)
    user, password = setup["users"][i % len(setup["users"])]
    # Start spread over the first tenth of the run (at most 20 s): sign-ins do not all wait
    # for the same hashing slots at once.
    time.sleep(rng.random() * min(20.0, seconds / 10))
    kind = ["api", "tus", "sftp", "ftps"][i % 4]
    try:
        if kind == "api":
            api_client(i, user, password, rng)
        elif kind == "tus":
            tus_client(i, setup["links"][user], user, password, rng)
        elif kind == "sftp":
            sftp_client(i, user, password, rng)
        else:
            ftps_client(i, user, password, rng)
    except Exception as e:  # noqa: BLE001 - a client that could not even start
        failed(f"{kind} start", e)


def server_sample():
    pid = setup["pid"]
    with open(f"/proc/{pid}/status") as f:
        status = {k: v for k, _, v in (line.partition(":") for line in f)}
    kib = lambda key: int(status[key].split()[0])  # noqa: E731
    # RssAnon is the heap; RssFile is mostly the database the readers map (mmap_size), which
    # grows with the database and is page cache the kernel can take back.
    return {"t": round(time.monotonic() - started, 1), "rss_kib": kib("VmRSS"),
            "anon_kib": kib("RssAnon"), "file_kib": kib("RssFile"),
            "fds": len(os.listdir(f"/proc/{pid}/fd")), "db_fds": database_descriptors(pid)}


def database_descriptors(pid):
    """Descriptors open on the database and its write-ahead log: two per pooled connection,
    which the pools open on demand up to their bounds, so they are counted apart from the rest."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").endswith(("/ferry.db", "/ferry.db-wal")):
                count += 1
        except OSError:
            continue
    return count


started = time.monotonic()
samples = [server_sample()]
threads = [threading.Thread(target=run_client, args=(i,), daemon=True) for i in range(clients)]
for t in threads:
    t.start()
while any(t.is_alive() for t in threads):
    time.sleep(min(5.0, max(0.5, seconds / 20)))
    samples.append(server_sample())
for t in threads:
    t.join()
samples.append(server_sample())

# Every stored file once more, by the SHA-256 Ferry recorded, through the JSON API.
by_user = {}
for user, password, name, digest in stored:
    by_user.setdefault((user, password), {})[name] = digest
for (user, password), expected in by_user.items():
    session, home = api_open(user, password)
    recorded = {}
    skip = 0
    while True:
        page = requests.post(f"{base}/api/v1/GetFiles", json={
            "sessionID": session, "folderID": home, "skip": skip, "take": 1000}).json()
        recorded.update({f["Name"]: f["SHA256"] for f in page})
        if len(page) < 1000:
            break
        skip += 1000
    # tus uploads land in the tool's folder, which is the user's home here.
    for name, digest in expected.items():
        if recorded.get(name) == digest:
            report["verified"] += 1
        else:
            failed("verify", AssertionError(f"{user}/{name}: recorded {recorded.get(name)}"))

# What the server's descriptors point at, once every client is gone (sockets shown by kind).
kinds = {}
for fd in os.listdir(f"/proc/{setup['pid']}/fd"):
    try:
        target = os.readlink(f"/proc/{setup['pid']}/fd/{fd}")
    except OSError:
        continue
    target = re.sub(r"\[\d+\]", "", target)
    target = re.sub(r"/tmp/[^/]+/", "DATA/", target)
    kinds[target] = kinds.get(target, 0) + 1
report["descriptors_at_end"] = kinds
report["seconds"] = round(time.monotonic() - started, 1)
report["clients"] = clients
report["samples"] = samples
print(json.dumps(report))
