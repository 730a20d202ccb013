#!/usr/bin/env bash
# Runs the README's curl walkthrough (between the readme-example markers), as written, against a
# fresh server on the default address, started the way the README says.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --no-run --quiet
scratch=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$scratch"' EXIT
# Only the fenced code between the markers: the prose around it is for people.
awk '/<!-- readme-example:start -->/ {on=1; next} /<!-- readme-example:end -->/ {on=0}
     on && /^```/ {code=!code; next} on && code' README.md \
    > "$scratch/example.sh"
[ -s "$scratch/example.sh" ] || { echo "no example found in README.md"; exit 1; }

if curl -s -o /dev/null http://127.0.0.1:8080/; then
    echo "something already listens on 127.0.0.1:8080, where the README example expects entente" >&2
    exit 1
fi
(cd "$scratch" && exec env -i PATH="$PATH" ENTENTE_ADMIN_PASSWORD='correct-horse-battery' \
    "$OLDPWD/target/debug/entente" 2>"$scratch/server.log") &
pid=$!
for _ in $(seq 1 100); do
    curl -sf http://127.0.0.1:8080/readyz >/dev/null 2>&1 && break
    sleep 0.2
done
if ! bash -euo pipefail -x "$scratch/example.sh" > "$scratch/out.txt" 2> "$scratch/trace.txt"; then
    echo "the README example failed:"; tail -n 30 "$scratch/trace.txt"; cat "$scratch/out.txt"
    echo "--- server log"; tail -n 30 "$scratch/server.log"
    exit 1
fi
cat "$scratch/out.txt"
echo "README example ran: $(grep -cE '^\++ curl' "$scratch/trace.txt" || true) curl commands, all succeeded"
