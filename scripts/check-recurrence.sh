#!/usr/bin/env bash
# Expands series through the API and with Python's recurring-ical-events; they must agree.
source "$(dirname "$0")/lib.sh"
ci_python "icalendar==7.3.2" "recurring-ical-events==3.8.2"
start_entente ENTENTE_ADMIN_PASSWORD=recurrence-check-password
"$PY" "$ROOT/scripts/check-recurrence.py" "$ENTENTE_ADDRESS" recurrence-check-password
