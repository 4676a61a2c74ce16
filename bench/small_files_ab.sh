#!/usr/bin/env bash
# A/B of two Ferry builds on small files (issue 21): both servers run at once on their
# embedded defaults, and each round times the same work on A then B (or B then A, alternating):
#   - N PUTs of 4 KiB on one connection (curl);
#   - 16 curl clients x N/16 PUTs at once;
#   - the N files downloaded on one connection;
#   - OpenSSH `sftp` `put -r` of N files, and `get -r` of them back.
# Reports each side's median files per second and B / A, and each server's CPU per file.
#
#   bench/small_files_ab.sh A_BIN B_BIN [--files N] [--rounds N] [--b-postgres | --postgres]
#                           [--large-mib N]
#
# With --large-mib N, each round also PUTs and GETs one file of N MiB (curl), to show that
# what was done for small files costs large ones nothing.
#
# With --b-postgres, side B keeps its metadata in a throwaway PostgreSQL (started here, with
# fsync on) instead of SQLite: give the same build twice for PostgreSQL / SQLite (issue 21's
# goal: >= 0.6). With --postgres, both sides keep theirs there (two databases of one server):
# an A/B of two builds on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

a_bin=$(realpath "$1")
b_bin=$(realpath "$2")
shift 2
files=1000
rounds=5
b_postgres=false
a_postgres=false
large_mib=0
while (($#)); do
  case "$1" in
    --large-mib) large_mib=$2; shift 2 ;;
    --b-postgres) b_postgres=true; shift ;;
    --postgres) a_postgres=true; b_postgres=true; shift ;;
    --files) files=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d /var/tmp/ferry-ab.XXXXXX)
chmod 755 "$work"  # PostgreSQL (--b-postgres) runs as its own user
pids=()
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  [ -n "${pg_bin:-}" ] && as_pg "$pg_bin/pg_ctl" -D "$work/pg" stop -m immediate >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
head -c 4096 /dev/urandom > "$work/f.bin"
mkdir -p "$work/tree"
for i in $(seq "$files"); do head -c 4096 /dev/urandom > "$work/tree/f$i.bin"; done
ssh-keygen -q -t ed25519 -N "" -f "$work/key"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

a_database=()
b_database=()
if $b_postgres; then
  pg_bin=$(dirname "$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -1)")
  pg_port=$(free_port)
  mkdir -p "$work/pg" && chown postgres "$work/pg" 2>/dev/null || true
  as_pg "$pg_bin/initdb" -D "$work/pg" -U ferry --auth trust >/dev/null
  as_pg "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pg/log" \
    -o "-p $pg_port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=on" start >/dev/null
  for _ in $(seq 100); do as_pg "$pg_bin/pg_isready" -h 127.0.0.1 -p "$pg_port" >/dev/null 2>&1 && break; sleep 0.1; done
  as_pg "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U ferry ferry
  b_database=(--database-url "postgres://ferry@127.0.0.1:$pg_port/ferry")
  if $a_postgres; then
    as_pg "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U ferry ferry_a
    a_database=(--database-url "postgres://ferry@127.0.0.1:$pg_port/ferry_a")
  fi
fi

start() { # side, binary, extra arguments: prints "pid base session home sftp_port"
  local dir=$work/$1 sftp_port bin=$2
  shift 2
  local db=("$@")
  mkdir -p "$dir"
  sftp_port=$(free_port)
  printf '[lockout]\naccount_threshold = 0\naddress_threshold = 0\n[ftps]\nlisten = "0"\n[sftp]\nlisten = "127.0.0.1:%s"\n' "$sftp_port" > "$dir/ferry.toml"
  FERRY_ADMIN_PASSWORD=bench-admin-password FERRY_LOG=warn \
    "$bin" --config "$dir/ferry.toml" --data-dir "$dir/data" "${db[@]}" serve --http 127.0.0.1:0 \
    > "$dir/out" 2> "$dir/err" &
  local pid=$!
  for _ in $(seq 100); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
  local base session home
  base=$(sed -n 's/^ferry: listening on //p' "$dir/out")
  "$bin" --config "$dir/ferry.toml" --data-dir "$dir/data" "${db[@]}" app add 1000 bench >/dev/null
  "$bin" --config "$dir/ferry.toml" --data-dir "$dir/data" "${db[@]}" user add-key admin --key-file "$work/key.pub" >/dev/null
  session=$(curl -sf -X POST "$base/api/v1/OpenImmutable" \
    -d '{"userName":"admin","password":"bench-admin-password","applicationID":1000}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["SessionID"])')
  home=$(curl -sf -X POST "$base/api/v1/GetHomeFolder" -d "{\"sessionID\":\"$session\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["FolderID"])')
  echo "$pid $base $session $home $sftp_port"
}
read -r a_pid a_base a_session a_home a_sftp < <(start a "$a_bin" "${a_database[@]}")
read -r b_pid b_base b_session b_home b_sftp < <(start b "$b_bin" "${b_database[@]}")
pids=("$a_pid" "$b_pid")

cpu_ms() { awk '{print ($14 + $15) * 10}' "/proc/$1/stat"; }
# PUTs: each round's files go to a new folder (named by a tag); client C of CLIENTS takes the
# files numbered C, C + CLIENTS, ...
put_config() { # base, session, folder, client, clients
  local i
  for ((i = $4 + 1; i <= files; i += $5)); do
    echo "upload-file = \"$work/f.bin\""; echo 'output = "/dev/null"'
    echo "url = \"$1/api/v1/folders/$3/files/f$i.bin\""
  done
  echo "header = \"X-Session-ID: $2\""
}
timed_puts() { # side, clients, tag: seconds
  local base session home folder c s e cpids=()
  eval "base=\$${1}_base session=\$${1}_session home=\$${1}_home"
  folder=$(curl -sf -X POST "$base/api/v1/CreateFolder" \
    -d "{\"sessionID\":\"$session\",\"parentFolderID\":$home,\"name\":\"$3\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["FolderID"])')
  echo "$folder" > "$work/$1-$3.folder"
  for ((c = 0; c < $2; c++)); do put_config "$base" "$session" "$folder" "$c" "$2" > "$work/$1-put-$c.conf"; done
  sync
  s=$(date +%s.%N)
  for ((c = 0; c < $2; c++)); do curl -sS --fail -K "$work/$1-put-$c.conf" & cpids+=($!); done
  for c in "${cpids[@]}"; do wait "$c" || { echo "a PUT client failed" >&2; exit 1; }; done
  e=$(date +%s.%N)
  python3 -c "print($e - $s)"
}
timed_gets() { # side, tag (of PUTs already made): seconds
  local base session s e skip
  eval "base=\$${1}_base session=\$${1}_session"
  for ((skip = 0; skip < files; skip += 1000)); do
    curl -sf -X POST "$base/api/v1/GetFiles" \
      -d "{\"sessionID\":\"$session\",\"folderID\":$(cat "$work/$1-$2.folder"),\"skip\":$skip,\"take\":1000}" |
      python3 -c "
import json, sys
for f in json.load(sys.stdin):
    print('output = \"/dev/null\"'); print(f'url = \"$base/api/v1/files/{f[\"FileID\"]}/content\"')"
  done > "$work/$1-get.conf"
  echo "header = \"X-Session-ID: $session\"" >> "$work/$1-get.conf"
  [ "$(grep -c '^url' "$work/$1-get.conf")" -eq "$files" ] || { echo "side $1 lists the wrong number of files" >&2; exit 1; }
  sync
  s=$(date +%s.%N)
  curl -sS --fail -K "$work/$1-get.conf"
  e=$(date +%s.%N)
  python3 -c "print($e - $s)"
}
sftp_run() { # side, batch text
  local port_var=${1}_sftp
  printf '%b' "$2" > "$work/batch"
  sftp -q -b "$work/batch" -i "$work/key" -P "${!port_var}" -c aes128-gcm@openssh.com \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes \
    -o LogLevel=ERROR admin@127.0.0.1 >/dev/null || { echo "sftp to side $1 failed: $2" >&2; exit 1; }
}
timed_sftp() { # side, batch text: seconds
  local s e
  sync
  s=$(date +%s.%N); sftp_run "$1" "$2"; e=$(date +%s.%N)
  python3 -c "print($e - $s)"
}
((large_mib == 0)) || head -c "$((large_mib * 1024 * 1024))" /dev/urandom > "$work/large.bin"
timed_large() { # side, tag: "put_seconds get_seconds"
  local base session home s m e id
  eval "base=\$${1}_base session=\$${1}_session home=\$${1}_home"
  sync
  s=$(date +%s.%N)
  id=$(curl -sS --fail -T "$work/large.bin" -H "X-Session-ID: $session" \
    "$base/api/v1/folders/$home/files/large-$2.bin" | python3 -c 'import json,sys; print(json.load(sys.stdin)["FileID"])')
  m=$(date +%s.%N)
  curl -sS --fail -o /dev/null -H "X-Session-ID: $session" "$base/api/v1/files/$id/content"
  e=$(date +%s.%N)
  python3 -c "print($m - $s, $e - $m)"
}
declare -A t
for side in a b; do t[$side-cpu]=0; done
for r in $(seq "$rounds"); do
  order="a b"; ((r % 2)) || order="b a"
  for side in $order; do
    pid_var=${side}_pid
    before=$(cpu_ms "${!pid_var}")
    t[$side-put1]+=" $(timed_puts "$side" 1 "one$r")"
    t[$side-put16]+=" $(timed_puts "$side" 16 "many$r")"
    t[$side-get1]+=" $(timed_gets "$side" "one$r")"
    if ((large_mib > 0)); then
      read -r up down < <(timed_large "$side" "$r")
      t[$side-large_put]+=" $up"; t[$side-large_get]+=" $down"
    fi
    t[$side-sftp_put]+=" $(timed_sftp "$side" "put -r $work/tree /Home/admin/sftp$r\n")"
    rm -rf "$work/down"
    t[$side-sftp_get]+=" $(timed_sftp "$side" "get -r /Home/admin/sftp$r $work/down\n")"
    after=$(cpu_ms "${!pid_var}")
    t[$side-cpu]=$((t[$side-cpu] + after - before))
  done
done
median_rate() { python3 -c "import statistics, sys; print(f'{$files / statistics.median(float(x) for x in sys.argv[1:]):.0f}')" $1; }
for what in put1 put16 get1 sftp_put sftp_get; do
  a=$(median_rate "${t[a-$what]}")
  b=$(median_rate "${t[b-$what]}")
  echo "$what: A $a files/s, B $b files/s, B/A $(python3 -c "print(f'{$b / $a:.2f}')")"
done
if ((large_mib > 0)); then
  for what in large_put large_get; do
    a=$(python3 -c "import statistics, sys; print(f'{$large_mib / statistics.median(float(x) for x in sys.argv[1:]):.0f}')" ${t[a-$what]})
    b=$(python3 -c "import statistics, sys; print(f'{$large_mib / statistics.median(float(x) for x in sys.argv[1:]):.0f}')" ${t[b-$what]})
    echo "$what ($large_mib MiB): A $a MiB/s, B $b MiB/s, B/A $(python3 -c "print(f'{$b / $a:.2f}')")"
  done
fi
((large_mib == 0)) || echo "(the CPU below includes the large file's)"
echo "CPU per file (all of the above): A $(python3 -c "print(f'{${t[a-cpu]} / ($rounds * $files * 5):.2f}')") ms, B $(python3 -c "print(f'{${t[b-cpu]} / ($rounds * $files * 5):.2f}')") ms"
