#!/usr/bin/env bash
# Feed harness (issue 16): a delegation's feed of ~1,000 and ~10,000 meetings, served by entente
# on SQLite and on PostgreSQL, side by side with a bare actix-web handler returning a static body
# of the same size (examples/baseline.rs, /static/{bytes}) in one run on one machine. Release
# build; wrk as load generator (installed from Debian when missing).
#
#   bash scripts/bench-feeds.sh                       # SQLite, and PostgreSQL when
#                                                     # ENTENTE_TEST_POSTGRES_URL is set
#   BENCH_FEED_SIZES=25000 BENCH_SECONDS=4 bash scripts/bench-feeds.sh   # a quicker run
#
# For each backend and size: the seeder spreads N meetings among 50 delegations (a delegation's
# feed then holds ~N/27 of them); then, for one delegation's feed: a rendering (the first GET
# after a change, median of 5), full GET, gzip GET and 304 at c=1 and c=32, and the static body
# of the same size from the baseline at c=32; each req/s also as a ratio to the baseline's.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

SIZES="${BENCH_FEED_SIZES:-25000,250000}"
SECONDS_PER_RUN="${BENCH_SECONDS:-6}"
SECRET="feed-harness-secret-0123456789abcdef0123"
ADMIN_PASSWORD="feed-harness-admin-passphrase"
PASSWORD="feed-harness-user-passphrase"
BASE_PORT="${BENCH_PORT:-18280}"

command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y wrk >/dev/null); }
command -v wrk >/dev/null || { echo "wrk is missing and could not be installed" >&2; exit 1; }

echo "building the release binary, the baseline and the seeder…" >&2
cargo build --release --quiet --bin entente --example baseline --example seed
BIN="$ROOT/target/release"
SCRATCH=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$SCRATCH"
}
trap cleanup EXIT

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {'d': d}))" "$1"; }
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.2f}' if b else '-')" "$1" "$2"; }

# wrk → "req/s p50_ms p99_ms non-2xx-3xx"
measure() {
    local connections=$1 url=$2
    shift 2
    local out
    out=$(wrk -t1 -c"$connections" -d"${SECONDS_PER_RUN}s" --latency "$@" "$url" 2>&1)
    python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
def ms(label):
    m = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)\s*$" % label, out, re.M)
    if not m:
        return float("nan")
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
print(f"{float(rps.group(1)) if rps else 0:.1f} {ms('50%'):.2f} {ms('99%'):.2f} {errors.group(1) if errors else 0}")
PY
}

ROWS=()
row() { ROWS+=("$1|$2|$3|$4|$5|$6"); }

"$BIN/examples/baseline" serve "127.0.0.1:$BASE_PORT" "$SECRET" >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$BASE_PORT/json" >/dev/null && break; sleep 0.1; done
read -r JSON_RPS p50 p99 _ <<<"$(measure 32 "http://127.0.0.1:$BASE_PORT/json")"
row baseline "GET /json, c=32 (the reference of 304s)" "$JSON_RPS" "$p50" "$p99" "1.00"

run() {
    local backend=$1 url=$2 n=$3
    local port=$((BASE_PORT + 1))
    local address="127.0.0.1:$port"
    echo "== $backend, $n meetings" >&2
    (exec env -i PATH="$PATH" ENTENTE_DATABASE_URL="$url" ENTENTE_BIND="$address" \
        ENTENTE_ADMIN_PASSWORD="$ADMIN_PASSWORD" ENTENTE_JWT_SECRET="$SECRET" ENTENTE_LOG=warn \
        "$BIN/entente" >/dev/null 2>"$SCRATCH/$backend.log") &
    local pid=$!
    PIDS+=("$pid")
    for _ in $(seq 1 100); do curl -sf "http://$address/healthz" >/dev/null && break; sleep 0.1; done
    local api="http://$address/api/v1"
    local admin first="" second=""
    admin=$(curl -sf "$api/auth/login" -H 'Content-Type: application/json' \
        -d "{\"username\":\"admin\",\"password\":\"$ADMIN_PASSWORD\"}" | json "d['access_token']")
    for i in $(seq -w 0 49); do
        local id
        id=$(curl -sf "$api/delegations" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
            -d "{\"code\":\"D$i\",\"name\":\"Delegation $i\",\"kind\":\"state\",\"time_zone\":\"Europe/Zurich\"}" | json "d['id']")
        [ -z "$first" ] && first=$id || { [ -z "$second" ] && second=$id; }
    done
    for role in scheduler viewer; do
        curl -sf "$api/delegations/$first/users" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
            -d "{\"username\":\"d00-$role\",\"password\":\"$PASSWORD\",\"role\":\"$role\"}" >/dev/null
    done
    local viewer scheduler
    viewer=$(curl -sf "$api/auth/login" -H 'Content-Type: application/json' \
        -d "{\"username\":\"d00-viewer\",\"password\":\"$PASSWORD\"}" | json "d['access_token']")
    scheduler=$(curl -sf "$api/auth/login" -H 'Content-Type: application/json' \
        -d "{\"username\":\"d00-scheduler\",\"password\":\"$PASSWORD\"}" | json "d['access_token']")
    "$BIN/examples/seed" meetings "$url" "$n"
    local feed
    feed="http://$address$(curl -sf "$api/feeds" -H "Authorization: Bearer $viewer" -H 'Content-Type: application/json' \
        -d '{"name":"bench"}' | json "d['url']" | sed "s#^http://[^/]*##")"
    curl -s -o "$SCRATCH/feed.ics" -D "$SCRATCH/feed.h" "$feed"
    local events bytes etag
    events=$(grep -c '^BEGIN:VEVENT' "$SCRATCH/feed.ics" || true)
    bytes=$(stat -c %s "$SCRATCH/feed.ics")
    etag=$(awk 'tolower($1) == "etag:" {print $2}' "$SCRATCH/feed.h" | tr -d '\r')
    local label="$backend, $events meetings ($((bytes / 1024)) KB)"

    # A rendering: the first GET after a change of the feed (a booking), median of 5.
    local times=()
    for i in 1 2 3 4 5; do
        curl -sf "$api/meetings" -H "Authorization: Bearer $scheduler" -H 'Content-Type: application/json' \
            -d "{\"title\":\"Change $i\",\"participants\":[\"$second\"],\"time_zone\":\"UTC\",\"start\":\"2027-0$i-15T10:00\",\"end\":\"2027-0$i-15T11:00\"}" >/dev/null
        times+=("$(curl -s -o "$SCRATCH/feed.ics" -D "$SCRATCH/feed.h" -w '%{time_total}' "$feed")")
    done
    local miss
    miss=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p | awk '{printf "%.1f", $1 * 1000}')
    etag=$(awk 'tolower($1) == "etag:" {print $2}' "$SCRATCH/feed.h" | tr -d '\r')
    bytes=$(stat -c %s "$SCRATCH/feed.ics")
    row "$backend" "$label: a rendering (first GET after a change), c=1" "" "$miss" "" ""

    local s
    s=($(measure 32 "http://127.0.0.1:$BASE_PORT/static/$bytes"))
    row baseline "static body of $((bytes / 1024)) KB, c=32 (the reference)" "${s[0]}" "${s[1]}" "${s[2]}" "1.00"
    local r
    for c in 1 32; do
        r=($(measure "$c" "$feed")); row "$backend" "$label: full GET, c=$c" "${r[0]}" "${r[1]}" "${r[2]}" "$(ratio "${r[0]}" "${s[0]}")"
        r=($(measure "$c" "$feed" -H "Accept-Encoding: gzip")); row "$backend" "$label: gzip GET, c=$c" "${r[0]}" "${r[1]}" "${r[2]}" "$(ratio "${r[0]}" "${s[0]}")"
        r=($(measure "$c" "$feed" -H "If-None-Match: $etag")); row "$backend" "$label: 304, c=$c" "${r[0]}" "${r[1]}" "${r[2]}" "$(ratio "${r[0]}" "$JSON_RPS")"
    done
    local rss
    rss=$(awk '/VmRSS/ {printf "%.0f MB", $2 / 1024}' "/proc/$pid/status")
    row "$backend" "$label: RSS after the run" "$rss" "" "" ""
    kill "$pid"; wait "$pid" 2>/dev/null || true
}

IFS=',' read -r -a sizes <<<"$SIZES"
for n in "${sizes[@]}"; do
    run sqlite "sqlite://$SCRATCH/bench-$n.db" "$n"
    rm -f "$SCRATCH"/bench-"$n".db*
    if [ -n "${ENTENTE_TEST_POSTGRES_URL:-}" ]; then
        name="entente_feeds_$$_$n"
        psql "$ENTENTE_TEST_POSTGRES_URL" -qc "CREATE DATABASE $name" >/dev/null
        run postgres "${ENTENTE_TEST_POSTGRES_URL%/*}/$name" "$n"
        psql "$ENTENTE_TEST_POSTGRES_URL" -qc "DROP DATABASE $name" >/dev/null
    fi
done

echo
echo "Feeds, $(date -u +%Y-%m-%d), $(nproc) cores, ${SECONDS_PER_RUN}s per run, wrk -t1"
printf '| %-9s | %-70s | %9s | %8s | %8s | %7s |\n' backend measurement "req/s" "p50 ms" "p99 ms" ratio
printf '| %-9s | %-70s | %9s | %8s | %8s | %7s |\n' --- --- ---: ---: ---: ---:
for r in "${ROWS[@]}"; do
    IFS='|' read -r b e rps p50 p99 ratio <<<"$r"
    printf '| %-9s | %-70s | %9s | %8s | %8s | %7s |\n' "$b" "$e" "$rps" "$p50" "$p99" "$ratio"
done
