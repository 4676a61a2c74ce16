#!/usr/bin/env bash
# Benchmark: SFTP through Ferry against OpenSSH's sshd + sftp-server on the same machine, the
# same OpenSSH `sftp` client with the same cipher (aes128-gcm@openssh.com) and key
# authentication, one run. Reports throughput ratios (Ferry / OpenSSH):
#   - a 1 GiB download, goal >= 1.10
#   - a 1 GiB upload,   goal >= 1.00
# and the memory (sum of PSS over every process of each server) held by 100 idle, signed-in
# SFTP sessions (goal: Ferry <= 0.10x sshd's).
#
#   bench/sftp.sh [--size-mib N] [--runs N] [--idle N]
#
# Each transfer is timed --runs times (default 5), Ferry and OpenSSH taking turns (which goes
# first alternates), and the median counts: on a shared machine single runs swing by a third
# either way. `sync` runs before each transfer, untimed. Needs root (sshd).
set -euo pipefail
cd "$(dirname "$0")/.."

size_mib=1024
runs=5
idle=100
while (($#)); do
  case "$1" in
    --size-mib) size_mib=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --idle) idle=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

[ -x /usr/sbin/sshd ] || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null
}
python3 -c 'import paramiko' 2>/dev/null || python3 -m pip install -q paramiko || python3 -m pip install -q --break-system-packages paramiko
cargo build --release -p ferry -q

work=$(mktemp -d /var/tmp/ferry-sftp-bench.XXXXXX)
chmod 755 "$work"
cleanup() {
  [ -n "${ferry_pid:-}" ] && kill "$ferry_pid" 2>/dev/null
  [ -f "$work/sshd.pid" ] && kill "$(cat "$work/sshd.pid")" 2>/dev/null
  [ -n "${idle_pid:-}" ] && kill "$idle_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "preparing a ${size_mib} MiB file of random bytes" >&2
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$work/payload"
ssh-keygen -q -t ed25519 -N "" -f "$work/client_key"
ssh-keygen -q -t ed25519 -N "" -f "$work/sshd_host_key"
user=$(id -un)

# OpenSSH: a private sshd on loopback, key authentication only, the stock sftp-server.
mkdir -p "$work/sshd-files"
cp "$work/client_key.pub" "$work/authorized_keys"
sshd_port=$(free_port)
cat > "$work/sshd_config" <<CONF
Port $sshd_port
ListenAddress 127.0.0.1
HostKey $work/sshd_host_key
PidFile $work/sshd.pid
AuthorizedKeysFile $work/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
MaxStartups 1000
MaxSessions 1000
Subsystem sftp /usr/lib/openssh/sftp-server
CONF
mkdir -p /run/sshd
/usr/sbin/sshd -f "$work/sshd_config"

# Ferry: SFTP on a free port, the same key for a user named like the OS user.
ferry_port=$(free_port)
printf '[lockout]\naccount_threshold = 0\naddress_threshold = 0\n[sftp]\nlisten = "127.0.0.1:%s"\nmax_connections_per_ip = 1000\nmax_connections_per_user = 1000\n[ftps]\nlisten = "0"\n' \
  "$ferry_port" > "$work/ferry.toml"
FERRY_ADMIN_PASSWORD=bench-admin-password FERRY_LOG=warn \
  target/release/ferry --config "$work/ferry.toml" --data-dir "$work/ferry" serve --http 127.0.0.1:0 \
  > "$work/ferry.out" 2> "$work/ferry.err" &
ferry_pid=$!
for _ in $(seq 100); do grep -q listening "$work/ferry.out" 2>/dev/null && break; sleep 0.1; done
target/release/ferry --config "$work/ferry.toml" --data-dir "$work/ferry" user add "$user" --role member >/dev/null
target/release/ferry --config "$work/ferry.toml" --data-dir "$work/ferry" user add-key "$user" --key-file "$work/client_key.pub" >/dev/null

sftp_run() { # port, batch text
  printf '%b' "$2" > "$work/batch"
  sftp -q -b "$work/batch" -i "$work/client_key" -P "$1" -c aes128-gcm@openssh.com \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes \
    -o LogLevel=ERROR "$user@127.0.0.1" >/dev/null || { echo "sftp to port $1 failed: $2" >&2; cat "$work/ferry.err" >&2; exit 1; }
}
timed() { # wall time of `sftp_run port batch`
  local s e
  # Start from a clean page cache: sshd's unsynced writes must not be paid by the next
  # transfer's fsync (Ferry syncs each upload before recording it; sftp-server never does).
  sync
  s=$(date +%s.%N); sftp_run "$1" "$2"; e=$(date +%s.%N)
  python3 -c "print($e - $s)"
}
median() { python3 -c "import statistics, sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
both() { # port A, batch A, port B, batch B: medians of A and B over $runs alternating rounds
  local a=() b=() i
  for i in $(seq "$runs"); do
    if ((i % 2)); then a+=("$(timed "$1" "$2")"); b+=("$(timed "$3" "$4")")
    else b+=("$(timed "$3" "$4")"); a+=("$(timed "$1" "$2")"); fi
  done
  echo "$(median "${a[@]}") $(median "${b[@]}")"
}
mbps() { python3 -c "print(f'{$size_mib / $1:.0f}')"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

read -r up_openssh up_ferry < <(both "$sshd_port" "put $work/payload $work/sshd-files/payload\n" \
  "$ferry_port" "put $work/payload /Home/$user/payload\n")
# Timed downloads go to /dev/null: writing the client's copy costs the client as much CPU as
# the transfer (the same for both servers) and capped both at the client's speed. One more
# download, untimed, is compared byte for byte.
read -r down_openssh down_ferry < <(both "$sshd_port" "get $work/sshd-files/payload /dev/null\n" \
  "$ferry_port" "get /Home/$user/payload /dev/null\n")
sftp_run "$ferry_port" "get /Home/$user/payload $work/down-ferry\n"
cmp "$work/payload" "$work/down-ferry" || { echo "Ferry returned different bytes" >&2; exit 1; }

pss_kib() { # sum of Pss over a process and its descendants
  local pids=("$1") i=0
  while [ $i -lt ${#pids[@]} ]; do
    for c in $(ps -o pid= --ppid "${pids[$i]}"); do pids+=("$c"); done
    i=$((i + 1))
  done
  for p in "${pids[@]}"; do awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null; done |
    awk '{s += $1} END {print s + 0}'
}
measure_idle() { # port, server pid
  local before after
  before=$(pss_kib "$2")
  python3 - "$1" "$user" "$work/client_key" "$idle" <<'PY' &
import sys, time, paramiko
port, user, key_file, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
key = paramiko.Ed25519Key.from_private_key_file(key_file)
held = []
for _ in range(n):
    t = paramiko.Transport(("127.0.0.1", port)); t.connect(username=user, pkey=key)
    held.append((t, paramiko.SFTPClient.from_transport(t)))
print("held", file=sys.stderr, flush=True)
time.sleep(3600)
PY
  idle_pid=$!
  for _ in $(seq 600); do
    [ "$(ss -tn state established "( dport = :$1 )" | tail -n +2 | wc -l)" -ge "$idle" ] && break
    sleep 0.2
  done
  sleep 2
  after=$(pss_kib "$2")
  kill "$idle_pid"; wait "$idle_pid" 2>/dev/null || true; idle_pid=
  echo $((after - before))
}
idle_openssh=$(measure_idle "$sshd_port" "$(cat "$work/sshd.pid")")
idle_ferry=$(measure_idle "$ferry_port" "$ferry_pid")

echo "download ${size_mib} MiB: OpenSSH $(mbps "$down_openssh") MiB/s, Ferry $(mbps "$down_ferry") MiB/s, ratio $(ratio "$down_openssh" "$down_ferry") (goal >= 1.10)"
echo "upload ${size_mib} MiB:   OpenSSH $(mbps "$up_openssh") MiB/s, Ferry $(mbps "$up_ferry") MiB/s, ratio $(ratio "$up_openssh" "$up_ferry") (goal >= 1.00)"
echo "${idle} idle SFTP sessions: sshd +$((idle_openssh / 1024)) MiB, Ferry +$((idle_ferry / 1024)) MiB, ratio $(ratio "$idle_ferry" "$idle_openssh") (goal <= 0.10)"
