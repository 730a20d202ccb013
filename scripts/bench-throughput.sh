#!/usr/bin/env bash
# Throughput harness (issue 14): entente's hot paths side by side with a bare actix-web baseline
# (examples/baseline.rs), in one run on one machine, each as a ratio to something measured in the
# same run. Release build; wrk as load generator (installed from Debian when missing).
#
#   bash scripts/bench-throughput.sh                 # SQLite, and PostgreSQL when
#                                                    # ENTENTE_TEST_POSTGRES_URL is set
#   BENCH_MEETINGS=10000 BENCH_SECONDS=5 bash scripts/bench-throughput.sh   # a quicker run
#
# It prints one table: for each endpoint and backend, req/s, p50, p99, and the ratio to the
# baseline's /jwt (reads) or to the raw single-row commit rate of the same database measured by
# `seed commits` with the same settings (writes); then RSS after the run.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

MEETINGS="${BENCH_MEETINGS:-100000}"
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
SECRET="throughput-harness-secret-0123456789abcdef"
ADMIN_PASSWORD="throughput-admin-passphrase"
PASSWORD="throughput-user-passphrase"
BASE_PORT="${BENCH_PORT:-18080}"

source "$ROOT/scripts/bench-common.sh"

# ----------------------------------------------------------------------------------------------
# The baseline: bare actix-web; with a database, also /jwt-db (the token's subject looked up by
# key in one prepared statement on a blocking thread): the floor of any server that checks each
# token against the database.
baseline() {
    local database=${1:-}
    "$BIN/examples/baseline" serve "127.0.0.1:$BASE_PORT" "$SECRET" ${database:+"$database"} &
    local pid=$!
    for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$BASE_PORT/json" >/dev/null && break; sleep 0.1; done
    BASELINE_PID=$pid
}
TOKEN=$("$BIN/examples/baseline" token "$SECRET")
baseline "sqlite://$SCRATCH/baseline.db"
read -r rps p50 p99 _ <<<"$(measure 32 "" "http://127.0.0.1:$BASE_PORT/json")"
row baseline "GET /json" "$rps" "$p50" "$p99" ""
read -r JWT_RPS p50 p99 _ <<<"$(measure 32 "" "http://127.0.0.1:$BASE_PORT/jwt" -H "Authorization: Bearer $TOKEN")"
row baseline "GET /jwt (the reference)" "$JWT_RPS" "$p50" "$p99" "1.00"
r=($(measure 32 "" "http://127.0.0.1:$BASE_PORT/jwt-db" -H "Authorization: Bearer $TOKEN"))
row baseline "GET /jwt-db, SQLite (floor: one lookup per request)" "${r[0]}" "${r[1]}" "${r[2]}" "$(ratio "${r[0]}" "$JWT_RPS")"
kill "$BASELINE_PID"; wait "$BASELINE_PID" 2>/dev/null || true
if [ -n "${ENTENTE_TEST_POSTGRES_URL:-}" ]; then
    floor_db="entente_floor_$$"
    psql "$ENTENTE_TEST_POSTGRES_URL" -qc "CREATE DATABASE $floor_db" >/dev/null
    baseline "${ENTENTE_TEST_POSTGRES_URL%/*}/$floor_db"
    r=($(measure 32 "" "http://127.0.0.1:$BASE_PORT/jwt-db" -H "Authorization: Bearer $TOKEN"))
    row baseline "GET /jwt-db, PostgreSQL (floor: one lookup per request)" "${r[0]}" "${r[1]}" "${r[2]}" "$(ratio "${r[0]}" "$JWT_RPS")"
    kill "$BASELINE_PID"; wait "$BASELINE_PID" 2>/dev/null || true
    psql "$ENTENTE_TEST_POSTGRES_URL" -qc "DROP DATABASE $floor_db" >/dev/null
fi

# ----------------------------------------------------------------------------------------------
# Lua scripts for wrk
cat >"$SCRATCH/create.lua" <<'LUA'
-- Distinct times for every booking: each connection its own minute stream far in the future.
local counter = 0
local thread_id = math.random(1, 1000000)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  local minutes = (thread_id * 7919 + counter * 131) % (60 * 24 * 3000)
  local day = math.floor(minutes / (60 * 24))
  local t = os.time({year = 2031, month = 1, day = 1, hour = 0}) + day * 86400 + (minutes % 1440) * 60
  local start = os.date("!%Y-%m-%dT%H:%M", t)
  local finish = os.date("!%Y-%m-%dT%H:%M", t + 1800)
  local body = string.format('{"title":"Load %d","participants":["%s"],"time_zone":"UTC","start":"%s","end":"%s"}',
    counter, os.getenv("GUEST"), start, finish)
  return wrk.format(nil, nil, nil, body)
end
LUA
cat >"$SCRATCH/move.lua" <<'LUA'
-- Moves meetings round-robin (one of several ids per request), each to a new time.
local ids = {}
for id in string.gmatch(os.getenv("MEETING_IDS"), "[^,]+") do ids[#ids + 1] = id end
local counter = math.random(0, 1000)
wrk.method = "PATCH"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  local id = ids[(counter % #ids) + 1]
  local t = os.time({year = 2032, month = 1, day = 1, hour = 0}) + (counter % 5000) * 3600
  local body = string.format('{"start":"%s","end":"%s"}', os.date("!%Y-%m-%dT%H:%M", t),
    os.date("!%Y-%m-%dT%H:%M", t + 1800))
  return wrk.format(nil, "/api/v1/meetings/" .. id, nil, body)
end
LUA
cat >"$SCRATCH/login.lua" <<'LUA'
-- Wrong passwords, for usernames that mostly do not exist (so the per-username throttle does
-- not turn the flood into cheap 429s): every attempt costs a full argon2 verification.
local counter = math.random(0, 1000000)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, string.format('{"username":"flood-%d","password":"wrong-password-%d"}', counter, counter))
end
LUA

# ----------------------------------------------------------------------------------------------
run_backend() {
    local backend=$1 url=$2
    local port=$((BASE_PORT + 1))
    local address="127.0.0.1:$port"
    echo "== $backend: start, seed $MEETINGS meetings" >&2
    start_entente "$backend" "$url" "$address"
    local pid=$ENTENTE_PID api=$API second=$SECOND scheduler=$SCHEDULER viewer=$VIEWER
    "$BIN/examples/seed" meetings "$url" "$MEETINGS"
    local week="from=2027-03-01T00:00:00Z&to=2027-03-08T00:00:00Z"
    local listed
    listed=$(curl -sf "$api/meetings?$week&limit=100" -H "Authorization: Bearer $viewer")
    local items meeting
    items=$(echo "$listed" | json "len(d['items'])")
    meeting=$(echo "$listed" | json "d['items'][0]['id']")
    local feed
    feed=$(curl -sf "$api/feeds" -H "Authorization: Bearer $viewer" -H 'Content-Type: application/json' \
        -d '{"name":"bench"}' | json "d['url']")
    local moving=""
    for i in $(seq 10 25); do
        local m
        m=$(curl -sf "$api/meetings" -H "Authorization: Bearer $scheduler" -H 'Content-Type: application/json' \
            -d "{\"title\":\"Moving $i\",\"participants\":[\"$second\"],\"time_zone\":\"UTC\",\"start\":\"2033-01-${i}T10:00\",\"end\":\"2033-01-${i}T10:30\"}" | json "d['id']")
        moving="$moving${moving:+,}$m"
    done

    local auth=(-H "Authorization: Bearer $viewer")
    local r
    r=($(measure 32 "" "$api/me" "${auth[@]}")); row "$backend" "GET /me" "${r[0]}" "${r[1]}" "${r[2]}" "$(ratio "${r[0]}" "$JWT_RPS")"
    r=($(measure 32 "" "$api/meetings/$meeting" "${auth[@]}")); row "$backend" "GET /meetings/{id}" "${r[0]}" "${r[1]}" "${r[2]}" "$(ratio "${r[0]}" "$JWT_RPS")"
    r=($(measure 32 "" "$api/meetings?$week" "${auth[@]}")); row "$backend" "GET /meetings, one week ($items items)" "${r[0]}" "${r[1]}" "${r[2]}" "$(ratio "${r[0]}" "$JWT_RPS")"
    r=($(measure 32 "" "$api/schedule?$week" "${auth[@]}")); row "$backend" "GET /schedule, one week" "${r[0]}" "${r[1]}" "${r[2]}" "$(ratio "${r[0]}" "$JWT_RPS")"
    r=($(measure 32 "" "http://$address${feed#http://$address}")); row "$backend" "GET feed" "${r[0]}" "${r[1]}" "${r[2]}" "$(ratio "${r[0]}" "$JWT_RPS")"

    # SQLite has one writer at a time: its raw rate is one connection's; PostgreSQL's, eight's.
    local committers=1
    [ "$backend" = postgres ] && committers=8
    local commit_rate
    commit_rate=$("$BIN/examples/seed" commits "$url" "$committers" "$SECONDS_PER_RUN")
    row "$backend" "raw single-row commits, $committers connection(s) (the reference)" "$commit_rate" "" "" "1.00"
    r=($(GUEST="$second" measure 8 "$SCRATCH/create.lua" "$api/meetings" -H "Authorization: Bearer $scheduler"))
    row "$backend" "POST /meetings, c=8 (non-2xx: ${r[3]})" "${r[0]}" "${r[1]}" "${r[2]}" "$(ratio "${r[0]}" "$commit_rate")"
    r=($(MEETING_IDS="$moving" measure 8 "$SCRATCH/move.lua" "$api/meetings" -H "Authorization: Bearer $scheduler"))
    row "$backend" "PATCH /meetings/{id} (move), c=8 (non-2xx: ${r[3]})" "${r[0]}" "${r[1]}" "${r[2]}" "$(ratio "${r[0]}" "$commit_rate")"
    r=($(measure 8 "$SCRATCH/login.lua" "$api/auth/login"))
    row "$backend" "POST /auth/login, wrong password, c=8" "${r[0]}" "${r[1]}" "${r[2]}" ""

    # A login flood (32 clients, wrong passwords) while a delegation reads /me at c=8.
    wrk -t1 -c32 -d"$((SECONDS_PER_RUN + 2))s" -s "$SCRATCH/login.lua" "$api/auth/login" >/dev/null 2>&1 &
    local flood=$!
    sleep 1
    r=($(measure 8 "" "$api/me" "${auth[@]}")); row "$backend" "GET /me, c=8, during a login flood" "${r[0]}" "${r[1]}" "${r[2]}" "$(ratio "${r[0]}" "$JWT_RPS")"
    wait "$flood" || true

    local rss
    rss=$(awk '/VmRSS/ {printf "%.0f MB", $2 / 1024}' "/proc/$pid/status")
    row "$backend" "RSS after the run" "$rss" "" "" ""
    kill "$pid"; wait "$pid" 2>/dev/null || true
}

run_backend sqlite "sqlite://$SCRATCH/bench.db"
if [ -n "${ENTENTE_TEST_POSTGRES_URL:-}" ]; then
    name="entente_throughput_$$"
    psql "$ENTENTE_TEST_POSTGRES_URL" -qc "CREATE DATABASE $name" >/dev/null
    pg_url="${ENTENTE_TEST_POSTGRES_URL%/*}/$name"
    run_backend postgres "$pg_url"
    psql "$ENTENTE_TEST_POSTGRES_URL" -qc "DROP DATABASE $name" >/dev/null
fi

table "Throughput, $(date -u +%Y-%m-%d), $(nproc) cores, $MEETINGS meetings, ${SECONDS_PER_RUN}s per run, wrk -t1"
