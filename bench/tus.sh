#!/usr/bin/env bash
# Benchmark: a 1 GiB upload through the upload tool's tus endpoint against a direct PUT into
# the same folder of the same server, one run. Reports, as ratios of throughput (tus / PUT):
#   - tus with one PATCH, sent by curl (the same client as the PUT),      goal >= 0.8
#   - tus in 16 MiB PATCHes (what the browser page sends), by tuspy,       goal >= 0.8
#
#   bench/tus.sh [--size-mib N] [--runs N]
#
# Each transfer is timed --runs times (default 5), the three kinds taking turns in a rotating
# order, and the median counts: every upload is fsynced, and on a shared disk single runs swing
# by 2x either way (perf shows the same profile for both paths: the copy into the page cache
# and SHA-256). FERRY_BENCH_DIR=/dev/shm takes the disk out (needs (3 x runs + 1) x size RAM).
set -euo pipefail
cd "$(dirname "$0")/.."

size_mib=1024
runs=5
while (($#)); do
  case "$1" in
    --size-mib) size_mib=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
python3 -c 'import tusclient' 2>/dev/null || python3 -m pip install -q tuspy
cargo build --release -p ferry -q

work=$(mktemp -d "${FERRY_BENCH_DIR:-/var/tmp}/ferry-bench.XXXXXX")
cleanup() {
  [ -n "${ferry_pid:-}" ] && kill "$ferry_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

echo "preparing a ${size_mib} MiB file of random bytes" >&2
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$work/payload"

mkdir -p "$work/ferry"
cat > "$work/ferry.toml" <<TOML
[lockout]
account_threshold = 0
address_threshold = 0
[tools]
key = "$(openssl rand -base64 32)"
iv = "$(openssl rand -base64 16)"
[ftps]
listen = "0"
[sftp]
listen = "0"
TOML
ferry() { target/release/ferry --config "$work/ferry.toml" --data-dir "$work/ferry" "$@"; }
FERRY_ADMIN_PASSWORD=bench-admin-password FERRY_LOG=warn ferry serve --http 127.0.0.1:0 \
  > "$work/ferry.out" 2> "$work/ferry.err" &
ferry_pid=$!
for _ in $(seq 100); do grep -q listening "$work/ferry.out" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^ferry: listening on //p' "$work/ferry.out")
# Application IDs below 1000 are Ferry's own: register one for the benchmark.
ferry app add 1000 bench >/dev/null
session=$(curl -sf -X POST "$base/api/v1/OpenImmutable" \
  -d '{"userName":"admin","password":"bench-admin-password","applicationID":1000}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["SessionID"])')
home=$(curl -sf -X POST "$base/api/v1/GetHomeFolder" -d "{\"sessionID\":\"$session\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["FolderID"])')
link=$(ferry token issue --folder "$home" --allowed-ip 127.0.0.1 --session "$session" --link "$base")
grant=$(curl -sf "$link" | sed -n 's/.*data-grant="\([^"]*\)".*/\1/p')

seconds() { python3 -c "import statistics, sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }

put_times=() tus_times=() tuspy_times=()
run_put() {
  put_times+=("$(curl -sf -o /dev/null -w '%{time_total}' -T "$work/payload" \
    -H "X-Session-ID: $session" "$base/api/v1/folders/$home/files/put-$i")")
}
run_tus() {
  # tus: creation, then the whole file in one PATCH; timed from the POST to the last byte.
  start=$(date +%s.%N)
  location=$(curl -sf -o /dev/null -D - -X POST "$base/tools/tus" -H "Tus-Resumable: 1.0.0" \
    -H "Ferry-Grant: $grant" -H "Upload-Length: $((size_mib * 1024 * 1024))" \
    -H "Upload-Metadata: filename $(printf 'tus-%s' "$i" | base64)" |
    tr -d '\r' | sed -n 's/^location: //Ip')
  curl -sf -o /dev/null -X PATCH -T "$work/payload" -H "Tus-Resumable: 1.0.0" \
    -H "Ferry-Grant: $grant" -H "Upload-Offset: 0" \
    -H "Content-Type: application/offset+octet-stream" "$base$location"
  tus_times+=("$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$(date +%s.%N)")")
}
run_tuspy() {
  tuspy_times+=("$(python3 - "$base" "$grant" "$work/payload" "$i" <<'PY'
import sys, time
from tusclient import client
base, grant, path, i = sys.argv[1:]
c = client.TusClient(base + "/tools/tus", headers={"Ferry-Grant": grant})
start = time.perf_counter()
c.uploader(path, chunk_size=16 * 1024 * 1024, metadata={"filename": f"tuspy-{i}"}).upload()
print(time.perf_counter() - start)
PY
)")
}
kinds=(run_put run_tus run_tuspy)
for i in $(seq "$runs"); do
  for k in 0 1 2; do "${kinds[$(((i + k) % 3))]}"; done
done

put=$(seconds "${put_times[@]}")
tus=$(seconds "${tus_times[@]}")
tuspy=$(seconds "${tuspy_times[@]}")
mbps() { python3 -c "print(f'{$size_mib / $1:.0f}')"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
echo "upload ${size_mib} MiB, median of $runs: PUT (curl) $(mbps "$put") MiB/s"
echo "  tus, one PATCH (curl):      $(mbps "$tus") MiB/s, ratio $(ratio "$put" "$tus") (goal >= 0.8)"
echo "  tus, 16 MiB PATCHes (tuspy): $(mbps "$tuspy") MiB/s, ratio $(ratio "$put" "$tuspy") (goal >= 0.8)"
