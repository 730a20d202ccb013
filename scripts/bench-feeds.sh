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
# after a change, median of 5), full GET, gzip GET, brotli GET and 304 at c=1 and c=32, and the static body
# of the same size from the baseline at c=32; each req/s also as a ratio to that static body's (the
# issue's reference), a 304's also to the baseline's /json (a bare handler that reads nothing: a 304
# must read the feed's stamps from the database, which that handler never pays).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

SIZES="${BENCH_FEED_SIZES:-25000,250000}"
SECONDS_PER_RUN="${BENCH_SECONDS:-6}"
SECRET="feed-harness-secret-0123456789abcdef0123"
ADMIN_PASSWORD="feed-harness-admin-passphrase"
PASSWORD="feed-harness-user-passphrase"
BASE_PORT="${BENCH_PORT:-18280}"

source "$ROOT/scripts/bench-common.sh"

"$BIN/examples/baseline" serve "127.0.0.1:$BASE_PORT" "$SECRET" >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$BASE_PORT/json" >/dev/null && break; sleep 0.1; done
read -r JSON_RPS p50 p99 _ <<<"$(measure 32 "" "http://127.0.0.1:$BASE_PORT/json")"
row baseline "GET /json, c=32 (a bare handler with a tiny body)" "$JSON_RPS" "$p50" "$p99" "1.00"

run() {
    local backend=$1 url=$2 n=$3
    local port=$((BASE_PORT + 1))
    local address="127.0.0.1:$port"
    echo "== $backend, $n meetings" >&2
    start_entente "$backend" "$url" "$address"
    local pid=$ENTENTE_PID api=$API second=$SECOND scheduler=$SCHEDULER viewer=$VIEWER
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
    s=($(measure 32 "" "http://127.0.0.1:$BASE_PORT/static/$bytes"))
    row baseline "static body of $((bytes / 1024)) KB, c=32 (the reference)" "${s[0]}" "${s[1]}" "${s[2]}" "1.00"
    local r
    for c in 1 32; do
        r=($(measure "$c" "" "$feed")); row "$backend" "$label: full GET, c=$c" "${r[0]}" "${r[1]}" "${r[2]}" "$(ratio "${r[0]}" "${s[0]}")"
        r=($(measure "$c" "" "$feed" -H "Accept-Encoding: gzip")); row "$backend" "$label: gzip GET, c=$c" "${r[0]}" "${r[1]}" "${r[2]}" "$(ratio "${r[0]}" "${s[0]}")"
        r=($(measure "$c" "" "$feed" -H "Accept-Encoding: br")); row "$backend" "$label: brotli GET, c=$c" "${r[0]}" "${r[1]}" "${r[2]}" "$(ratio "${r[0]}" "${s[0]}")"
        r=($(measure "$c" "" "$feed" -H "If-None-Match: $etag")); row "$backend" "$label: 304, c=$c (÷ /json: $(ratio "${r[0]}" "$JSON_RPS"))" "${r[0]}" "${r[1]}" "${r[2]}" "$(ratio "${r[0]}" "${s[0]}")"
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

table "Feeds, $(date -u +%Y-%m-%d), $(nproc) cores, ${SECONDS_PER_RUN}s per run, wrk -t1"
