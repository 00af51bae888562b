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
#   reach them: 32 concurrent requests, 2 s write-stall timeout.
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
WORK=$(mktemp -d "${TMPDIR:-/tmp}/s3o-abuse.XXXXXX")
trap cleanup EXIT
trap 'exit 130' INT TERM
ensure_tools
mkdir -p "$WORK/disk"
ORCH_SERVER_EXTRA="  max_concurrent_requests: 32
  write_stall_timeout: 2s" start_orchestrator "$WORK/orch" "path:$WORK/disk" - - - "$BUCKET" "$AK" "$SK"
log "orchestrator at $ORCH_EP (admin $ORCH_ADMIN), work dir $WORK"
python3 "$ROOT/loadtest/abuse.py" --endpoint "$ORCH_EP" --admin "$ORCH_ADMIN" \
    --access-key "$AK" --secret-key "$SK" --bucket "$BUCKET" --duration "${DURATION:-20}"
