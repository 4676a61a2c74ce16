"""A browser-tool upload through HAProxy whose nodes are killed under it, from 127.0.0.3.

    tus_kill.py LB_HTTP LINK_PATH NODE_PORT...

Opens the upload page through the balancer, creates a tus upload and sends its first 8 MiB in
one PATCH; prints {"served_by": <the balancer's name for that node>} and waits for a line on
stdin (the test kills that node). Then asks HEAD where the upload stands, starts the next
PATCH straight at the node named on that line, stops half-way and prints {"cut": true}, and
waits again (the test kills that node mid-PATCH). Then resumes through the balancer from HEAD
and prints the report: the offsets seen after each kill, the nodes that served, the SHA-256 the
server recorded and the one sent.
"""
import base64
import hashlib
import http.client
import json
import re
import socket
import sys
import time

SOURCE = ("127.0.0.3", 0)
lb, link = int(sys.argv[1]), sys.argv[2]
nodes = [int(p) for p in sys.argv[3:]]
MIB = 1048576
payload = bytes((i * 131 + i // 4096) % 251 for i in range(20 * MIB + 12345))


def request(port, method, path, body=None, headers=None, host="127.0.0.2", attempts=30):
    """A fresh connection each time; a node the balancer has not yet seen die is retried."""
    for attempt in range(attempts):
        try:
            c = http.client.HTTPConnection(host, port, timeout=60, source_address=SOURCE)
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            c.close()
        except OSError:
            time.sleep(0.5)
            continue
        if r.status in (502, 503) and attempt + 1 < attempts:
            time.sleep(0.5)
            continue
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data
    raise SystemExit(f"{method} {path}: no answer")


status, _, page = request(lb, "GET", link)
assert status == 200, (status, page[:300])
grant = re.search(rb'data-grant="([^"]+)"', page).group(1).decode()
tus = {"Tus-Resumable": "1.0.0", "Ferry-Grant": grant}
name = base64.b64encode(b"survivor.bin").decode()
status, h, body = request(lb, "POST", "/tools/tus", headers={
    **tus, "Upload-Length": str(len(payload)), "Upload-Metadata": f"filename {name}"})
assert status == 201, (status, body)
location = h["location"]
octets = {**tus, "Content-Type": "application/offset+octet-stream"}

status, h, body = request(lb, "PATCH", location, payload[:8 * MIB],
                          {**octets, "Upload-Offset": "0"})
assert status == 204, (status, body)
report = {"first_offset": int(h["upload-offset"]), "served": [h.get("x-ferry-node")]}
print(json.dumps({"served_by": h.get("x-ferry-node")}), flush=True)
target = int(sys.stdin.readline())

status, h, _ = request(lb, "HEAD", location, headers=tus)
assert status == 200, status
report["after_kill"] = int(h["upload-offset"])

# Half a PATCH straight at one node, which is then killed before the rest arrives.
at = report["after_kill"]
sock = socket.create_connection(("127.0.0.1", target), source_address=SOURCE)
head = (f"PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1:{target}\r\n"
        f"Tus-Resumable: 1.0.0\r\nFerry-Grant: {grant}\r\n"
        f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: {at}\r\n"
        f"Content-Length: {len(payload) - at}\r\n\r\n")
sock.sendall(head.encode() + payload[at:at + 3 * MIB])
time.sleep(1)
print(json.dumps({"cut": True}), flush=True)
sys.stdin.readline()
sock.close()

status, h, _ = request(lb, "HEAD", location, headers=tus)
assert status == 200, status
report["after_cut"] = at = int(h["upload-offset"])
started = time.monotonic()
status, h, body = request(lb, "PATCH", location, payload[at:], {**octets, "Upload-Offset": str(at)})
assert status == 204, (status, body)
report["resume_seconds"] = round(time.monotonic() - started, 1)
report["served"].append(h.get("x-ferry-node"))
report["recorded_sha256"] = h.get("ferry-file-sha256")
report["file_id"] = int(h.get("ferry-file-id", "0"))
report["sent_sha256"] = hashlib.sha256(payload).hexdigest()
report["length"] = len(payload)
print(json.dumps(report), flush=True)
