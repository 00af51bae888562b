#!/usr/bin/env bash
# Measures, back to back on one backend on tmpfs (s3s-fs by default, or SeaweedFS: BACKEND=weed):
#   direct   : the load generator talks to the backend itself
#   nginx    : nginx as a plain reverse proxy (request buffering off, keep-alive upstream)
#   rclone   : `rclone serve s3` over an S3 remote pointing at the backend (an S3-aware proxy)
#   orch     : the orchestrator (release build, one S3 backend = the same backend, factor 1)
# and prints a table with each figure as a ratio to the orchestrator's.
#
# Usage: bash loadtest/compare.sh            (about 6-8 minutes on 2 cores)
# Knobs (environment): DUR=seconds per small-object run (5), BIG_OPS=64 MiB PUTs (16; GETs 4x), CONNS (64),
#   RSS_UPLOADS (32), RSS_SIZE (256MiB), TARGETS="direct nginx rclone orch", JSON_OUT=file,
#   BACKEND=s3s|weed, REBUILD=0 to skip `cargo build --release`, KEEP_WORK=1 to keep the work directory.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

DUR=${DUR:-5}
CONNS=${CONNS:-64}
BIG_CONNS=${BIG_CONNS:-4}
# 64 MiB transfers per run: a count rather than a duration, since a few-second window holds only
# a handful of 64 MiB PUTs and the figure would jump by whole operations.
BIG_OPS=${BIG_OPS:-16}
RSS_UPLOADS=${RSS_UPLOADS:-32}
RSS_SIZE=${RSS_SIZE:-256MiB}
TARGETS=${TARGETS:-"direct nginx rclone orch"}
# The backend: s3s-fs (fast, light: the proxies, not the backend, set the pace) or weed (SeaweedFS).
BACKEND=${BACKEND:-s3s}
# Keys in the 4 KiB working set (PUTs overwrite them, GETs read them).
SMALL_KEYS=1024
# Keys of the 64 MiB working set: one per connection, so the first round of PUTs writes them all
# and the GET run needs no preparation of its own.

BAK=BENCHBACKENDKEY00001
BSK=benchBackendSecretKey0000000000000000001
CAK=BENCHCLIENTKEY000001
CSK=benchClientSecretKey00000000000000000001
BUCKET=bench

# The work directory is on tmpfs: backend data, catalog and logs never touch the disk.
WORK=$(mktemp -d /dev/shm/s3o-compare.XXXXXX)
trap cleanup EXIT
trap 'exit 130' INT TERM

ensure_tools nginx
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

avail_kib=$(df -k --output=avail /dev/shm | tail -1)
need_kib=$((3 * RSS_UPLOADS * 256 * 1024 / 2))
if ((avail_kib < need_kib)); then
    log "only $((avail_kib / 1024)) MiB free on /dev/shm; using RSS_UPLOADS=8"
    RSS_UPLOADS=8
fi

log "work dir $WORK"
case $BACKEND in
s3s)
    ensure_s3s_fs
    start_s3s_fs "$WORK/s3s" "$BAK" "$BSK"
    BACKEND_EP=$S3S_EP
    BACKEND_DESC="s3s-fs $S3S_FS_VERSION"
    RCLONE_PROVIDER=Other
    ;;
weed)
    start_weed "$WORK/weed" "$BAK" "$BSK"
    BACKEND_EP=$WEED_S3
    BACKEND_DESC="SeaweedFS $(weed version 2>/dev/null | awk '{print $3; exit}') (weed mini)"
    RCLONE_PROVIDER=SeaweedFS
    ;;
*) die "BACKEND must be s3s or weed, not $BACKEND" ;;
esac
create_bucket "$BACKEND_EP" "$BAK" "$BSK" "$BUCKET"
log "backend $BACKEND_DESC at $BACKEND_EP"

# nginx: pass-through with the client's Host header, so backend signatures still verify.
start_nginx() {
    local port
    port=$(free_port)
    mkdir -p "$WORK/nginx"
    cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    upstream backend { server ${BACKEND_EP#http://}; keepalive 128; }
    server {
        listen $HOST:$port reuseport;
        client_max_body_size 0;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$http_host;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_read_timeout 300s;
        }
    }
}
EOF
    "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off; user root;' \
        >"$WORK/nginx/stdout.log" 2>&1 &
    NGINX_PID=$!
    PIDS+=("$NGINX_PID")
    NGINX_EP=http://$HOST:$port
    wait_http "$NGINX_EP/" "$NGINX_PID" nginx
}

# rclone serve s3 over an S3 remote ("be:") that points at the backend.
start_rclone() {
    local port
    port=$(free_port)
    mkdir -p "$WORK/rclone"
    : >"$WORK/rclone/empty.conf"
    RCLONE_CONFIG_BE_TYPE=s3 RCLONE_CONFIG_BE_PROVIDER=$RCLONE_PROVIDER \
        RCLONE_CONFIG_BE_ENDPOINT="$BACKEND_EP" RCLONE_CONFIG_BE_ACCESS_KEY_ID="$BAK" \
        RCLONE_CONFIG_BE_SECRET_ACCESS_KEY="$BSK" RCLONE_CONFIG_BE_REGION=us-east-1 \
        rclone serve s3 --config "$WORK/rclone/empty.conf" --addr "$HOST:$port" \
        --auth-key "$CAK,$CSK" be: >"$WORK/rclone/rclone.log" 2>&1 &
    RCLONE_PID=$!
    PIDS+=("$RCLONE_PID")
    RCLONE_EP=http://$HOST:$port
    wait_http "$RCLONE_EP/" "$RCLONE_PID" "rclone serve s3"
}

# Reclaims the space of overwritten objects on the backend (SeaweedFS volumes only append; s3s-fs
# overwrites files in place).
vacuum() {
    [[ $BACKEND == weed ]] || return 0
    curl -s -o /dev/null --max-time 120 "$WEED_MASTER/vol/vacuum?garbageThreshold=0.0001" || true
}

# loadgen NAME EP AK SK ARGS...: runs the load generator, JSON into $WORK/res/NAME.json.
loadgen() {
    local name=$1 ep=$2 ak=$3 sk=$4
    shift 4
    mkdir -p "$WORK/res"
    "$LOADGEN" --endpoint "$ep" --bucket "$BUCKET" --access-key "$ak" --secret-key "$sk" \
        --json --quiet --label "$name" "$@" >"$WORK/res/$name.json" ||
        die "load generator failed for $name"
    local errs
    errs=$(json_get "$WORK/res/$name.json" 'd["errors"]')
    if [[ "$errs" != 0 ]]; then
        log "$name: $errs errors, e.g. $(json_get "$WORK/res/$name.json" 'd["error_samples"][:1]')"
    fi
}

declare -A R
measure() {
    local t=$1 ep ak sk pid=""
    case $t in
    direct) ep=$BACKEND_EP ak=$BAK sk=$BSK ;;
    nginx) start_nginx; ep=$NGINX_EP ak=$BAK sk=$BSK pid=$NGINX_PID ;;
    rclone) start_rclone; ep=$RCLONE_EP ak=$CAK sk=$CSK pid=$RCLONE_PID ;;
    orch)
        start_orchestrator "$WORK/orch" "$BACKEND_EP" "$BAK" "$BSK" "$BUCKET" "$BUCKET" "$CAK" "$CSK"
        ep=$ORCH_EP ak=$CAK sk=$CSK pid=$ORCH_PID
        ;;
    esac
    log "[$t] 4 KiB PUT, $CONNS connections, ${DUR}s"
    local c0 c1
    [[ -n $pid ]] && c0=$(cpu_secs "$pid")
    loadgen "$t-put4k" "$ep" "$ak" "$sk" -w put -s 4KiB -c "$CONNS" -d "$DUR" \
        --keys $SMALL_KEYS --prefix "$t/small"
    log "[$t] 4 KiB GET"
    loadgen "$t-get4k" "$ep" "$ak" "$sk" -w get -s 4KiB -c "$CONNS" -d "$DUR" \
        --keys $SMALL_KEYS --prefix "$t/small"
    [[ -n $pid ]] && c1=$(cpu_secs "$pid")
    local f
    for f in put4k get4k; do
        R[$t,$f]=$(json_get "$WORK/res/$t-$f.json" 'round(d["ops_per_sec"],1)')
        R[$t,$f.p50]=$(json_get "$WORK/res/$t-$f.json" 'd["latency_ms"]["p50"]')
        R[$t,$f.p99]=$(json_get "$WORK/res/$t-$f.json" 'd["latency_ms"]["p99"]')
    done
    if [[ -n $pid ]]; then
        local n
        n=$(python3 -c "import json;print(sum(json.load(open(f'$WORK/res/$t-{x}.json'))['ok'] for x in ('put4k','get4k')))")
        R[$t,cpu]=$(awk -v a="$c0" -v b="$c1" -v n="$n" 'BEGIN{printf "%.3f", (b - a) * 10000 / (n > 0 ? n : 1)}')
    else
        R[$t,cpu]=-
    fi
    log "[$t] 64 MiB PUT, $BIG_CONNS connections, $BIG_OPS objects"
    loadgen "$t-put64m" "$ep" "$ak" "$sk" -w put -s 64MiB -c "$BIG_CONNS" -n "$BIG_OPS" \
        --keys "$BIG_CONNS" --prefix "$t/big"
    log "[$t] 64 MiB GET"
    loadgen "$t-get64m" "$ep" "$ak" "$sk" -w get -s 64MiB -c "$BIG_CONNS" -n "$((4 * BIG_OPS))" \
        --keys "$BIG_CONNS" --no-prepare --prefix "$t/big"
    for f in put64m get64m; do
        R[$t,$f]=$(json_get "$WORK/res/$t-$f.json" 'round(d["gb_per_sec"],3)')
    done
    vacuum
    if [[ -n $pid ]]; then
        log "[$t] peak RSS during $RSS_UPLOADS concurrent $RSS_SIZE uploads"
        reset_hwm "$pid"
        loadgen "$t-rss" "$ep" "$ak" "$sk" -w put -s "$RSS_SIZE" -c "$RSS_UPLOADS" \
            -n "$RSS_UPLOADS" --keys "$RSS_UPLOADS" --prefix "$t/rss"
        R[$t,rss]=$(awk -v k="$(hwm_kib "$pid")" 'BEGIN{printf "%.1f", k / 1024}')
        R[$t,rss.ok]=$(json_get "$WORK/res/$t-rss.json" 'd["ok"]')
        # Delete the big objects (through the backend) and reclaim their space.
        "$LOADGEN" --endpoint "$BACKEND_EP" --bucket "$BUCKET" --access-key "$BAK" --secret-key "$BSK" \
            --quiet -w delete -c 8 -n "$RSS_UPLOADS" --keys "$RSS_UPLOADS" --no-prepare \
            --prefix "$( [[ $t == orch ]] && echo "$BUCKET/" )$t/rss" >/dev/null || true
        vacuum
    else
        R[$t,rss]=-
        R[$t,rss.ok]=-
    fi
    # Stop the proxy before the next one runs, so it cannot steal CPU.
    if [[ -n $pid ]]; then
        kill "$pid" 2>/dev/null || true
        local n=0
        while kill -0 "$pid" 2>/dev/null && ((n < 100)); do sleep 0.1; n=$((n + 1)); done
    fi
}

for t in $TARGETS; do measure "$t"; done

# ---- the table ----
ratio() { # value / orchestrator's value
    local v=$1 o=$2
    if [[ $v == - || $o == - || -z $o ]]; then echo "-"; return; fi
    awk -v v="$v" -v o="$o" 'BEGIN{ if (o == 0) print "-"; else printf "%.2fx", v / o }'
}
{
    echo
    echo "# S3 Orchestrator comparison, $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "machine: nproc=$(nproc), kernel $(uname -r), $(awk -F: '/model name/{print $2; exit}' /proc/cpuinfo | sed 's/^ *//')"
    echo "backend: $BACKEND_DESC on tmpfs; $CONNS connections for 4 KiB (${DUR}s each), $BIG_CONNS for 64 MiB ($BIG_OPS PUTs, $((4 * BIG_OPS)) GETs)"
    echo "load generator, backend and proxy share the same cores"
    echo
    printf '| %-26s |' "figure"
    for t in $TARGETS; do printf ' %-18s |' "$t"; done
    echo
    printf '|%s|' "----------------------------"
    for t in $TARGETS; do printf '%s|' "--------------------"; done
    echo
    row() { # label key unit
        printf '| %-26s |' "$1"
        for t in $TARGETS; do
            local v=${R[$t,$2]:--}
            if [[ $t == orch ]]; then printf ' %-18s |' "$v$3"; else printf ' %-18s |' "$v$3 ($(ratio "$v" "${R[orch,$2]:--}"))"; fi
        done
        echo
    }
    row "4 KiB GET req/s" get4k ""
    row "4 KiB GET p50 ms" get4k.p50 ""
    row "4 KiB GET p99 ms" get4k.p99 ""
    row "4 KiB PUT req/s" put4k ""
    row "4 KiB PUT p50 ms" put4k.p50 ""
    row "4 KiB PUT p99 ms" put4k.p99 ""
    row "64 MiB GET GB/s" get64m ""
    row "64 MiB PUT GB/s" put64m ""
    row "CPU s / 10k req (4 KiB)" cpu ""
    row "peak RSS MiB ${RSS_UPLOADS}x$RSS_SIZE PUT" rss ""
    row "  (uploads ok)" rss.ok ""
    echo
    echo "ratios are target / orchestrator; '-' = not applicable (direct has no proxy process)"
} | tee "$WORK/table.md"
if [[ -n "${TABLE_OUT:-}" ]]; then cp "$WORK/table.md" "$TABLE_OUT"; fi
if [[ -n "${JSON_OUT:-}" ]]; then
    python3 -c "import json,glob,os;print(json.dumps({os.path.basename(f)[:-5]:json.load(open(f)) for f in sorted(glob.glob('$WORK/res/*.json'))},indent=1))" >"$JSON_OUT"
fi
