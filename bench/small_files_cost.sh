#!/usr/bin/env bash
# Measurement (issue 21, "measure first"): what one small upload costs Ferry. N PUTs of
# 4 KiB over one keep-alive HTTP connection (Python requests), on a fresh SQLite server:
#   - files per second and Ferry's CPU time per file (utime + stime from /proc);
#   - then the same run under `strace -f -c`: system calls per file (fsync, pwrite64,
#     pread64, futex, openat, rename, mkdir, mmap), the figures to compare before and after
#     a change. strace slows the run; its timings are not the point, its counts are.
#
#   bench/small_files_cost.sh [--files N] [--clients C]
#
# (default 500 files, 1 client; FERRY_BIN for another build). With --clients C > 1, C
# clients (each its own session and connection) upload N/C files each at once: how writers
# fare when they contend for the database, and (under strace) how many syncs each file costs
# when uploads come together.
set -euo pipefail
cd "$(dirname "$0")/.."

files=500
clients=1
while (($#)); do
  case "$1" in
    --files) files=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v strace >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace >/dev/null; }
ferry_bin=${FERRY_BIN:-target/release/ferry}
[ -n "${FERRY_BIN:-}" ] || cargo build --release -p ferry -q

work=$(mktemp -d /var/tmp/ferry-bench.XXXXXX)
cleanup() {
  [ -n "${ferry_pid:-}" ] && kill "$ferry_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/ferry.toml" <<TOML
[lockout]
account_threshold = 0
address_threshold = 0
[ftps]
listen = "0"
[sftp]
listen = "0"
TOML
FERRY_ADMIN_PASSWORD=bench-admin-password FERRY_LOG=warn \
  "$ferry_bin" --config "$work/ferry.toml" --data-dir "$work/ferry" serve --http 127.0.0.1:0 \
  > "$work/ferry.out" 2> "$work/ferry.err" &
ferry_pid=$!
for _ in $(seq 100); do grep -q listening "$work/ferry.out" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^ferry: listening on //p' "$work/ferry.out")
"$ferry_bin" --config "$work/ferry.toml" --data-dir "$work/ferry" app add 1000 bench >/dev/null

cat > "$work/put.py" <<'PY'
import json, os, sys, time, requests
base, n, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = requests.Session()
r = s.post(f"{base}/api/v1/OpenImmutable", json={"userName": "admin", "password": "bench-admin-password", "applicationID": 1000})
session = r.json()["SessionID"]
home = s.post(f"{base}/api/v1/GetHomeFolder", json={"sessionID": session}).json()["FolderID"]
body = os.urandom(4096)
t = time.time()
for i in range(n):
    r = s.put(f"{base}/api/v1/folders/{home}/files/{prefix}{i}.bin", data=body, headers={"X-Session-ID": session})
    assert r.status_code in (200, 201), (r.status_code, r.text)
print(f"{n / (time.time() - t):.0f}")
PY

cpu_ms() { awk '{print ($14 + $15) * 10}' "/proc/$ferry_pid/stat"; }
python3 "$work/put.py" "$base" 100 warm >/dev/null
if ((clients > 1)); then
  each=$((files / clients))
  before=$(cpu_ms)
  started=$(date +%s.%N)
  for c in $(seq "$clients"); do python3 "$work/put.py" "$base" "$each" "c$c-" >/dev/null & done
  wait $(jobs -p | grep -v "^$ferry_pid$")
  ended=$(date +%s.%N)
  after=$(cpu_ms)
  python3 -c "n = $each * $clients; print(f'{n} PUTs of 4 KiB from $clients clients at once: {n / ($ended - $started):.0f} files/s, Ferry CPU {($after - $before) / n:.2f} ms per file')"
fi
many() { # tag: the clients' uploads at once
  local c pids=()
  for c in $(seq "$clients"); do python3 "$work/put.py" "$base" "$each" "$1$c-" >/dev/null & pids+=($!); done
  for c in "${pids[@]}"; do wait "$c"; done
}
if ((clients == 1)); then
  before=$(cpu_ms)
  rate=$(python3 "$work/put.py" "$base" "$files" timed)
  after=$(cpu_ms)
  echo "$files PUTs of 4 KiB on one connection: $rate files/s, Ferry CPU $(python3 -c "print(f'{($after - $before) / $files:.2f}')") ms per file"
fi

strace -f -c -o "$work/strace.txt" -p "$ferry_pid" 2>/dev/null &
strace_pid=$!
sleep 1
if ((clients == 1)); then python3 "$work/put.py" "$base" "$files" traced >/dev/null; else many traced; fi
kill -INT "$strace_pid"; wait "$strace_pid" 2>/dev/null || true
echo "system calls per file (strace -f -c over $files PUTs from $clients clients):"
python3 - "$work/strace.txt" "$files" <<'PY'
import sys
counts = {}
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1].isidentifier():
        counts[parts[-1]] = int(parts[3])
n = int(sys.argv[2])
for name in ["fsync", "fdatasync", "pwrite64", "pread64", "write", "futex", "epoll_wait", "openat", "rename", "renameat2", "mkdir", "mmap", "munmap"]:
    if name in counts:
        print(f"  {name:<11} {counts[name] / n:6.1f}")
PY
