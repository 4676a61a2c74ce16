"""Sign-in latency of an account's owner while another account floods the sign-ins.

Usage: signin_flood.py BASE FLOOD_ADDRESSES SECONDS
The flood: user `mallory` signs in with the right password (a lock-out never stops that),
from FLOOD_ADDRESSES loopback addresses (127.1.x.y) at once, over and over. After a warm-up
(SECONDS / 2), `alice` signs in for SECONDS, one attempt after another on each of two threads:
from 127.0.0.1 (an address she signed in from before the flood) and from 127.0.0.2 (one she
never used). Prints a JSON line with the latencies.
"""
import http.client
import json
import statistics
import sys
import threading
import time
from urllib.parse import urlparse

base, flood_addresses, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
url = urlparse(base)
APP = 1000


def open_from(source, user, password):
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120, source_address=(source, 0))
    body = json.dumps({"userName": user, "password": password, "applicationID": APP})
    started = time.monotonic()
    conn.request("POST", "/api/v1/Open", body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status, time.monotonic() - started


# Before the flood: alice signs in from her usual address once.
assert open_from("127.0.0.1", "alice", "alice-password")[0] == 200
stop = threading.Event()
flood_done = [0]
flood_refused = [0]


def flood(i):
    source = f"127.1.{i // 250}.{i % 250 + 1}"
    while not stop.is_set():
        try:
            status, _ = open_from(source, "mallory", "mallory-password")
            flood_done[0] += 1
            if status != 200:
                flood_refused[0] += 1
        except OSError:
            flood_refused[0] += 1


threads = [threading.Thread(target=flood, args=(i,), daemon=True) for i in range(flood_addresses)]
for t in threads:
    t.start()
time.sleep(seconds / 2)  # the flood's queue fills and settles
known, new = [], []
deadline = time.monotonic() + seconds


def owner(source, out):
    while time.monotonic() < deadline:
        status, took = open_from(source, "alice", "alice-password")
        out.append(took if status == 200 else float("inf"))


owners = [threading.Thread(target=owner, args=a) for a in (("127.0.0.1", known), ("127.0.0.2", new))]
for t in owners:
    t.start()
for t in owners:
    t.join()
stop.set()


def summary(xs):
    ok = sorted(x for x in xs if x != float("inf"))
    return {"n": len(xs), "failed": len(xs) - len(ok),
            "median_s": round(statistics.median(ok), 3) if ok else None,
            "p95_s": round(ok[int(len(ok) * 0.95) - 1], 3) if ok else None}


print(json.dumps({"flood_addresses": flood_addresses, "flood_signins": flood_done[0],
                  "flood_refused": flood_refused[0],
                  "owner_known_address": summary(known), "owner_new_address": summary(new)}))
