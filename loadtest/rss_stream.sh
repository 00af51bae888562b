#!/usr/bin/env bash
# Shows that the orchestrator's peak RSS does not grow with object size (issue 3, "Done when").
#
# Starts the release orchestrator with one local-directory backend (on tmpfs when it has room),
# then for each size streams one object in (multipart, `aws s3 cp -` reading a generator pipe)
# and out (a single streaming GET by the load generator, discarded), and reports the
# orchestrator's peak RSS (VmHWM, reset before each phase) for every phase.
#
# Usage: bash loadtest/rss_stream.sh            (sizes 256 MiB, 1 GiB, 8 GiB; ~2-3 minutes)
# Knobs: SIZES_MIB="256 1024 8192", RSS_DIR=/dev/shm (where backend and catalog live),
#   REBUILD=0 to skip `cargo build --release`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SIZES_MIB=${SIZES_MIB:-"256 1024 8192"}
RSS_DIR=${RSS_DIR:-/dev/shm}
# Multipart part size for the upload: 64 MiB keeps an 8 GiB object at 128 parts.
PART_MIB=64
# Space needed besides the object itself (catalog, the backend's temporary part files).
SLACK_MIB=512
AK=RSSCLIENTKEY00000001
SK=rssClientSecretKey0000000000000000000001
BUCKET=rss

command -v aws >/dev/null || { log "installing awscli (pip)"; python3 -m pip install -q awscli >&2; hash -r; }
WORK=$(mktemp -d "$RSS_DIR/s3o-rss.XXXXXX")
trap cleanup EXIT
trap 'exit 130' INT TERM
ensure_tools

# Pick the sizes that fit: multipart parts and the assembled object may coexist on the backend.
avail_mib=$(($(df -k --output=avail "$WORK" | tail -1) / 1024))
sizes=()
for s in $SIZES_MIB; do
    if ((2 * s + SLACK_MIB <= avail_mib)); then
        sizes+=("$s")
    else
        largest=$(((avail_mib - SLACK_MIB) / 2))
        echo "NOTE: $s MiB does not fit in $avail_mib MiB free at $RSS_DIR; using $largest MiB instead"
        ((largest > 0)) && sizes+=("$largest")
    fi
done

mkdir -p "$WORK/disk"
start_orchestrator "$WORK/orch" "path:$WORK/disk" - - - "$BUCKET" "$AK" "$SK"
export AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=$WORK/aws.conf
cat >"$AWS_CONFIG_FILE" <<EOF
[default]
s3 =
  multipart_chunksize = ${PART_MIB}MB
  max_concurrent_requests = 4
EOF
AWS=(aws --endpoint-url "$ORCH_EP")

# Peak of the sampled RSS too (10 Hz), as a cross-check of VmHWM.
sample_rss() {
    local max=0 v
    while kill -0 "$1" 2>/dev/null && [[ -e "$WORK/sampling" ]]; do
        v=$(rss_kib "$ORCH_PID")
        ((v > max)) && max=$v && echo "$max" >"$WORK/sampled"
        sleep 0.1
    done
}

idle_kib=$(rss_kib "$ORCH_PID")
results=()
for mib in "${sizes[@]}"; do
    key="obj-$mib/0"
    # --- in ---
    reset_hwm "$ORCH_PID"
    echo 0 >"$WORK/sampled"; : >"$WORK/sampling"
    sample_rss "$ORCH_PID" & spid=$!
    t0=$SECONDS
    head -c "$((mib * 1024 * 1024))" /dev/zero |
        "${AWS[@]}" s3 cp - "s3://$BUCKET/$key" --expected-size "$((mib * 1024 * 1024))" --only-show-errors
    up_s=$((SECONDS - t0))
    rm -f "$WORK/sampling"; wait "$spid" || true
    in_hwm=$(hwm_kib "$ORCH_PID"); in_sampled=$(cat "$WORK/sampled")
    # --- out ---
    reset_hwm "$ORCH_PID"
    t0=$SECONDS
    "$LOADGEN" --endpoint "$ORCH_EP" --bucket "$BUCKET" --access-key "$AK" --secret-key "$SK" \
        -w get -c 1 -n 1 --keys 1 --no-prepare --prefix "obj-$mib" --json --quiet >"$WORK/get.json"
    down_s=$((SECONDS - t0))
    got=$(json_get "$WORK/get.json" 'd["bytes"]'); ok=$(json_get "$WORK/get.json" 'd["ok"]')
    [[ "$ok" == 1 && "$got" == $((mib * 1024 * 1024)) ]] || die "GET of $mib MiB returned $got bytes (ok=$ok)"
    out_hwm=$(hwm_kib "$ORCH_PID")
    "${AWS[@]}" s3 rm "s3://$BUCKET/$key" --only-show-errors
    results+=("$(printf '| %8s MiB | %6s MiB | %6s MiB | %6s MiB | %4ss / %4ss |' "$mib" \
        $((in_hwm / 1024)) $((in_sampled / 1024)) $((out_hwm / 1024)) "$up_s" "$down_s")")
    log "$mib MiB: in peak $((in_hwm / 1024)) MiB, out peak $((out_hwm / 1024)) MiB"
done

echo
echo "# Orchestrator peak RSS while streaming one object in and out, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: nproc=$(nproc), kernel $(uname -r); backend: local directory on $(df --output=fstype "$WORK" | tail -1) ($RSS_DIR)"
echo "in: aws s3 cp - (multipart, ${PART_MIB} MiB parts, 4 in flight); out: one streaming GET; idle RSS $((idle_kib / 1024)) MiB"
echo
echo "| object       | in: VmHWM  | in: sampled | out: VmHWM | time in / out |"
echo "|--------------|------------|-------------|------------|---------------|"
printf '%s\n' "${results[@]}"
