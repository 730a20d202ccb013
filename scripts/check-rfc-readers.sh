#!/usr/bin/env bash
# Readers that follow RFC 5545 strictly (vobject, Python ical) read our calendars; HEAD and weak
# validators over HTTP (issue 11).
source "$(dirname "$0")/lib.sh"
ci_python "vobject==0.9.9" "ical==14.3.1"
start_entente ENTENTE_ADMIN_PASSWORD=rfc-readers-check-password
"$PY" "$ROOT/scripts/check-rfc-readers.py" "$ENTENTE_ADDRESS" rfc-readers-check-password
