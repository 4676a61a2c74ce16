#!/usr/bin/env bash
# Benchmark (issue 15, item 15): how long an account's owner waits to sign in while another
# account floods sign-ins from many addresses, with the default Argon2 parameters. Runs one
# build, or two side by side (A/B) when given a second binary:
#
#   bench/signin_flood.sh [--flood 200] [--seconds 30] [--baseline PATH_TO_OLD_FERRY]
#
# The flood signs in with a valid password, so no lock-out stops it; it comes from 127.1.x.y
# loopback addresses (Linux routes all of 127/8 to lo), the owner from 127.0.0.1 (known: she
# signed in from it before) and 127.0.0.2 (new). Noisy machines: compare the builds in one run.
set -euo pipefail
cd "$(dirname "$0")/.."

flood=200
seconds=30
baseline=""
while (($#)); do
  case "$1" in
    --flood) flood=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --baseline) baseline=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
cargo build --release -p ferry -q

run() { # $1: label, $2: binary
  local work pid base
  work=$(mktemp -d)
  # Cheaper than a production host would run, the same for both builds: lower the limits that
  # would refuse 200 connections from one machine, keep the lock-out as it is.
  printf '[ftps]\nlisten = "0"\n[sftp]\nlisten = "0"\n' > "$work/ferry.toml"
  FERRY_ADMIN_PASSWORD=bench-admin-password FERRY_LOG=warn \
    "$2" --config "$work/ferry.toml" --data-dir "$work/data" serve --http 127.0.0.1:0 \
    > "$work/out" 2> "$work/err" &
  pid=$!
  for _ in $(seq 100); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.1; done
  base=$(sed -n 's/^ferry: listening on //p' "$work/out")
  [ -n "$base" ] || { cat "$work/err"; exit 1; }
  local ferry=("$2" --config "$work/ferry.toml" --data-dir "$work/data")
  "${ferry[@]}" app add 1000 bench >/dev/null
  echo alice-password | "${ferry[@]}" user add alice --role member --password-stdin >/dev/null
  echo mallory-password | "${ferry[@]}" user add mallory --role member --password-stdin >/dev/null
  echo "$1: $(python3 bench/signin_flood.py "$base" "$flood" "$seconds")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}

[ -n "$baseline" ] && run baseline "$baseline"
run ferry target/release/ferry
[ -n "$baseline" ] && run "baseline again" "$baseline"
exit 0
