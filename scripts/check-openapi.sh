#!/usr/bin/env bash
# Starts the built server on a scratch SQLite database, fetches /openapi.json and validates it
# with an independent validator (openapi-spec-validator, from PyPI, installed here).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/ci-python
if [ ! -x "$venv/bin/openapi-spec-validator" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "openapi-spec-validator==0.7.2"
fi

# The binary `cargo test` builds (same features: nothing to recompile after the tests).
cargo test --no-run --quiet
scratch=$(mktemp -d)
log="$scratch/entente.log"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$scratch"' EXIT
(cd "$scratch" && exec env -i PATH="$PATH" ENTENTE_BIND=127.0.0.1:0 ENTENTE_ADMIN_PASSWORD=openapi-check-password \
    "$OLDPWD/target/debug/entente" 2>"$log") &
pid=$!
address=""
for _ in $(seq 1 100); do
    address=$(grep -o 'serving on http://[0-9.:]*' "$log" | head -n 1 | sed 's/serving on //') || true
    [ -n "$address" ] && break
    sleep 0.2
done
[ -n "$address" ] || { echo "the server did not start:"; cat "$log"; exit 1; }
python3 - "$address/openapi.json" "$scratch/openapi.json" <<'PY'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1]) as response:
    open(sys.argv[2], "wb").write(response.read())
PY
"$venv/bin/openapi-spec-validator" "$scratch/openapi.json"
python3 - "$scratch/openapi.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["openapi"].startswith("3.1."), doc["openapi"]
print(f"OpenAPI {doc['openapi']}: {len(doc['paths'])} paths valid")
PY
