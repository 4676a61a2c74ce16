"""Small uploads from many clients over HTTP, SFTP and FTPS at once, until the server dies
(tests/crash_rounds.rs kills it), then a check of what the restarted server kept.

  uploaders.py upload BASE SFTP_PORT FTPS_PORT USER PASSWORD ROUND CLIENTS JOURNAL
      Makes the folder r<ROUND> in USER's home, starts CLIENTS clients (a third each over
      HTTP, SFTP and FTPS), prints "ready" once all are signed in, and uploads until every
      client has failed. Each client notes a file's name and SHA-256 before sending it
      (attempted) and again once the server acknowledged it (acknowledged); JOURNAL gets both.
  uploaders.py verify BASE USER PASSWORD ROUND JOURNAL
      Every acknowledged file is there and reads back with its SHA-256; every file there was
      attempted and holds exactly what was sent for it (nothing half-written is visible).
"""
import hashlib
import json
import logging
import random
import ssl
import sys
import threading
import io
from ftplib import FTP_TLS

import paramiko
import requests

APP = 1999
mode = sys.argv[1]
# A client whose server was killed is expected: paramiko need not say so on stderr.
logging.getLogger("paramiko").setLevel(logging.CRITICAL)


def sign_in(base, user, password):
    s = requests.Session()
    r = s.post(f"{base}/api/v1/OpenImmutable",
               json={"userName": user, "password": password, "applicationID": APP}, timeout=30)
    r.raise_for_status()
    session = r.json()["SessionID"]
    s.headers["X-Session-ID"] = session
    return s, session


def round_folder(base, s, session, name, create):
    home = s.post(f"{base}/api/v1/GetHomeFolder", json={"sessionID": session}).json()["FolderID"]
    if create:
        r = s.post(f"{base}/api/v1/CreateFolder",
                   json={"sessionID": session, "parentFolderID": home, "name": name})
        r.raise_for_status()
        return r.json()["FolderID"]
    folders = s.post(f"{base}/api/v1/GetFolders", json={"sessionID": session, "folderID": home}).json()
    return next(f["FolderID"] for f in folders if f["Name"] == name)


def content(rng):
    # Mostly small enough to be kept in the database, some not (both paths are crashed).
    size = rng.choice([rng.randint(0, 16 * 1024), rng.randint(16 * 1024 + 1, 64 * 1024)])
    return rng.randbytes(size)


if mode == "upload":
    base, sftp_port, ftps_port, user, password, rnd, clients, journal = sys.argv[2:10]
    sftp_port, ftps_port, clients = int(sftp_port), int(ftps_port), int(clients)
    http, session = sign_in(base, user, password)
    folder_name = f"r{rnd}"
    folder = round_folder(base, http, session, folder_name, True)
    lock = threading.Lock()
    attempted, acknowledged = {}, []
    ready = threading.Barrier(clients + 1)

    def client(i):
        rng = random.Random(f"{rnd}-{i}")
        kind = ("http", "sftp", "ftps")[i % 3]
        try:
            if kind == "http":
                s, _ = sign_in(base, user, password)

                def put(name, data):
                    r = s.put(f"{base}/api/v1/folders/{folder}/files/{name}", data=data, timeout=30)
                    if r.status_code not in (200, 201):
                        raise RuntimeError(f"PUT answered {r.status_code}")
            elif kind == "sftp":
                t = paramiko.Transport(("127.0.0.1", sftp_port))
                t.connect(username=user, password=password)
                sftp = paramiko.SFTPClient.from_transport(t)
                sftp.get_channel().settimeout(30)

                def put(name, data):
                    f = sftp.open(f"/Home/{user}/{folder_name}/{name}", "wb")
                    f.write(data)
                    f.flush()  # the WRITE is sent and its answer read
                    # paramiko's close() swallows an OSError from sending CLOSE (sftp_file.py:
                    # "may have outlived the Transport connection"): a server killed after
                    # WRITE's answer and before CLOSE went out never got CLOSE, never committed,
                    # and close() returned as if it had. CLOSE is sent here and its answer
                    # required; _closed keeps paramiko from sending it again.
                    f._closed = True
                    sftp._request(paramiko.sftp.CMD_CLOSE, f.handle)
            else:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                ftp = FTP_TLS(context=context, timeout=30)
                ftp.connect("127.0.0.1", ftps_port)
                ftp.auth()
                ftp.login(user, password)
                ftp.prot_p()

                def put(name, data):
                    ftp.storbinary(f"STOR /Home/{user}/{folder_name}/{name}", io.BytesIO(data))
        except Exception as e:  # noqa: BLE001 - a client that cannot sign in is a failure
            print(f"client {i} ({kind}) could not start: {e!r}", file=sys.stderr)
            ready.abort()
            return
        try:
            ready.wait()
        except threading.BrokenBarrierError:
            return
        n = 0
        while True:
            name = f"{kind}-{i}-{n}.bin"
            data = content(rng)
            with lock:
                attempted[name] = hashlib.sha256(data).hexdigest()
            try:
                put(name, data)
            except Exception:  # noqa: BLE001 - the server died: this client is done
                return
            with lock:
                acknowledged.append(name)
            n += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        sys.exit("not every client could sign in")
    print("ready", flush=True)
    for t in threads:
        t.join()
    with open(journal, "w") as f:
        json.dump({"attempted": attempted, "acknowledged": acknowledged}, f)
    print(f"{len(acknowledged)} acknowledged of {len(attempted)} attempted", flush=True)

elif mode == "verify":
    base, user, password, rnd, journal = sys.argv[2:7]
    with open(journal) as f:
        j = json.load(f)
    attempted, acknowledged = j["attempted"], j["acknowledged"]
    s, session = sign_in(base, user, password)
    folder = round_folder(base, s, session, f"r{rnd}", False)
    present, skip = {}, 0
    while True:
        page = s.post(f"{base}/api/v1/GetFiles",
                      json={"sessionID": session, "folderID": folder, "skip": skip, "take": 1000}).json()
        for f in page:
            present[f["Name"]] = f
        if len(page) < 1000:
            break
        skip += 1000
    problems = []
    for name in acknowledged:
        if name not in present:
            problems.append(f"{name}: acknowledged, but not there")
    for name, f in present.items():
        want = attempted.get(name)
        if want is None:
            problems.append(f"{name}: there, but never sent")
            continue
        body = s.get(f"{base}/api/v1/files/{f['FileID']}/content", timeout=30)
        got = hashlib.sha256(body.content).hexdigest()
        if body.status_code != 200 or got != want or f["SHA256"] != want:
            problems.append(f"{name}: holds {got} (listed {f['SHA256']}), sent {want}")
    if problems:
        sys.exit("\n".join(problems[:20]))
    unacknowledged_kept = len(present) - len(set(acknowledged) & set(present))
    print(f"{len(acknowledged)} acknowledged, all whole; {unacknowledged_kept} more kept whole", flush=True)
