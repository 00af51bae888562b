#!/usr/bin/env bash
# The project's single test command: lints (fmt, clippy), release build, Rust unit + integration
# tests (including the layering check, tests/layering.rs), end-to-end tests.
#
# Usage: bash tests/run-all.sh [PYTEST ARGS...]   (from anywhere; needs the tools .ci/run installs)
#        e.g. bash tests/run-all.sh -x -k "frontend and tls"
# Env:   S3O_BIN   binary for the e2e suite (default target/release/s3-orchestrator, relative to the repo)
#
# Prints one status line per step and a closing "total: N passed, N failed, N skipped" line; exits
# non-zero if any step failed, including a pytest run that collected no tests (exit code 5).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the work tree
export S3O_BIN="${S3O_BIN:-target/release/s3-orchestrator}"

logdir="$(mktemp -d "${TMPDIR:-/tmp}/s3o-run-all.XXXXXX")"
summary=()
failed=0
passed_total=0
failed_total=0
skipped_total=0

# run_step NAME CMD... : runs CMD with its output shown and kept in $logdir/NAME.log; sets step_rc.
run_step() {
  local name="$1"
  shift
  local start=$SECONDS
  echo "==> ${name}: $*"
  if "$@" 2>&1 | tee "${logdir}/${name}.log"; then step_rc=0; else step_rc=$?; fi
  step_secs=$((SECONDS - start))
}

record() { # record NAME STATUS
  summary+=("$(printf '  %-12s %-52s %5ss' "$1" "$2" "$step_secs")")
}

# sum_of REGEX TEXT: adds up the leading numbers of every match (0 when nothing matches).
sum_of() {
  { grep -Eo "$1" <<<"$2" || true; } | awk '{s+=$1} END {print s+0}'
}

# cargo test prints one "test result: ok. 3 passed; 0 failed; 1 ignored; ..." line per test binary.
count_cargo() {
  local lines p f i
  lines=$({ grep -E '^test result: ' "$1" || true; })
  p=$(sum_of '[0-9]+ passed' "$lines")
  f=$(sum_of '[0-9]+ failed' "$lines")
  i=$(sum_of '[0-9]+ ignored' "$lines")
  passed_total=$((passed_total + p)); failed_total=$((failed_total + f)); skipped_total=$((skipped_total + i))
  counts="${p} passed, ${f} failed, ${i} ignored"
}

# pytest -q ends with e.g. "12 passed, 1 failed, 2 skipped, 1 error in 3.21s".
count_pytest() {
  local line p f s
  line=$({ grep -E ' in [0-9.]+s' "$1" || true; } | { grep -E '[0-9]+ (passed|failed|skipped|errors?|deselected)|no tests ran' || true; } | tail -n 1)
  p=$(sum_of '[0-9]+ (passed|xpassed)' "$line")
  f=$(sum_of '[0-9]+ (failed|errors?)' "$line")
  s=$(sum_of '[0-9]+ (skipped|xfailed)' "$line")
  passed_total=$((passed_total + p)); failed_total=$((failed_total + f)); skipped_total=$((skipped_total + s))
  counts="${p} passed, ${f} failed, ${s} skipped"
}

# 0. Lints: formatting and clippy (warnings are errors). They gate nothing else, so a lint
#    failure still shows every test result.
run_step fmt cargo fmt --all -- --check
if [ "$step_rc" -eq 0 ]; then record "fmt" "ok"; else record "fmt" "FAILED (cargo fmt --check)"; failed=1; fi
run_step clippy cargo clippy --quiet --all-targets -- -D warnings
if [ "$step_rc" -eq 0 ]; then record "clippy" "ok"; else record "clippy" "FAILED (warnings)"; failed=1; fi

# 1. Build. Nothing else can run without it.
run_step build cargo build --release --quiet --bin s3-orchestrator --example add_copy
if [ "$step_rc" -eq 0 ]; then
  record "build" "ok"
  build_ok=1
else
  record "build" "FAILED (exit ${step_rc})"
  failed=1
  build_ok=0
fi

# 2. Rust unit + integration tests.
if [ "$build_ok" -eq 1 ]; then
  run_step cargo-test cargo test --release --quiet
  count_cargo "${logdir}/cargo-test.log"
  if [ "$step_rc" -eq 0 ]; then
    record "cargo test" "ok (${counts})"
  else
    record "cargo test" "FAILED (exit ${step_rc}; ${counts})"
    failed=1
  fi
else
  step_secs=0
  record "cargo test" "not run (build failed)"
fi

# 3. End-to-end tests against real S3 servers (run even when cargo test failed: the binary exists).
if [ "$build_ok" -eq 1 ]; then
  run_step e2e python3 -m pytest -q tests/e2e "$@"
  count_pytest "${logdir}/e2e.log"
  if [ "$step_rc" -eq 0 ]; then
    record "e2e" "ok (${counts})"
  elif [ "$step_rc" -eq 5 ]; then
    record "e2e" "FAILED (pytest collected no tests)"
    failed=1
  else
    record "e2e" "FAILED (exit ${step_rc}; ${counts})"
    failed=1
  fi
else
  step_secs=0
  record "e2e" "not run (build failed)"
fi

echo
echo "run-all summary (logs in ${logdir}):"
printf '%s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
  echo "run-all: FAILED"
else
  echo "run-all: all steps passed"
fi
echo "total: ${passed_total} passed, ${failed_total} failed, ${skipped_total} skipped"
exit "$failed"
