#!/usr/bin/env bash
# Runs every test suite against the release build, then against the ASan/UBSan build:
#   unit (GoogleTest), integration (node:test against the real binary and loopback mock upstreams),
#   e2e (the official `openai` SDK against the real binary); and once, against the release build, the
#   benchmark's own tests (Python unittest: its budget verdicts, and a quick end-to-end run of bench/run.py).
# Ends with one line "N passed, N failed" counting individual tests; exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${1:-build}
ASAN_BUILD_DIR=${2:-build-asan}
REPORTS=$(mktemp -d)
trap 'rm -rf "$REPORTS"' EXIT

total_pass=0
total_fail=0
suite_failures=()

# Counts from a GoogleTest JSON report.
count_gtest() {
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(r.tests - r.failures - (r.disabled || 0), r.failures);' "$1"
}

# Counts from a TAP report written by node --test.
count_tap() {
  local pass fail
  pass=$(grep -E '^# pass ' "$1" | tail -1 | awk '{print $3}')
  fail=$(grep -E '^# fail ' "$1" | tail -1 | awk '{print $3}')
  echo "${pass:-0} ${fail:-0}"
}

record() {  # name exit-code pass fail
  local name=$1 rc=$2 pass=$3 fail=$4
  total_pass=$((total_pass + pass))
  total_fail=$((total_fail + fail))
  if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
    total_fail=$((total_fail + 1))  # the runner itself failed (crash, no report)
  fi
  if [ "$rc" -ne 0 ]; then suite_failures+=("$name"); fi
  echo "== $name: $pass passed, $fail failed (exit $rc)"
}

run_unit() {  # label build-dir
  local label=$1 dir=$2 report="$REPORTS/$1-unit.json"
  echo "== $label unit tests"
  "$dir/switchyard_unit_tests" --gtest_brief=1 --gtest_output="json:$report"
  local rc=$?
  local counts="0 0"
  [ -f "$report" ] && counts=$(count_gtest "$report")
  record "$label unit" "$rc" $counts
}

# Counts from a Python unittest log ("Ran N tests", then "OK" or "FAILED (failures=F, errors=E)").
count_unittest() {
  awk '/^Ran [0-9]+ test/ { ran = $2 }
       /^(OK|FAILED) \(/ { line = $0
         while (match(line, /(failures|errors|skipped)=[0-9]+/)) {
           split(substr(line, RSTART, RLENGTH), kv, "="); n[kv[1]] += kv[2]; line = substr(line, RSTART + RLENGTH)
         } }
       END { bad = n["failures"] + n["errors"]; print ran - bad - n["skipped"], bad + 0 }' "$1"
}

run_bench_suite() {  # build-dir
  local report="$REPORTS/bench.log"
  echo "== bench tests"
  SWITCHYARD_BIN="$PWD/$1/switchyard" python3 -m unittest discover -s tests/bench -p 'test_*.py' -v 2>&1 |
    tee "$report"
  local rc=${PIPESTATUS[0]}
  record "bench" "$rc" $(count_unittest "$report")
}

run_node_suite() {  # label kind build-dir files...
  local label=$1 kind=$2 dir=$3
  shift 3
  local report="$REPORTS/$label-$kind.tap"
  echo "== $label $kind tests"
  SWITCHYARD_BIN="$PWD/$dir/switchyard" node --test --test-concurrency=1 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$report" "$@"
  local rc=$?
  local counts="0 0"
  [ -f "$report" ] && counts=$(count_tap "$report")
  record "$label $kind" "$rc" $counts
}

# The test clients (the official openai SDK, gRPC, the OpenTelemetry packages) come from the npm registry through
# tests/package-lock.json; tests/integration and tests/e2e both resolve tests/node_modules.
if [ ! -d tests/node_modules ]; then
  (cd tests && npm ci --no-audit --no-fund --loglevel=error) || { echo "npm ci failed" >&2; exit 1; }
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

for label in release asan; do
  dir=$BUILD_DIR
  [ "$label" = asan ] && dir=$ASAN_BUILD_DIR
  run_unit "$label" "$dir"
  run_node_suite "$label" integration "$dir" tests/integration/*.test.mjs
  run_node_suite "$label" e2e "$dir" tests/e2e/*.test.mjs
done
run_bench_suite "$BUILD_DIR"

if [ ${#suite_failures[@]} -gt 0 ]; then
  echo "failed suites: ${suite_failures[*]}"
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] && [ ${#suite_failures[@]} -eq 0 ]
