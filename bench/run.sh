#!/usr/bin/env bash
# `make bench`: installs Portkey into bench/node_modules when it is missing (npm ci, from package-lock.json),
# then runs the benchmark (bench/run.py; its header lists the BENCH_* settings).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -f node_modules/@portkey-ai/gateway/build/start-server.js ]; then
  echo "bench: installing Portkey (npm ci in bench/)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
exec python3 run.py "$@"
