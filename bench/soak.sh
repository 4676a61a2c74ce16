#!/usr/bin/env bash
# The soak of tests/soak.rs at scale (issue 15): CLIENTS mixed clients (JSON API, tus through
# the upload tool, SFTP, FTPS) for SECONDS against a release build, every file read back and
# checked again by its recorded SHA-256; prints the report (operations, errors, 503s retried,
# the server's memory and descriptors over time).
#
#   bench/soak.sh [--clients 200] [--seconds 600]
set -euo pipefail
cd "$(dirname "$0")/.."
clients=200
seconds=600
while (($#)); do
  case "$1" in
    --clients) clients=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
FERRY_SOAK_CLIENTS=$clients FERRY_SOAK_SECONDS=$seconds \
  cargo test --release -p ferry --test soak -- --nocapture 2>&1 | grep -E '^soak report|test result|panicked'
