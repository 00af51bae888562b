#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS_PER_TARGET seconds (default 30), one after another,
# starting from the committed seeds in seeds/<target>/ and the growing corpus in corpus/<target>/
# (not committed). Prints one line per target; exits non-zero if any target crashed, hung or
# leaked. Crash inputs land in artifacts/<target>/, full logs in target/fuzz-logs/<target>.log.
#
# The machine has stable Rust only: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its nightly flags
# (-Zsanitizer=address, -Cpasses=sancov-module, ...) to the stable compiler.
set -euo pipefail

SECONDS_PER_TARGET="${1:-30}"
case "$SECONDS_PER_TARGET" in
'' | *[!0-9]*)
    echo "usage: $0 [SECONDS_PER_TARGET]" >&2
    exit 2
    ;;
esac
# A single input taking longer than this is reported as a hang ("never a hang" is a requirement).
PER_INPUT_TIMEOUT_S=10

cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz ..." >&2
    cargo install cargo-fuzz --locked --quiet
fi

mapfile -t TARGETS < <(cargo fuzz list)
echo "building ${#TARGETS[@]} targets ..." >&2
cargo fuzz build >target-build.log 2>&1 || {
    cat target-build.log >&2
    exit 1
}
rm -f target-build.log
mkdir -p target/fuzz-logs

failed=0
for t in "${TARGETS[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    seeds=()
    [ -d "seeds/$t" ] && seeds=("seeds/$t")
    log="target/fuzz-logs/$t.log"
    rc=0
    cargo fuzz run "$t" "corpus/$t" "${seeds[@]}" -- \
        -max_total_time="$SECONDS_PER_TARGET" \
        -timeout="$PER_INPUT_TIMEOUT_S" \
        -print_final_stats=1 >"$log" 2>&1 || rc=$?
    execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -n1)
    cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n1 | awk '{print $2}')
    if [ "$rc" -eq 0 ]; then
        verdict="ok"
    else
        failed=1
        artifact=$(grep -Eo 'artifacts/[^ ]+' "$log" | tail -n1 || true)
        verdict="CRASH (exit $rc) ${artifact:-see $log}"
    fi
    printf '%-16s execs=%-10s cov=%-6s corpus=%-5s %s\n' "$t" "${execs:-?}" "${cov:-?}" \
        "$(find "corpus/$t" -type f | wc -l)" "$verdict"
done
exit "$failed"
