"""One user's FTPS connections on several nodes, whose limit (2) counts them all together.

    connections.py PORT0 PORT1 PORT2

Two connections on node 0, a third on node 1 (refused); one on node 0 ends, and node 1 admits
one. Prints {"phase": "holding"} and waits for a line on stdin (the test kills node 0, which
still holds a connection); then tries node 2 until it admits the user, and prints the report.
"""
import ftplib
import json
import ssl
import sys
import time

ports = [int(p) for p in sys.argv[1:4]]


def login(port):
    # From 127.0.0.3: the nodes take PROXY headers from 127.0.0.1 (the balancer's address).
    c = ftplib.FTP_TLS(context=ssl._create_unverified_context(), timeout=10,
                       source_address=("127.0.0.3", 0))
    c.connect("127.0.0.1", port)
    c.auth()
    c.login("alice", "alice-password")
    return c


def refused(port):
    try:
        login(port)
        return False
    except ftplib.error_perm as e:
        return str(e).startswith("530")


report = {}
first, second = login(ports[0]), login(ports[0])
report["third_on_another_node_refused"] = refused(ports[1])
first.quit()
deadline = time.monotonic() + 10
admitted = None
while admitted is None and time.monotonic() < deadline:
    try:
        admitted = login(ports[1])
    except ftplib.error_perm:
        time.sleep(0.1)
report["admitted_after_a_quit"] = admitted is not None
print(json.dumps({"phase": "holding"}), flush=True)
sys.stdin.readline()
# Node 0 died holding `second`: its place counts until its renewals run out.
started = time.monotonic()
report["refused_while_the_dead_node_counts"] = refused(ports[2])
while time.monotonic() - started < 60:
    try:
        login(ports[2])
        report["admitted_after_seconds"] = round(time.monotonic() - started, 1)
        break
    except ftplib.error_perm:
        time.sleep(0.5)
print(json.dumps(report), flush=True)
