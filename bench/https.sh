#!/usr/bin/env bash
# Benchmark: HTTPS through Ferry's own listener (rustls) against nginx (OpenSSL) on the same
# machine, with the same ECDSA P-256 certificate and the same clients, in one run. Reports,
# as ratios (Ferry / nginx):
#   - a 1 GiB download with curl over HTTPS (nginx serves the file from disk),  goal >= 1.0
#   - a 1 GiB upload with curl over HTTPS (nginx WebDAV PUT),                   goal >= 1.0
#   - full TLS handshakes per second (openssl s_time -new, no resumption),       goal >= 0.8
#
#   bench/https.sh [--size-mib N] [--runs N] [--seconds N] [--http1.1] [--tmpfs]
#
# curl negotiates HTTP/2 with both servers unless --http1.1 is given. --tmpfs puts both
# servers' storage (Ferry's data directory, nginx's root and body buffers) in /dev/shm: the
# upload then compares the two HTTPS stacks without the disk, since Ferry's upload waits for
# its bytes to be durable on the device and nginx's does not (it leaves them in the page
# cache).
#
# Each transfer is timed in --runs rounds (default 3); a round times both servers, the two in
# turn, and which goes first alternates. The figure to read is the ratio of the two medians;
# the best of each and the ratio in every round are printed too, with each server's CPU
# seconds per GiB (on a machine whose cores the client shares, the CPU a server spends is
# what it takes from the client). Handshakes are counted for --seconds (default 10) on each
# side, split in two halves: nginx, Ferry, Ferry, nginx.
set -euo pipefail
cd "$(dirname "$0")/.."

size_mib=1024
runs=3
seconds=10
version=--http2
tmpfs=
while (($#)); do
  case "$1" in
    --size-mib) size_mib=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --http1.1) version=--http1.1; shift ;;
    --tmpfs) tmpfs=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

command -v nginx >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; }
# FERRY_BIN runs another build (an A/B of two builds, one after the other).
ferry_bin=${FERRY_BIN:-target/release/ferry}
[ -n "${FERRY_BIN:-}" ] || cargo build --release -p ferry -q

work=$(mktemp -d /var/tmp/ferry-bench.XXXXXX)
# Where the servers store what they receive (and nginx serves from).
store=$work
[ -z "$tmpfs" ] || store=$(mktemp -d /dev/shm/ferry-bench.XXXXXX)
cleanup() {
  [ -n "${ferry_pid:-}" ] && kill "$ferry_pid" 2>/dev/null
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work" "$store"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# One certificate for both servers, for localhost.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
chmod 600 "$work/key.pem"

echo "preparing a ${size_mib} MiB file of random bytes" >&2
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$work/payload"
mkdir -p "$store/www/files" "$store/www/dav" "$store/nginx-tmp"
cp "$work/payload" "$store/www/files/payload"

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
  client_body_temp_path $store/nginx-tmp;
  server {
    listen 127.0.0.1:$nginx_port ssl http2;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache off;
    ssl_session_tickets off;
    root $store/www;
    location /dav/ { dav_methods PUT; create_full_put_path on; }
  }
}
NGINX
nginx -c "$work/nginx.conf"

mkdir -p "$store/ferry"
cat > "$work/ferry.toml" <<TOML
[lockout]
account_threshold = 0
address_threshold = 0
[ftps]
listen = "0"
[sftp]
listen = "0"
[https]
listen = "127.0.0.1:0"
cert_file = "$work/cert.pem"
key_file = "$work/key.pem"
TOML
FERRY_ADMIN_PASSWORD=bench-admin-password FERRY_LOG=warn \
  "$ferry_bin" --config "$work/ferry.toml" --data-dir "$store/ferry" serve --http 127.0.0.1:0 \
  > "$work/ferry.out" 2> "$work/ferry.err" &
ferry_pid=$!
for _ in $(seq 100); do grep -q listening "$work/ferry.out" 2>/dev/null && break; sleep 0.1; done
ferry_port=$(sed -n 's/^ferry: https on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/ferry.out")
base="https://localhost:$ferry_port"
nginx="https://localhost:$nginx_port"
tls=(--cacert "$work/cert.pem" "$version")
"$ferry_bin" --config "$work/ferry.toml" --data-dir "$store/ferry" app add 1000 bench >/dev/null
session=$(curl -sf "${tls[@]}" -X POST "$base/api/v1/Open" \
  -d '{"userName":"admin","password":"bench-admin-password","applicationID":1000}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["SessionID"])')
api() { curl -sf "${tls[@]}" -X POST "$base/api/v1/$1" -d "$2"; }
home=$(api GetHomeFolder "{\"sessionID\":\"$session\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["FolderID"])')

# The servers' CPU seconds so far: Ferry's process, and nginx's master with its workers.
cpu_of() { for p in "$@"; do awk '{t += $14 + $15} END {print t / 100}' "/proc/$p/stat"; done |
  python3 -c 'import sys; print(sum(float(x) for x in sys.stdin))'; }
nginx_pids() { echo "$(cat "$work/nginx.pid") $(pgrep -P "$(cat "$work/nginx.pid")" | tr '\n' ' ')"; }
# One timed transfer: prints "seconds cpu-seconds-of-the-server".
timed() { # timed SERVER-PIDS... -- CURL-ARGS...
  local pids=() t c0 c1
  while [ "$1" != -- ]; do pids+=("$1"); shift; done
  shift
  c0=$(cpu_of "${pids[@]}")
  t=$(curl -sf "${tls[@]}" -o /dev/null -w '%{time_total}' "$@")
  c1=$(cpu_of "${pids[@]}")
  echo "$t $(python3 -c "print($c1 - $c0)")"
}
mbps() { python3 -c "print(f'{$size_mib / $1:.0f}')"; }

# Rounds alternate the two servers, and which of them goes first, so that a change in the
# machine's speed during the run (the page cache, a neighbour) falls on both alike.
round_trip() { # round_trip LABEL NGINX-CURL-ARGS -- FERRY-CURL-ARGS
  local label=$1 i n_args=() f_args=()
  shift
  while [ "$1" != -- ]; do n_args+=("$1"); shift; done
  shift
  f_args=("$@")
  local order server
  for i in $(seq "$runs"); do
    order=(nginx ferry)
    ((i % 2)) || order=(ferry nginx)
    for server in "${order[@]}"; do
      if [ "$server" = nginx ]; then
        # shellcheck disable=SC2046 # one word per process
        echo "$label nginx $(timed $(nginx_pids) -- "${n_args[@]}")"
      else
        echo "$label ferry $(timed "$ferry_pid" -- "${f_args[@]}")"
      fi
    done
  done
}

samples=$work/samples
round_trip upload -T "$work/payload" "$nginx/dav/payload" -- \
  -T "$work/payload" -H "X-Session-ID: $session" "$base/api/v1/folders/$home/files/payload" >> "$samples"
file_id=$(api GetFileByName "{\"sessionID\":\"$session\",\"folderID\":$home,\"name\":\"payload\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["FileID"])')
# Ferry wrote its copy with direct I/O, so it is not in the page cache, and nginx's is: one
# download of each, untimed, first.
curl -sf "${tls[@]}" -o /dev/null "$nginx/files/payload"
curl -sf "${tls[@]}" -o /dev/null -H "X-Session-ID: $session" "$base/api/v1/files/$file_id/content"
round_trip download "$nginx/files/payload" -- \
  -H "X-Session-ID: $session" "$base/api/v1/files/$file_id/content" >> "$samples"

handshakes() { # connections per real second, full handshakes (-new: no resumption)
  openssl s_time -connect "127.0.0.1:$1" -new -time "$seconds" -CAfile "$work/cert.pem" 2>/dev/null |
    sed -n 's/^\([0-9]*\) connections in \([0-9.]*\) real seconds.*/\1 \2/p' |
    python3 -c 'import sys; n, s = sys.stdin.read().split(); print(f"{int(n) / float(s):.1f}")'
}
# nginx, Ferry, Ferry, nginx: half of --seconds each time.
half=$(python3 -c "print(max(1, round($seconds / 2)))")
hs1=$(seconds=$half handshakes "$nginx_port"); hs2=$(seconds=$half handshakes "$ferry_port")
hs3=$(seconds=$half handshakes "$ferry_port"); hs4=$(seconds=$half handshakes "$nginx_port")
hs_nginx=$(python3 -c "print(round(($hs1 + $hs4) / 2, 1))")
hs_ferry=$(python3 -c "print(round(($hs2 + $hs3) / 2, 1))")

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
# Per direction: each server's median and best rate, the ratio of medians (the figure to read)
# and of bests, the ratio in each round, and each server's median CPU seconds per GiB.
python3 - "$samples" "$size_mib" <<'PY'
import statistics, sys
from collections import defaultdict
path, size_mib = sys.argv[1], float(sys.argv[2])
t, cpu = defaultdict(list), defaultdict(list)
for line in open(path):
    kind, server, secs, c = line.split()
    t[kind, server].append(float(secs))
    cpu[kind, server].append(float(c))
for kind, label in (("download", "HTTPS download"), ("upload", "HTTPS upload  ")):
    n, f = t[kind, "nginx"], t[kind, "ferry"]
    med = statistics.median(n) / statistics.median(f)
    best = min(n) / min(f)
    rounds = " ".join(f"{a / b:.2f}" for a, b in zip(n, f))
    per_gib = lambda s: statistics.median(cpu[kind, s]) * 1024 / size_mib
    print(f"{label} {size_mib:.0f} MiB: nginx {size_mib / statistics.median(n):.0f} MiB/s, "
          f"Ferry {size_mib / statistics.median(f):.0f} MiB/s (medians), ratio {med:.2f} "
          f"(goal >= 1.0); best {best:.2f}; rounds {rounds}; "
          f"server CPU-s per GiB: nginx {per_gib('nginx'):.2f}, Ferry {per_gib('ferry'):.2f}")
PY
echo "TLS handshakes per second:   nginx $hs_nginx, Ferry $hs_ferry, ratio $(ratio "$hs_ferry" "$hs_nginx") (goal >= 0.8)"
