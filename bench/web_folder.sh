#!/usr/bin/env bash
# Benchmark: the web client's folder page on a 100,000-file folder against a 100-file folder,
# same curl client, same server, one run. Reports the median time to the first byte and to the
# full page of each view (first page by name, first page by size descending, by time
# descending, and the 100,000-file folder's last page), as ratios large / small (goal <= 2).
# Pages are keyset pages (`after=`), so the last page is read like the first.
#
#   bench/web_folder.sh [--runs N]     (N requests per view, default 51)
#
# File rows are seeded straight into SQLite: 100,000 uploads would time the upload path, not
# the page. The page is the real one: sign-in cookie, one Service call, HTML rendering.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=51
while (($#)); do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

cargo build --release -p ferry -q
work=$(mktemp -d /var/tmp/ferry-bench.XXXXXX)
cleanup() {
  [ -n "${ferry_pid:-}" ] && kill "$ferry_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/ferry"
printf '[ftps]\nlisten = "0"\n[sftp]\nlisten = "0"\n' > "$work/ferry.toml"
FERRY_ADMIN_PASSWORD=bench-admin-password FERRY_LOG=warn \
  target/release/ferry --config "$work/ferry.toml" --data-dir "$work/ferry" serve --http 127.0.0.1:0 \
  > "$work/ferry.out" 2> "$work/ferry.err" &
ferry_pid=$!
for _ in $(seq 100); do grep -q listening "$work/ferry.out" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^ferry: listening on //p' "$work/ferry.out")

curl -sf -o /dev/null -c "$work/jar" -d 'username=admin&password=bench-admin-password' "$base/web/signin"
home=$(curl -sf -o /dev/null -w '%{redirect_url}' -b "$work/jar" "$base/")
home=${home##*/}
csrf=$(curl -sf -b "$work/jar" "$base/web/folders/$home" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -1)
mk() {
  curl -sf -o /dev/null -b "$work/jar" -d "csrf=$csrf&name=$1" "$base/web/folders/$home/new-folder"
  curl -sf -b "$work/jar" "$base/web/folders/$home" |
    grep -o "folder-link\" href=\"/web/folders/[0-9]*\">$1<" | grep -o '[0-9]*' | head -1
}
small=$(mk small)
large=$(mk large)

echo "seeding a 100,000-file folder and a 100-file folder" >&2
python3 - "$work/ferry/ferry.db" "$small" "$large" <<'PY'
import sqlite3, sys
db, small, large = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = sqlite3.connect(db, timeout=30)
def rows(folder, n):
    return [(folder, f"file-{i:06d}.dat", f"file-{i:06d}.dat", 1, (i * 7919) % 1_000_003,
             "0" * 64, "0" * 32, 1_700_000_000_000 + i, 1_700_000_000_000 + i, 1, 1)
            for i in range(n)]
c.executemany(
    "INSERT INTO files (folder_id, name, name_key, version, size, sha256, content_key, "
    "created_at, modified_at, created_by, modified_by) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
    rows(small, 100) + rows(large, 100_000))
c.commit()
PY

python3 - "$base" "$work/jar" "$small" "$large" "$runs" "$work/ferry/ferry.db" <<'PY'
import statistics, subprocess, sys
base, jar, small, large, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])

def times(path):
    first, total = [], []
    for _ in range(runs):
        out = subprocess.run(
            ["curl", "-sf", "-o", "/dev/null", "-b", jar, "-w", "%{time_starttransfer} %{time_total} %{size_download}",
             base + path], check=True, capture_output=True, text=True).stdout.split()
        first.append(float(out[0]) * 1000)
        total.append(float(out[1]) * 1000)
        size = int(out[2])
    return statistics.median(first), statistics.median(total), size

import sqlite3
db = sys.argv[6]
c = sqlite3.connect(db)
# The last page of the large folder: the page after its 99,900th file by name.
(cursor,) = c.execute(
    "SELECT id FROM files WHERE folder_id = ? ORDER BY name_key, id LIMIT 1 OFFSET 99899",
    (int(large),)).fetchone()
views = [
    ("first page by name", "?sort=name&dir=asc", "?sort=name&dir=asc"),
    ("first page by size, descending", "?sort=size&dir=desc", "?sort=size&dir=desc"),
    ("first page by time, descending", "?sort=modified&dir=desc", "?sort=modified&dir=desc"),
    ("last page (after file 99,900)", "?sort=name&dir=asc", f"?sort=name&dir=asc&after={cursor}"),
]
print(f"{'view':34} {'100 files: first byte / page':>30} {'100,000 files':>22} {'ratio first / page':>20}")
for label, q_small, q_large in views:
    fs, ts, bs = times(f"/web/folders/{small}{q_small}")
    fl, tl, bl = times(f"/web/folders/{large}{q_large}")
    print(f"{label:34} {fs:12.2f} / {ts:6.2f} ms ({bs} B) {fl:8.2f} / {tl:6.2f} ms {fl / fs:8.2f} / {tl / ts:5.2f}  (goal <= 2)")
PY
