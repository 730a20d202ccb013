# Shared by the check scripts: source it, then call what you need.
#   ci_python PACKAGE==VERSION …   → a virtualenv in target/ci-python with those packages ($PY)
#   start_entente VAR=VALUE …      → the test-built binary on a scratch SQLite database, with only
#                                    the given environment; sets ENTENTE_ADDRESS and stops it on exit
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

ci_python() {
    local venv="$ROOT/target/ci-python"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$@"
    PY="$venv/bin/python"
}

start_entente() {
    # The binary `cargo test` builds (same features: nothing to recompile after the tests).
    (cd "$ROOT" && cargo test --no-run --quiet)
    ENTENTE_SCRATCH=$(mktemp -d)
    local bind="127.0.0.1:0"
    for assignment in "$@"; do
        case "$assignment" in ENTENTE_BIND=*) bind="${assignment#ENTENTE_BIND=}" ;; esac
    done
    if [ "$bind" != "127.0.0.1:0" ] && curl -s -o /dev/null "http://$bind/"; then
        echo "something already listens on $bind" >&2
        exit 1
    fi
    (cd "$ENTENTE_SCRATCH" && exec env -i PATH="$PATH" ENTENTE_BIND="$bind" "$@" \
        "$ROOT/target/debug/entente" 2>"$ENTENTE_SCRATCH/server.log") &
    ENTENTE_PID=$!
    trap 'kill "$ENTENTE_PID" 2>/dev/null || true; rm -rf "$ENTENTE_SCRATCH"' EXIT
    ENTENTE_ADDRESS=""
    for _ in $(seq 1 150); do
        ENTENTE_ADDRESS=$(grep -o 'serving on http://[0-9.:]*' "$ENTENTE_SCRATCH/server.log" | head -n 1 | sed 's/serving on //') || true
        [ -n "$ENTENTE_ADDRESS" ] && return 0
        sleep 0.2
    done
    echo "entente did not start:" >&2
    cat "$ENTENTE_SCRATCH/server.log" >&2
    exit 1
}
