#!/usr/bin/env bash
# Hostile clients against a running orchestrator (slow readers, anonymous pipeliners, slow
# writers, trickling admin connections, oversized XML), while a signed client keeps working:
# prints the client's p50/p99/errors with no attack and under attack, and /health's figures.
#
# Usage: bash loadtest/abuse.sh                  (starts its own instance: ~1 minute)
#        bash loadtest/abuse.sh --endpoint URL --admin URL --access-key AK --secret-key SK \
#             --bucket B [--duration S]          (attacks an instance you run; see abuse.py)
# Knobs (own instance): DURATION seconds per phase (20), REBUILD=0 to skip `cargo build --release`,
#   KEEP_WORK=1 to keep the work directory. The instance runs with small limits so the attacks
#   reach them (64 concurrent requests, 2 s write-stall timeout, 5 s upload-rate window, 4 GiB in
#   flight per key), and the attacker is another tenant (its own credential and bucket).
# Exit status 0 when the signed client and /health saw no error under attack.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

python3 -c 'import boto3' 2>/dev/null || { log "installing boto3 (pip)"; python3 -m pip install -q boto3 >&2; }
if (($#)); then
    exec python3 "$ROOT/loadtest/abuse.py" "$@"
fi

AK=ABUSECLIENTKEY000001
SK=abuseClientSecretKey00000000000000000001
BUCKET=abuse
# The attacking tenant: its own credential and bucket, as on a shared instance.
EAK=ABUSEATTACKKEY000001
ESK=abuseAttackSecretKey00000000000000000001
EBUCKET=attacker
WORK=$(mktemp -d "${TMPDIR:-/tmp}/s3o-abuse.XXXXXX")
trap cleanup EXIT
trap 'exit 130' INT TERM
ensure_tools
mkdir -p "$WORK/disk"
port=$(free_port)
admin=$(free_port)
cat >"$WORK/config.yaml" <<YAML
backends:
  - name: disk
    path: $WORK/disk
buckets:
  - name: $BUCKET
    credentials:
      - access_key_id: $AK
        secret_access_key: $SK
  - name: $EBUCKET
    credentials:
      - access_key_id: $EAK
        secret_access_key: $ESK
server:
  listen_addr: $HOST:$port
  admin_addr: $HOST:$admin
  max_concurrent_requests: 64
  write_stall_timeout: 2s
  upload_rate_window: 5s
  max_in_flight_bytes_per_key: 4294967296
catalog:
  path: $WORK/catalog
YAML
RUST_LOG=${RUST_LOG:-warn} "$ORCH" --config "$WORK/config.yaml" >"$WORK/orchestrator.log" 2>&1 &
PIDS+=("$!")
wait_http "http://$HOST:$admin/health" "$!" orchestrator
log "orchestrator at http://$HOST:$port (admin http://$HOST:$admin), work dir $WORK"
python3 "$ROOT/loadtest/abuse.py" --endpoint "http://$HOST:$port" --admin "http://$HOST:$admin" \
    --access-key "$AK" --secret-key "$SK" --bucket "$BUCKET" \
    --attacker-access-key "$EAK" --attacker-secret-key "$ESK" --attacker-bucket "$EBUCKET" \
    --duration "${DURATION:-20}"
