#!/usr/bin/env bash
# Benchmark: FTPS through Ferry against vsftpd on the same machine, same curl client
# (`--ssl-reqd`, explicit AUTH TLS, protected data channel), one run. Reports throughput ratios
# (Ferry / vsftpd):
#   - a 1 GiB download,  goal >= 1.2
#   - a 1 GiB upload,    goal >= 3   (vsftpd relays uploads through its privilege-separated parent)
# and the memory (sum of PSS over every process of each server) held by 100 idle, signed-in
# control connections.
#
#   bench/ftps.sh [--size-mib N] [--runs N] [--idle N]
#
# Each transfer is timed --runs times (default 3) and the best run counts, for both sides.
# Needs root (vsftpd signs in a local system user made for the run, removed afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."

size_mib=1024
runs=3
idle=100
while (($#)); do
  case "$1" in
    --size-mib) size_mib=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --idle) idle=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

command -v vsftpd >/dev/null || [ -x /usr/sbin/vsftpd ] || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq vsftpd >/dev/null
}
cargo build --release -p ferry -q

work=$(mktemp -d /var/tmp/ferry-ftps-bench.XXXXXX)
chmod 755 "$work"
bench_user=ferrybench
bench_password=bench-password-$$
cleanup() {
  [ -n "${ferry_pid:-}" ] && kill "$ferry_pid" 2>/dev/null
  [ -n "${vsftpd_pid:-}" ] && kill "$vsftpd_pid" 2>/dev/null
  [ -n "${idle_pid:-}" ] && kill "$idle_pid" 2>/dev/null
  wait 2>/dev/null
  userdel "$bench_user" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "preparing a ${size_mib} MiB file of random bytes" >&2
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$work/payload"

# vsftpd: a throwaway system user whose home is the served directory, TLS required everywhere.
mkdir -p "$work/vsftpd-home" "$work/vsftpd-empty"
userdel "$bench_user" 2>/dev/null || true  # left over from an interrupted run
useradd -d "$work/vsftpd-home" -s /bin/bash "$bench_user"
echo "$bench_user:$bench_password" | chpasswd
chown "$bench_user" "$work/vsftpd-home"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=127.0.0.1 -keyout "$work/vsftpd.key" -out "$work/vsftpd.pem" 2>/dev/null
vsftpd_port=$(free_port)
cat > "$work/vsftpd.conf" <<CONF
listen=YES
listen_address=127.0.0.1
listen_port=$vsftpd_port
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
pam_service_name=vsftpd
secure_chroot_dir=$work/vsftpd-empty
seccomp_sandbox=NO
ssl_enable=YES
allow_anon_ssl=NO
force_local_logins_ssl=YES
force_local_data_ssl=YES
require_ssl_reuse=NO
rsa_cert_file=$work/vsftpd.pem
rsa_private_key_file=$work/vsftpd.key
pasv_enable=YES
pasv_min_port=52000
pasv_max_port=52999
max_clients=1000
max_per_ip=1000
xferlog_enable=NO
CONF
/usr/sbin/vsftpd "$work/vsftpd.conf" &
vsftpd_pid=$!

# Ferry: FTPS on a free port, SQLite and content on the same disk as vsftpd's directory.
ferry_port=$(free_port)
printf '[lockout]\naccount_threshold = 0\naddress_threshold = 0\n[ftps]\nlisten = "127.0.0.1:%s"\npassive_ports = "53000-53999"\nmax_connections_per_ip = 1000\nmax_connections_per_user = 1000\n[sftp]\nlisten = "0"\n' \
  "$ferry_port" > "$work/ferry.toml"
FERRY_ADMIN_PASSWORD=bench-admin-password FERRY_LOG=warn \
  target/release/ferry --config "$work/ferry.toml" --data-dir "$work/ferry" serve --http 127.0.0.1:0 \
  > "$work/ferry.out" 2> "$work/ferry.err" &
ferry_pid=$!
for _ in $(seq 100); do grep -q listening "$work/ferry.out" 2>/dev/null && break; sleep 0.1; done
echo "$bench_password" | target/release/ferry --config "$work/ferry.toml" --data-dir "$work/ferry" \
  user add "$bench_user" --role member --password-stdin >/dev/null
sleep 0.5

ferry_url="ftp://$bench_user:$bench_password@127.0.0.1:$ferry_port/Home/$bench_user"
vsftpd_url="ftp://$bench_user:$bench_password@127.0.0.1:$vsftpd_port"
best() { # best (smallest) time_total of a curl command run $runs times
  local t b=""
  for _ in $(seq "$runs"); do
    t=$(curl -sS --fail --ssl-reqd -k -o /dev/null -w '%{time_total}' "$@") ||
      { echo "curl $* failed" >&2; exit 1; }
    b=$(python3 -c "import sys; a=[float(x) for x in sys.argv[1:] if x]; print(min(a))" "$t" "$b")
  done
  echo "$b"
}
mbps() { python3 -c "print(f'{$size_mib / $1:.0f}')"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

up_vsftpd=$(best -T "$work/payload" "$vsftpd_url/payload")
up_ferry=$(best -T "$work/payload" "$ferry_url/payload")
down_vsftpd=$(best "$vsftpd_url/payload")
down_ferry=$(best "$ferry_url/payload")
cmp <(curl -sS --ssl-reqd -k "$ferry_url/payload" | sha256sum) <(sha256sum < "$work/payload") >/dev/null ||
  { echo "Ferry returned different bytes" >&2; exit 1; }

# Memory of N idle, signed-in control connections: PSS summed over every process of a server
# (vsftpd forks two per session), before and after.
pss_kib() { # sum of Pss over the process tree rooted at $1
  local pids
  pids=$(ps -o pid= --ppid "$1" ; ps -o pid= -p "$1")
  for p in $pids $(for c in $(ps -o pid= --ppid "$1"); do ps -o pid= --ppid "$c"; done); do
    awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null
  done | awk '{s += $1} END {print s + 0}'
}
hold_idle() { # port, path: N connections signed in over TLS, held until killed
  python3 - "$1" "$bench_user" "$bench_password" "$idle" <<'PY' &
import ssl, sys, time
from ftplib import FTP_TLS
port, user, password, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
held = []
for _ in range(n):
    f = FTP_TLS(context=ctx, timeout=60); f.connect("127.0.0.1", port); f.auth(); f.login(user, password)
    held.append(f)
print("held", file=sys.stderr, flush=True)
time.sleep(3600)
PY
  idle_pid=$!
}
measure_idle() { # port, server pid
  local before after
  before=$(pss_kib "$2")
  hold_idle "$1"
  for _ in $(seq 600); do
    [ "$(ss -tn state established "( dport = :$1 )" | tail -n +2 | wc -l)" -ge "$idle" ] && break
    sleep 0.1
  done
  sleep 1
  after=$(pss_kib "$2")
  kill "$idle_pid"; wait "$idle_pid" 2>/dev/null || true; idle_pid=
  echo $((after - before))
}
idle_vsftpd=$(measure_idle "$vsftpd_port" "$vsftpd_pid")
idle_ferry=$(measure_idle "$ferry_port" "$ferry_pid")

echo "download ${size_mib} MiB: vsftpd $(mbps "$down_vsftpd") MiB/s, Ferry $(mbps "$down_ferry") MiB/s, ratio $(ratio "$down_vsftpd" "$down_ferry") (goal >= 1.2)"
echo "upload ${size_mib} MiB:   vsftpd $(mbps "$up_vsftpd") MiB/s, Ferry $(mbps "$up_ferry") MiB/s, ratio $(ratio "$up_vsftpd" "$up_ferry") (goal >= 3)"
mib() { python3 -c "print(f'{$1 / 1024:+.1f}')"; } # KiB -> signed MiB; PSS can fall as pages are shared
echo "${idle} idle signed-in connections: vsftpd $(mib "$idle_vsftpd") MiB, Ferry $(mib "$idle_ferry") MiB (PSS)"
