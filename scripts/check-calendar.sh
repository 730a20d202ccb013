#!/usr/bin/env bash
# Real client parsers read a feed: Python icalendar + recurring-ical-events, and ical.js (npm).
source "$(dirname "$0")/lib.sh"
ci_python "icalendar==7.3.2" "recurring-ical-events==3.8.2"
node_dir="$ROOT/target/ci-node"
mkdir -p "$node_dir"
[ -f "$node_dir/node_modules/ical.js/package.json" ] || npm install --silent --no-audit --no-fund --prefix "$node_dir" ical.js@2.2.1
cp "$ROOT/scripts/check-icaljs.mjs" "$node_dir/check-icaljs.mjs"
start_entente ENTENTE_ADMIN_PASSWORD=calendar-check-password
"$PY" "$ROOT/scripts/check-calendar.py" "$ENTENTE_ADDRESS" calendar-check-password "$node_dir"
