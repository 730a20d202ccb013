# Shared by the benchmark harnesses (scripts/bench-throughput.sh, scripts/bench-feeds.sh); sourced,
# with ROOT (the working directory), SECRET, ADMIN_PASSWORD, PASSWORD and SECONDS_PER_RUN set by the
# caller; builds the release binary, the baseline and the seeder first.

echo "building the release binary, the baseline and the seeder…" >&2
cargo build --release --quiet --bin entente --example baseline --example seed

command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y wrk >/dev/null); }
command -v wrk >/dev/null || { echo "wrk is missing and could not be installed" >&2; exit 1; }

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

# measure CONNECTIONS LUA_SCRIPT_OR_EMPTY URL [wrk options…] → "req/s p50_ms p99_ms non-2xx-3xx"
measure() {
    local connections=$1 script=$2 url=$3
    shift 3
    local out
    out=$(wrk -t1 -c"$connections" -d"${SECONDS_PER_RUN}s" --latency ${script:+-s "$script"} "$@" "$url" 2>&1)
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
socket = re.search(r"Socket errors:.*", out)
rate = float(rps.group(1)) if rps else 0
print(f"{rate:.0f}" if rate >= 100 else f"{rate:.1f}", f"{ms('50%'):.2f} {ms('99%'):.2f} {errors.group(1) if errors else 0}")
if socket:
    print(socket.group(0), file=sys.stderr)
PY
}

ROWS=()
row() { ROWS+=("$1|$2|$3|$4|$5|$6"); }

# table TITLE: the rows measured, as a Markdown table.
table() {
    echo
    echo "$1"
    printf '| %-9s | %-70s | %9s | %8s | %8s | %7s |\n' backend measurement "req/s" "p50 ms" "p99 ms" ratio
    printf '| %-9s | %-70s | %9s | %8s | %8s | %7s |\n' --- --- ---: ---: ---: ---:
    for r in "${ROWS[@]}"; do
        IFS='|' read -r b e rps p50 p99 ratio <<<"$r"
        printf '| %-9s | %-70s | %9s | %8s | %8s | %7s |\n' "$b" "$e" "$rps" "$p50" "$p99" "$ratio"
    done
}

# start_entente BACKEND DATABASE_URL ADDRESS: starts entente there with 50 delegations (D00 has a
# scheduler and a viewer); sets ENTENTE_PID, API, FIRST, SECOND, SCHEDULER and VIEWER.
start_entente() {
    local backend=$1 url=$2 address=$3
    (exec env -i PATH="$PATH" ENTENTE_DATABASE_URL="$url" ENTENTE_BIND="$address" \
        ENTENTE_ADMIN_PASSWORD="$ADMIN_PASSWORD" ENTENTE_JWT_SECRET="$SECRET" ENTENTE_LOG=warn \
        "$BIN/entente" >/dev/null 2>"$SCRATCH/$backend.log") &
    ENTENTE_PID=$!
    PIDS+=("$ENTENTE_PID")
    for _ in $(seq 1 100); do curl -sf "http://$address/healthz" >/dev/null && break; sleep 0.1; done
    API="http://$address/api/v1"
    local admin id
    admin=$(curl -sf "$API/auth/login" -H 'Content-Type: application/json' \
        -d "{\"username\":\"admin\",\"password\":\"$ADMIN_PASSWORD\"}" | json "d['access_token']")
    FIRST="" SECOND=""
    for i in $(seq -w 0 49); do
        id=$(curl -sf "$API/delegations" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
            -d "{\"code\":\"D$i\",\"name\":\"Delegation $i\",\"kind\":\"state\",\"time_zone\":\"Europe/Zurich\"}" | json "d['id']")
        [ -z "$FIRST" ] && FIRST=$id || { [ -z "$SECOND" ] && SECOND=$id; }
    done
    for role in scheduler viewer; do
        curl -sf "$API/delegations/$FIRST/users" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
            -d "{\"username\":\"d00-$role\",\"password\":\"$PASSWORD\",\"role\":\"$role\"}" >/dev/null
    done
    SCHEDULER=$(curl -sf "$API/auth/login" -H 'Content-Type: application/json' \
        -d "{\"username\":\"d00-scheduler\",\"password\":\"$PASSWORD\"}" | json "d['access_token']")
    VIEWER=$(curl -sf "$API/auth/login" -H 'Content-Type: application/json' \
        -d "{\"username\":\"d00-viewer\",\"password\":\"$PASSWORD\"}" | json "d['access_token']")
}
