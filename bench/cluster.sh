#!/usr/bin/env bash
# Benchmark: aggregate throughput of 8 concurrent clients through HAProxy (mode tcp, PROXY v2)
# in front of 1 node, then 2 nodes, of Ferry on one PostgreSQL database and one s3s-fs bucket,
# all on this machine, alternating the two set-ups (issue 20). Each client uploads a file and
# downloads it back with curl; the figure is all bytes moved / wall time, and the ratio
# 2 nodes / 1 node. bench/README.md has the model of where it stops growing.
#
#   bench/cluster.sh [--size-mib N] [--clients N] [--rounds N]
set -euo pipefail
cd "$(dirname "$0")/.."

size_mib=128
clients=8
rounds=2
while (($#)); do
  case "$1" in
    --size-mib) size_mib=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

s3s=target/test-peers/bin/s3s-fs
[ -x "$s3s" ] || cargo install --quiet --locked --root target/test-peers s3s-fs@0.14.1 --features binary
command -v haproxy >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; }
cargo build --release -p ferry -q

work=$(mktemp -d /var/tmp/ferry-bench.XXXXXX)
chmod 755 "$work"
pids=()
pg_bin=$(dirname "$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -1)")
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${haproxy_pid:-}" ] && kill "$haproxy_pid" 2>/dev/null
  [ -d "$work/pg" ] && as_pg "$pg_bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "starting PostgreSQL, s3s-fs and two Ferry nodes" >&2
pg_port=$(free_port)
mkdir -p "$work/pg" "$work/pglog" && chown postgres "$work/pg" "$work/pglog" 2>/dev/null || true
as_pg "$pg_bin/initdb" -D "$work/pg" -U ferry --auth trust >/dev/null
as_pg "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pglog/pg.log" -o "-p $pg_port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=on" start >/dev/null
for _ in $(seq 100); do as_pg "$pg_bin/pg_isready" -h 127.0.0.1 -p "$pg_port" >/dev/null 2>&1 && break; sleep 0.1; done
as_pg "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U ferry ferry
database_url="postgres://ferry@127.0.0.1:$pg_port/ferry"

s3_port=$(free_port)
mkdir -p "$work/s3/bench"
"$s3s" --host 127.0.0.1 --port "$s3_port" --access-key benchkey --secret-key bench-secret-key "$work/s3" > "$work/s3s.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$s3_port") 2>/dev/null && break; sleep 0.1; done

node_ports=()
for n in 1 2; do
  dir="$work/node$n"; mkdir -p "$dir"
  cat > "$dir.toml" <<TOML
trusted_proxies = ["127.0.0.1"]
[lockout]
account_threshold = 0
address_threshold = 0
[ftps]
listen = "0"
[sftp]
listen = "0"
[storage]
url = "s3://bench/ferry?endpoint=http://127.0.0.1:$s3_port&region=us-east-1"
access_key_id = "benchkey"
secret_access_key = "bench-secret-key"
TOML
  FERRY_ADMIN_PASSWORD=bench-admin-password FERRY_LOG=warn \
    target/release/ferry --config "$dir.toml" --data-dir "$dir" --database-url "$database_url" serve --http 127.0.0.1:0 \
    > "$dir.out" 2> "$dir.err" &
  pids+=($!)
  for _ in $(seq 200); do grep -q listening "$dir.out" 2>/dev/null && break; sleep 0.1; done
  base=$(sed -n 's/^ferry: listening on //p' "$dir.out")
  [ -n "$base" ] || { cat "$dir.err" >&2; exit 1; }
  node_ports+=("${base##*:}")
done
target/release/ferry --config "$work/node1.toml" --data-dir "$work/node1" --database-url "$database_url" app add 1000 bench >/dev/null

lb_port=$(free_port)
# balancer N: HAProxy in front of the first N nodes.
balancer() {
  [ -n "${haproxy_pid:-}" ] && { kill "$haproxy_pid"; wait "$haproxy_pid" 2>/dev/null || true; }
  {
    printf 'global\n  maxconn 1000\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 5m\n  timeout server 5m\n'
    printf 'frontend http\n  bind 127.0.0.2:%s\n  default_backend nodes\nbackend nodes\n  balance roundrobin\n' "$lb_port"
    for i in $(seq "$1"); do printf '  server n%s 127.0.0.1:%s send-proxy-v2\n' "$i" "${node_ports[$((i - 1))]}"; done
  } > "$work/haproxy.cfg"
  haproxy -db -f "$work/haproxy.cfg" > "$work/haproxy.log" 2>&1 &
  haproxy_pid=$!
  for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.2/$lb_port") 2>/dev/null && break; sleep 0.1; done
}

balancer 1
lb="http://127.0.0.2:$lb_port"
session=$(curl -sf -X POST "$lb/api/v1/Open" \
  -d '{"userName":"admin","password":"bench-admin-password","applicationID":1000}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["SessionID"])')
home=$(curl -sf -X POST "$lb/api/v1/GetHomeFolder" -d "{\"sessionID\":\"$session\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["FolderID"])')
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$work/payload"

# round: every client uploads its own file and downloads it back; prints MiB/s for all bytes.
round() {
  local start end
  start=$(date +%s.%N)
  for c in $(seq "$clients"); do
    (
      id=$(curl -sf -T "$work/payload" -H "X-Session-ID: $session" "$lb/api/v1/folders/$home/files/client-$c" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["FileID"])')
      curl -sf -o /dev/null -H "X-Session-ID: $session" "$lb/api/v1/files/$id/content"
    ) &
  done
  wait
  end=$(date +%s.%N)
  python3 -c "print(f'{2 * $clients * $size_mib / ($end - $start):.0f}')"
}

one=0; two=0
for _ in $(seq "$rounds"); do
  balancer 1; r=$(round); one=$(python3 -c "print(max($one, $r))")
  balancer 2; r=$(round); two=$(python3 -c "print(max($two, $r))")
done
echo "$clients clients × (upload + download of ${size_mib} MiB) through HAProxy, content in s3s-fs, metadata in PostgreSQL:"
echo "  1 node:  $one MiB/s"
echo "  2 nodes: $two MiB/s   ratio 2/1 $(python3 -c "print(f'{$two / $one:.2f}')") ($(nproc) cores shared by every process)"
