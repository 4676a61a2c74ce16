#!/usr/bin/env bash
# Benchmark: requests per second of a session-checked call (GetCurrentUser) against the
# unauthenticated /healthz on the same server with the same load tool (wrk), reported as a
# ratio (goal >= 0.5); and sign-ins per second (Open) with the Argon2 parameters in force.
#
#   bench/session_rps.sh [--database-url URL] [--duration SECONDS] [--connections N]
#
# Runs a release build of ferry (FERRY_BIN for another build) on a free loopback port with a
# throwaway data directory.
# Machines here are shared and noisy: read the ratio, not the absolute numbers.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=10
connections=32
database_url=""
while (($#)); do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --database-url) database_url=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
ferry_bin=${FERRY_BIN:-target/release/ferry}
[ -n "${FERRY_BIN:-}" ] || cargo build --release -p ferry -q

work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
# Lock-out off for this throwaway server: the timing comparison below makes many failed sign-ins.
printf '[lockout]\naccount_threshold = 0\naccount_total_threshold = 0\naddress_threshold = 0\n' > "$work/ferry.toml"
args=(--config "$work/ferry.toml" --data-dir "$work/data")
[ -n "$database_url" ] && args+=(--database-url "$database_url")
FERRY_ADMIN_PASSWORD=bench-admin-password FERRY_LOG=warn \
  "$ferry_bin" "${args[@]}" serve --http 127.0.0.1:0 > "$work/out" 2> "$work/err" &
pid=$!
for _ in $(seq 100); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^ferry: listening on //p' "$work/out")
[ -n "$base" ] || { cat "$work/err"; exit 1; }

# Application IDs below 1000 are Ferry's own: register one for the benchmark.
"$ferry_bin" "${args[@]}" app add 1000 bench >/dev/null
session=$(curl -sf -X POST "$base/api/v1/Open" \
  -d '{"userName":"admin","password":"bench-admin-password","applicationID":1000}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["SessionID"])')

cat > "$work/current_user.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"sessionID":"$session"}'
wrk.headers["Content-Type"] = "application/json"
LUA
cat > "$work/open.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"userName":"admin","password":"bench-admin-password","applicationID":1000}'
wrk.headers["Content-Type"] = "application/json"
LUA

rps() { # wrk's Requests/sec, after checking that every answer was a success
  local out
  out=$(wrk -t2 -c"$connections" -d"${duration}s" "$@")
  if grep -q "Non-2xx" <<<"$out"; then echo "non-2xx answers: $out" >&2; exit 1; fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}

health=$(rps "$base/healthz")
current_user=$(rps -s "$work/current_user.lua" "$base/api/v1/GetCurrentUser")
signins=$(wrk -t2 -c4 -d"${duration}s" -s "$work/open.lua" "$base/api/v1/Open" | awk '/Requests\/sec/ {print $2}')
ratio=$(python3 -c "print(f'{$current_user / $health:.2f}')")

# Unknown user and wrong password must cost the same (no user enumeration by timing):
# median latency of sequential failed sign-ins of each kind, interleaved.
timing=$(python3 - "$base" <<'PY'
import json, statistics, sys, time, urllib.request, urllib.error
base = sys.argv[1]
def attempt(user):
    body = json.dumps({"userName": user, "password": "wrong-password", "applicationID": 1000}).encode()
    req = urllib.request.Request(f"{base}/api/v1/Open", data=body, method="POST")
    start = time.perf_counter()
    try:
        urllib.request.urlopen(req)
    except urllib.error.HTTPError as e:
        assert e.code == 401, e.code
    return time.perf_counter() - start
known, unknown = [], []
for i in range(40):
    known.append(attempt("admin"))
    unknown.append(attempt(f"nobody{i}"))
k, u = statistics.median(known) * 1000, statistics.median(unknown) * 1000
print(f"{k:.1f} ms wrong password, {u:.1f} ms unknown user, ratio {u / k:.2f}")
PY
)

engine=${database_url%%:*}; engine=${engine:-sqlite}
echo "engine:                 $engine"
echo "wrk:                    -t2 -c$connections -d${duration}s"
echo "/healthz:               $health req/s"
echo "GetCurrentUser:         $current_user req/s"
echo "ratio (goal >= 0.5):    $ratio"
echo "Open (sign-ins, -c4):   $signins req/s  (Argon2id m=19456 KiB, t=2, p=1)"
echo "failed sign-in latency: $timing"
