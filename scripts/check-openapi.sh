#!/usr/bin/env bash
# Validates the served /openapi.json with an independent validator (openapi-spec-validator).
source "$(dirname "$0")/lib.sh"
ci_python "openapi-spec-validator==0.7.2"
start_entente ENTENTE_ADMIN_PASSWORD=openapi-check-password
curl -sf "$ENTENTE_ADDRESS/openapi.json" -o "$ENTENTE_SCRATCH/openapi.json"
"$PY" -m openapi_spec_validator "$ENTENTE_SCRATCH/openapi.json"
"$PY" - "$ENTENTE_SCRATCH/openapi.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["openapi"].startswith("3.1."), doc["openapi"]
print(f"OpenAPI {doc['openapi']}: {len(doc['paths'])} paths valid")
PY
