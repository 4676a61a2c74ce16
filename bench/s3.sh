#!/usr/bin/env bash
# Benchmark: content in an S3-compatible bucket (s3s-fs on the same machine) against content in
# the local directory, same Ferry build, same curl client, one run (issue 20). Reports:
#   - a 1 GiB upload and a 1 GiB download through each, as the ratio bucket / local,
#   - the CPU seconds Ferry and s3s-fs each spent on the bucket's transfers (where the time
#     goes: Ferry hashes and forwards, s3s-fs receives, hashes the parts and writes them,
#     then concatenates them at the completion),
#   - the bucket's own speed for the same file through boto3 (one streaming GET; a multipart
#     upload of 8 MiB parts, 2 at a time, as Ferry sends them), and Ferry's ratio to it: what
#     Ferry adds on top of the object store,
#   - Ferry's peak RSS while a 2 GiB upload without Content-Length streams to the bucket
#     (bounded by design: 2 parts of 8 MiB on the wire per upload).
#
#   bench/s3.sh [--size-mib N] [--runs N]
set -euo pipefail
cd "$(dirname "$0")/.."

size_mib=1024
runs=3
while (($#)); do
  case "$1" in
    --size-mib) size_mib=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

s3s=target/test-peers/bin/s3s-fs
[ -x "$s3s" ] || cargo install --quiet --locked --root target/test-peers s3s-fs@0.14.1 --features binary
cargo build --release -p ferry -q

work=$(mktemp -d /var/tmp/ferry-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_secs() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$1/stat"; }

echo "preparing a ${size_mib} MiB file of random bytes" >&2
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$work/payload"

s3_port=$(free_port)
mkdir -p "$work/s3/bench"
"$s3s" --host 127.0.0.1 --port "$s3_port" --access-key benchkey --secret-key bench-secret-key "$work/s3" \
  > "$work/s3s.log" 2>&1 &
s3_pid=$!
pids+=("$s3_pid")
for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$s3_port") 2>/dev/null && break; sleep 0.1; done

# start NAME EXTRA_TOML: a Ferry node; sets base_NAME, session_NAME, home_NAME, pid_NAME.
start() {
  local name=$1 extra=$2 dir="$work/$1"
  mkdir -p "$dir"
  printf '[lockout]\naccount_threshold = 0\naddress_threshold = 0\n[ftps]\nlisten = "0"\n[sftp]\nlisten = "0"\n%s\n' "$extra" > "$dir.toml"
  FERRY_ADMIN_PASSWORD=bench-admin-password FERRY_LOG=warn \
    target/release/ferry --config "$dir.toml" --data-dir "$dir" serve --http 127.0.0.1:0 \
    > "$dir.out" 2> "$dir.err" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do grep -q listening "$dir.out" 2>/dev/null && break; sleep 0.1; done
  local base
  base=$(sed -n 's/^ferry: listening on //p' "$dir.out")
  [ -n "$base" ] || { cat "$dir.err" >&2; exit 1; }
  target/release/ferry --config "$dir.toml" --data-dir "$dir" app add 1000 bench >/dev/null
  local session home
  session=$(curl -sf -X POST "$base/api/v1/Open" \
    -d '{"userName":"admin","password":"bench-admin-password","applicationID":1000}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["SessionID"])')
  home=$(curl -sf -X POST "$base/api/v1/GetHomeFolder" -d "{\"sessionID\":\"$session\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["FolderID"])')
  printf -v "base_$name" '%s' "$base"
  printf -v "session_$name" '%s' "$session"
  printf -v "home_$name" '%s' "$home"
  printf -v "pid_$name" '%s' "$pid"
}
start local ""
start bucket "[storage]
url = \"s3://bench/ferry?endpoint=http://127.0.0.1:$s3_port&region=us-east-1\"
access_key_id = \"benchkey\"
secret_access_key = \"bench-secret-key\""

best() { # best (smallest) time_total of a curl command run $runs times
  local t b=""
  for _ in $(seq "$runs"); do
    t=$(curl -sf -o /dev/null -w '%{time_total}' "$@")
    b=$(python3 -c "import sys; a=[float(x) for x in sys.argv[1:] if x]; print(min(a))" "$t" "$b")
  done
  echo "$b"
}
file_id() {
  local base=$1 session=$2 home=$3
  curl -sf -X POST "$base/api/v1/GetFileByName" -d "{\"sessionID\":\"$session\",\"folderID\":$home,\"name\":\"payload\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["FileID"])'
}
mbps() { python3 -c "print(f'{$size_mib / $1:.0f}')"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

cpu_ferry0=$(cpu_secs "$pid_bucket"); cpu_s3s0=$(cpu_secs "$s3_pid")
# Alternate the two so that whatever else the machine does falls on both.
up_local=""; up_bucket=""; down_local=""; down_bucket=""
for _ in $(seq "$runs"); do
  up_local=$(runs=1 best -T "$work/payload" -H "X-Session-ID: $session_local" "$base_local/api/v1/folders/$home_local/files/payload")" $up_local"
  up_bucket=$(runs=1 best -T "$work/payload" -H "X-Session-ID: $session_bucket" "$base_bucket/api/v1/folders/$home_bucket/files/payload")" $up_bucket"
done
id_local=$(file_id "$base_local" "$session_local" "$home_local")
id_bucket=$(file_id "$base_bucket" "$session_bucket" "$home_bucket")
for _ in $(seq "$runs"); do
  down_local=$(runs=1 best -H "X-Session-ID: $session_local" "$base_local/api/v1/files/$id_local/content")" $down_local"
  down_bucket=$(runs=1 best -H "X-Session-ID: $session_bucket" "$base_bucket/api/v1/files/$id_bucket/content")" $down_bucket"
done
min() { python3 -c "import sys; print(min(float(x) for x in sys.argv[1:]))" $1; }
up_local=$(min "$up_local"); up_bucket=$(min "$up_bucket")
down_local=$(min "$down_local"); down_bucket=$(min "$down_bucket")
cpu_ferry=$(python3 -c "print(f'{$(cpu_secs "$pid_bucket") - $cpu_ferry0:.1f}')")
cpu_s3s=$(python3 -c "print(f'{$(cpu_secs "$s3_pid") - $cpu_s3s0:.1f}')")

echo "the same file to and from the bucket directly, with boto3" >&2
read -r up_direct down_direct < <(python3 - "$s3_port" "$work/payload" "$runs" <<'PY'
import sys, time
import boto3
from boto3.s3.transfer import TransferConfig
port, path, runs = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                  aws_access_key_id="benchkey", aws_secret_access_key="bench-secret-key")
config = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20, max_concurrency=2)
up = down = float("inf")
for _ in range(runs):
    t = time.perf_counter(); s3.upload_file(path, "bench", "direct/payload", Config=config)
    up = min(up, time.perf_counter() - t)
    t = time.perf_counter(); body = s3.get_object(Bucket="bench", Key="direct/payload")["Body"]
    while body.read(1 << 20):
        pass
    down = min(down, time.perf_counter() - t)
print(up, down)
PY
)

echo "streaming a 2 GiB upload (no Content-Length) to the bucket and watching Ferry's peak RSS" >&2
head -c "$((2 * 1024 * 1024 * 1024))" /dev/zero |
  curl -sf -o /dev/null -T - -H "X-Session-ID: $session_bucket" "$base_bucket/api/v1/folders/$home_bucket/files/big"
peak_kib=$(awk '/VmHWM/ {print $2}' "/proc/$pid_bucket/status")

echo "upload ${size_mib} MiB:   local $(mbps "$up_local") MiB/s, bucket $(mbps "$up_bucket") MiB/s, ratio bucket/local $(ratio "$up_local" "$up_bucket")"
echo "download ${size_mib} MiB: local $(mbps "$down_local") MiB/s, bucket $(mbps "$down_bucket") MiB/s, ratio bucket/local $(ratio "$down_local" "$down_bucket")"
echo "bucket direct (boto3): upload $(mbps "$up_direct") MiB/s, download $(mbps "$down_direct") MiB/s; Ferry on the bucket / direct: upload $(ratio "$up_direct" "$up_bucket"), download $(ratio "$down_direct" "$down_bucket")"
echo "CPU seconds over the bucket's $((runs * 2)) transfers: Ferry $cpu_ferry, s3s-fs $cpu_s3s"
echo "Ferry's peak RSS with content in the bucket, after a 2 GiB upload: $((peak_kib / 1024)) MiB"
