#!/usr/bin/env bash
# Benchmark: the server's memory while many clients read one large folder slowly, two builds
# on the same data, one run. A folder of N files of 4 KiB (default 100,000), or with
# `--folders` of N empty subfolders, is made once (by OLD, which must be the older build: NEW
# migrates its data forward); then each build in
# turn is started fresh three times and its peak RSS (VmHWM) read while
#   - 20 curl clients download the folder as a ZIP at 2 KiB/s,
#   - 20 curl clients list it over FTPS (`LIST`) at 2 KiB/s,
#   - one paramiko connection holds 40 SFTP listings of it, each read once.
# Memory figures, not timings: a build that reads the folder whole holds it once per client.
#
#   bench/listing_memory.sh OLD_BINARY NEW_BINARY [--files N] [--folders]
set -euo pipefail
cd "$(dirname "$0")/.."

old=$1 new=$2
shift 2
files=100000 folders=
while (($#)); do
  case "$1" in
    --files) files=$2; shift 2 ;;
    --folders) folders=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d /var/tmp/ferry-bench.XXXXXX)
cleanup() {
  [ -n "${ferry_pid:-}" ] && kill "$ferry_pid" 2>/dev/null
  pkill -f "limit-rate 2k" 2>/dev/null || true
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
printf '[lockout]\naccount_threshold = 0\naddress_threshold = 0\n[ftps]\nlisten = "127.0.0.1:0"\n[sftp]\nlisten = "127.0.0.1:0"\n' > "$work/ferry.toml"

start() {
  FERRY_ADMIN_PASSWORD=bench-admin-password FERRY_LOG=warn \
    "$1" --config "$work/ferry.toml" --data-dir "$work/data" serve --http 127.0.0.1:0 \
    > "$work/out" 2> "$work/err" &
  ferry_pid=$!
  for _ in $(seq 100); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.1; done
  base=$(sed -n 's/^ferry: listening on //p' "$work/out")
  ftp=$(sed -n 's/^ferry: ftps on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/out")
  sftp=$(sed -n 's/^ferry: sftp on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/out")
}
signin() {
  session=$(curl -sf -X POST "$base/api/v1/OpenImmutable" \
    -d '{"userName":"admin","password":"bench-admin-password","applicationID":1000}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["SessionID"])')
}
stop() {
  kill "$ferry_pid"
  wait "$ferry_pid" 2>/dev/null || true
  ferry_pid=
}
peak() { awk '/VmHWM/ {printf "%d", $2 / 1024}' "/proc/$ferry_pid/status"; }

start "$old"
"$old" --config "$work/ferry.toml" --data-dir "$work/data" app add 1000 bench > /dev/null
signin
home=$(curl -sf -X POST "$base/api/v1/GetHomeFolder" -d "{\"sessionID\":\"$session\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["FolderID"])')
folder=$(curl -sf -X POST "$base/api/v1/CreateFolder" \
  -d "{\"sessionID\":\"$session\",\"parentFolderID\":$home,\"name\":\"large\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["FolderID"])')
head -c 4096 /dev/urandom > "$work/f.bin"
uploads=()
if [ -n "$folders" ]; then
  echo "creating $files subfolders" >&2
else
  echo "uploading $files files of 4 KiB" >&2
fi
for c in $(seq 0 7); do
  {
    for ((i = c; i < files; i += 8)); do
      if [ -n "$folders" ]; then
        # One request per `next`, each with its own body.
        ((i == c)) || echo next
        printf 'url = "%s/api/v1/CreateFolder"\noutput = "/dev/null"\ndata = "{\\"sessionID\\":\\"%s\\",\\"parentFolderID\\":%s,\\"name\\":\\"d%06d\\"}"\n' \
          "$base" "$session" "$folder" "$i"
      else
        printf 'upload-file = "%s"\noutput = "/dev/null"\nurl = "%s/api/v1/folders/%s/files/f%06d.bin"\n' \
          "$work/f.bin" "$base" "$folder" "$i"
      fi
    done
    echo "header = \"X-Session-ID: $session\""
  } > "$work/c$c.conf"
  curl -sS --fail -K "$work/c$c.conf" &
  uploads+=($!)
done
wait "${uploads[@]}"
stop

measure() {
  local bin=$1 idle zip list held
  start "$bin"
  signin
  idle=$(peak)
  for _ in $(seq 20); do
    curl -s --limit-rate 2k -o /dev/null -H "X-Session-ID: $session" "$base/api/v1/folders/$folder/zip" &
  done
  sleep 12
  zip=$(peak)
  pkill -f "limit-rate 2k" || true
  stop
  start "$bin"
  for _ in $(seq 20); do
    curl -s -k --ssl-reqd --limit-rate 2k -o /dev/null \
      "ftp://admin:bench-admin-password@127.0.0.1:$ftp/%2FHome/admin/large/" &
  done
  sleep 12
  list=$(peak)
  pkill -f "limit-rate 2k" || true
  stop
  start "$bin"
  python3 - "$sftp" <<'PY'
import sys, time
import paramiko
t = paramiko.Transport(("127.0.0.1", int(sys.argv[1])))
t.connect(username="admin", password="bench-admin-password")
s = paramiko.SFTPClient.from_transport(t)
for _ in range(40):
    h = s._request(paramiko.sftp.CMD_OPENDIR, "/Home/admin/large")[1].get_binary()
    s._request(paramiko.sftp.CMD_READDIR, h)
time.sleep(1)
PY
  held=$(peak)
  stop
  printf '%s\t%s\t%s\t%s\t%s\n' "$bin" "$idle" "$zip" "$list" "$held"
}

printf 'build\tidle MB\t20 slow ZIPs\t20 slow FTPS LISTs\t40 SFTP listings\n'
measure "$old"
measure "$new"
