#!/usr/bin/env bash
# No dependency only under a GPL-family licence (SPDX expressions parsed by license-expression).
source "$(dirname "$0")/lib.sh"
ci_python "license-expression==30.4.4"
"$PY" "$ROOT/scripts/check-licenses.py"
