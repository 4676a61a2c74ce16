#!/usr/bin/env bash
# Benchmark: HTTP transfer through Ferry against nginx on the same machine, same curl client,
# one run. Reports, as ratios of throughput (Ferry / nginx):
#   - a 1 GiB download (nginx serves the file from disk),           goal >= 0.95
#   - a 1 GiB upload   (nginx WebDAV PUT into a directory),          goal >= 1.00
# and Ferry's peak RSS while it receives a 4 GiB upload (goal <= 64 MiB), and the latency of
# GetFiles' first page on a 100,000-file folder against a 100-file folder (goal <= 2x).
#
#   bench/transfer.sh [--size-mib N] [--big-gib N] [--runs N]
#
# Each transfer is timed --runs times (default 3) and the best run counts, for both sides.
set -euo pipefail
cd "$(dirname "$0")/.."

size_mib=1024
big_gib=4
runs=3
while (($#)); do
  case "$1" in
    --size-mib) size_mib=$2; shift 2 ;;
    --big-gib) big_gib=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

command -v nginx >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; }
cargo build --release -p ferry -q

work=$(mktemp -d /var/tmp/ferry-bench.XXXXXX)
cleanup() {
  [ -n "${ferry_pid:-}" ] && kill "$ferry_pid" 2>/dev/null
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "preparing a ${size_mib} MiB file of random bytes" >&2
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$work/payload"
mkdir -p "$work/www/files" "$work/www/dav" "$work/nginx-tmp"
cp "$work/payload" "$work/www/files/payload"

nginx_port=$(free_port)
cat > "$work/nginx.conf" <<NGINX
user root;
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
daemon on;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  client_max_body_size 0;
  client_body_temp_path $work/nginx-tmp;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/www;
    location /dav/ { dav_methods PUT; create_full_put_path on; }
  }
}
NGINX
nginx -c "$work/nginx.conf"

mkdir -p "$work/ferry"
printf '[lockout]\naccount_threshold = 0\naddress_threshold = 0\n[ftps]\nlisten = "0"\n[sftp]\nlisten = "0"\n' > "$work/ferry.toml"
FERRY_ADMIN_PASSWORD=bench-admin-password FERRY_LOG=warn \
  target/release/ferry --config "$work/ferry.toml" --data-dir "$work/ferry" serve --http 127.0.0.1:0 \
  > "$work/ferry.out" 2> "$work/ferry.err" &
ferry_pid=$!
for _ in $(seq 100); do grep -q listening "$work/ferry.out" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^ferry: listening on //p' "$work/ferry.out")
# Application IDs below 1000 are Ferry's own: register one for the benchmark.
target/release/ferry --config "$work/ferry.toml" --data-dir "$work/ferry" app add 1000 bench >/dev/null
session=$(curl -sf -X POST "$base/api/v1/Open" \
  -d '{"userName":"admin","password":"bench-admin-password","applicationID":1000}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["SessionID"])')
api() { curl -sf -X POST "$base/api/v1/$1" -d "$2"; }
home=$(api GetHomeFolder "{\"sessionID\":\"$session\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["FolderID"])')

best() { # best (smallest) time_total of a curl command run $runs times
  local t b=""
  for _ in $(seq "$runs"); do
    t=$(curl -sf -o /dev/null -w '%{time_total}' "$@")
    b=$(python3 -c "import sys; a=[float(x) for x in sys.argv[1:] if x]; print(min(a))" "$t" "$b")
  done
  echo "$b"
}
mbps() { python3 -c "print(f'{$size_mib / $1:.0f}')"; }

up_nginx=$(best -T "$work/payload" "http://127.0.0.1:$nginx_port/dav/payload")
up_ferry=$(best -T "$work/payload" -H "X-Session-ID: $session" "$base/api/v1/folders/$home/files/payload")
file_id=$(api GetFileByName "{\"sessionID\":\"$session\",\"folderID\":$home,\"name\":\"payload\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["FileID"])')
down_nginx=$(best "http://127.0.0.1:$nginx_port/files/payload")
down_ferry=$(best -H "X-Session-ID: $session" "$base/api/v1/files/$file_id/content")

echo "streaming a ${big_gib} GiB upload (no Content-Length) and watching Ferry's peak RSS" >&2
head -c "$((big_gib * 1024 * 1024 * 1024))" /dev/zero |
  curl -sf -o /dev/null -T - -H "X-Session-ID: $session" "$base/api/v1/folders/$home/files/big" 
peak_kib=$(awk '/VmHWM/ {print $2}' "/proc/$ferry_pid/status")

echo "seeding a 100,000-file folder and a 100-file folder" >&2
small=$(api CreateFolder "{\"sessionID\":\"$session\",\"parentFolderID\":$home,\"name\":\"small\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["FolderID"])')
large=$(api CreateFolder "{\"sessionID\":\"$session\",\"parentFolderID\":$home,\"name\":\"large\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["FolderID"])')
# Rows go straight into SQLite: 100,000 HTTP uploads would time the upload path, not GetFiles.
python3 - "$work/ferry/ferry.db" "$small" "$large" <<'PY'
import sqlite3, sys
db, small, large = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = sqlite3.connect(db, timeout=30)
rows = lambda folder, n: [(folder, f"file-{i:06d}.dat", f"file-{i:06d}.dat", 1, 1, "0" * 64, "0" * 32, 0, 0) for i in range(n)]
c.executemany("INSERT INTO files (folder_id, name, name_key, version, size, sha256, content_key, created_at, modified_at) VALUES (?,?,?,?,?,?,?,?,?)", rows(small, 100) + rows(large, 100_000))
c.commit()
PY
page_latency() {
  python3 - "$base" "$session" "$1" <<'PY'
import json, statistics, sys, time, urllib.request
base, session, folder = sys.argv[1], sys.argv[2], int(sys.argv[3])
body = json.dumps({"sessionID": session, "folderID": folder, "skip": 0, "take": 100}).encode()
times = []
for _ in range(200):
    start = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(f"{base}/api/v1/GetFiles", data=body, method="POST")) as r:
        assert len(json.load(r)) == 100
    times.append(time.perf_counter() - start)
print(statistics.median(times) * 1000)
PY
}
page_small=$(page_latency "$small")
page_large=$(page_latency "$large")

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
echo "download ${size_mib} MiB:  nginx $(mbps "$down_nginx") MiB/s, Ferry $(mbps "$down_ferry") MiB/s, ratio $(ratio "$down_nginx" "$down_ferry") (goal >= 0.95)"
echo "upload ${size_mib} MiB:    nginx $(mbps "$up_nginx") MiB/s, Ferry $(mbps "$up_ferry") MiB/s, ratio $(ratio "$up_nginx" "$up_ferry") (goal >= 1.00)"
echo "peak RSS, ${big_gib} GiB upload: $((peak_kib / 1024)) MiB (goal <= 64 MiB)"
echo "GetFiles first page: 100 files $(printf '%.2f' "$page_small") ms, 100,000 files $(printf '%.2f' "$page_large") ms, ratio $(ratio "$page_large" "$page_small") (goal <= 2)"
