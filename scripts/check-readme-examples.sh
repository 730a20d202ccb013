#!/usr/bin/env bash
# Runs the README's curl walkthrough (the fenced code between the readme-example markers), as
# written, against a fresh server on the default address, started the way the README says.
source "$(dirname "$0")/lib.sh"
start_entente ENTENTE_BIND=127.0.0.1:8080 ENTENTE_ADMIN_PASSWORD='correct-horse-battery'
# Only the fenced code between the markers: the prose around it is for people.
awk '/<!-- readme-example:start -->/ {on=1; next} /<!-- readme-example:end -->/ {on=0}
     on && /^```/ {code=!code; next} on && code' "$ROOT/README.md" > "$ENTENTE_SCRATCH/example.sh"
[ -s "$ENTENTE_SCRATCH/example.sh" ] || { echo "no example found in README.md"; exit 1; }
if ! bash -euo pipefail -x "$ENTENTE_SCRATCH/example.sh" > "$ENTENTE_SCRATCH/out.txt" 2> "$ENTENTE_SCRATCH/trace.txt"; then
    echo "the README example failed:"; tail -n 30 "$ENTENTE_SCRATCH/trace.txt"; cat "$ENTENTE_SCRATCH/out.txt"
    echo "--- server log"; tail -n 30 "$ENTENTE_SCRATCH/server.log"
    exit 1
fi
cat "$ENTENTE_SCRATCH/out.txt"
echo "README example ran: $(grep -cE '^\++ curl' "$ENTENTE_SCRATCH/trace.txt" || true) curl commands, all succeeded"
