#!/usr/bin/env bash
# Benchmark: GetCurrentUser calls per second over the SOAP wire (/soap, SOAP 1.1) against the
# same call on the JSON API, on one server, with one load tool (wrk), reported as a ratio
# (issue 19's goal: >= 0.7). Then the REST wire: GET /REST/1.3/Server/Info (XML) against its
# method on the JSON API (GetServerInfo), the same way. Each answer is checked to be a success
# first.
#
#   bench/soap.sh [--duration SECONDS] [--connections N] [--runs N]
#
# Runs a release build of ferry (FERRY_BIN to use another) on a free loopback port with a
# throwaway data directory. Machines here are shared and noisy: read the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=10
connections=32
runs=3
while (($#)); do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
bin=${FERRY_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release -p ferry -q
  bin=target/release/ferry
fi

work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
args=(--data-dir "$work/data")
FERRY_ADMIN_PASSWORD=bench-admin-password FERRY_LOG=warn \
  "$bin" "${args[@]}" serve --http 127.0.0.1:0 --sftp 0 --ftps 0 > "$work/out" 2> "$work/err" &
pid=$!
for _ in $(seq 100); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^ferry: listening on //p' "$work/out")
[ -n "$base" ] || { cat "$work/err"; exit 1; }
"$bin" "${args[@]}" app add 1000 bench >/dev/null
session=$(curl -sf -X POST "$base/api/v1/OpenImmutable" \
  -d '{"userName":"admin","password":"bench-admin-password","applicationID":1000}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["SessionID"])')

envelope="<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><GetCurrentUser xmlns=\"http://tempuri.org/\"><sessionID>$session</sessionID></GetCurrentUser></soap:Body></soap:Envelope>"
# Both answer the same user before anything is timed.
curl -sf -X POST "$base/soap" -H 'Content-Type: text/xml; charset=utf-8' \
  -H 'SOAPAction: "http://tempuri.org/GetCurrentUser"' -d "$envelope" | grep -q '<Name>admin</Name>'
curl -sf -X POST "$base/api/v1/GetCurrentUser" -d "{\"sessionID\":\"$session\"}" | grep -q '"Name":"admin"'
curl -sf "$base/REST/1.3/Server/Info" -H "Authorization: $session" | grep -q '<Title>Ferry</Title>'
curl -sf -X POST "$base/api/v1/GetServerInfo" -d "{\"sessionID\":\"$session\"}" | grep -q '"ServerName":"Ferry"'

cat > "$work/json.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"sessionID":"$session"}'
wrk.headers["Content-Type"] = "application/json"
LUA
cat > "$work/json_info.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"sessionID":"$session"}'
wrk.headers["Content-Type"] = "application/json"
LUA
cat > "$work/rest.lua" <<LUA
wrk.headers["Authorization"] = "$session"
wrk.headers["Accept"] = "application/xml"
LUA
cat > "$work/soap.lua" <<LUA
wrk.method = "POST"
wrk.body = '$envelope'
wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
wrk.headers["SOAPAction"] = '"http://tempuri.org/GetCurrentUser"'
LUA

rps() { # wrk's Requests/sec, after checking that every answer was a success
  local out
  out=$(wrk -t2 -c"$connections" -d"${duration}s" "$@")
  if grep -q "Non-2xx" <<<"$out"; then echo "non-2xx answers: $out" >&2; exit 1; fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}

echo "run,json_rps,soap_rps,soap_over_json,json_info_rps,rest_rps,rest_over_json"
for run in $(seq "$runs"); do
  # Alternating which goes first, so neither always has the warmer machine.
  if ((run % 2)); then
    json=$(rps -s "$work/json.lua" "$base/api/v1/GetCurrentUser")
    soap=$(rps -s "$work/soap.lua" "$base/soap")
    info=$(rps -s "$work/json_info.lua" "$base/api/v1/GetServerInfo")
    rest=$(rps -s "$work/rest.lua" "$base/REST/1.3/Server/Info")
  else
    rest=$(rps -s "$work/rest.lua" "$base/REST/1.3/Server/Info")
    info=$(rps -s "$work/json_info.lua" "$base/api/v1/GetServerInfo")
    soap=$(rps -s "$work/soap.lua" "$base/soap")
    json=$(rps -s "$work/json.lua" "$base/api/v1/GetCurrentUser")
  fi
  echo "$run,$json,$soap,$(python3 -c "print(f'{$soap / $json:.2f}')"),$info,$rest,$(python3 -c "print(f'{$rest / $info:.2f}')")"
done
