#!/usr/bin/env bash
# Runs schemathesis against the service with docs/openapi.yaml: no 5xx, responses conform to
# the document (status, content type, headers, schema), schema-valid requests are accepted,
# auth is enforced, and 405s carry Allow. Needs RECSYS_PG_DSN (ci.sh provides it) and the
# example's venv on PATH. Bounded by schemathesis.toml (about 30 s here).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
PORT=${RECSYS_CONTRACT_PORT:-8391}
WORK=$(mktemp -d /tmp/recsys-contract.XXXXXX)
SERVER=""
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# The example tenant with the default limits (the document states the defaults; the example
# config lowers max_k to 100).
cp -r "$REPO/examples/data" "$WORK/data"
python - "$WORK/data/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c.pop("limits", None)
json.dump(c, open(p, "w"))
PY

# A clean database for the run, so earlier tests' documents do not matter.
DB="recsys_contract_$$"
python - "$RECSYS_PG_DSN" "$DB" <<'PY'
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    conn.execute(f"DROP DATABASE IF EXISTS {sys.argv[2]}")
    conn.execute(f"CREATE DATABASE {sys.argv[2]}")
PY
export RECSYS_PG_DSN="${RECSYS_PG_DSN/dbname=postgres/dbname=$DB}"
export RECSYS_DATA_DIR=$WORK/data RECSYS_API_KEY_SECRET=contract-secret
export RECSYS_CONTRACT_KEY=contract-key
RECSYS_API_KEYS=$(cd "$HERE/.." && python -c 'import json; from recsys_service.app import hash_api_key; print(json.dumps([{"id": "contract", "hash": hash_api_key("contract-secret", "contract-key"), "tenant": "demo", "roles": ["admin"]}]))')
export RECSYS_API_KEYS
(cd "$HERE/.." && exec python -m uvicorn --factory recsys_service.app:app_from_env --host 127.0.0.1 --port "$PORT" \
    --log-level warning) 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$PORT/livez" >/dev/null && break
    sleep 0.1
done
curl -sf "http://127.0.0.1:$PORT/livez" >/dev/null || { cat "$WORK/server.log"; exit 1; }

# Checks, seed and bounds are in schemathesis.toml (every check but negative_data_rejection).
# Serving first, then admin: admin writes change the tenant's config (its limits bound `k`),
# so the serving operations run against the documented defaults.
cd "$HERE"
for tags in "--include-tag serving --include-tag operations" "--include-tag admin"; do
    # shellcheck disable=SC2086
    schemathesis run "$REPO/docs/openapi.yaml" --url "http://127.0.0.1:$PORT" --no-color $tags ||
        { tail -50 "$WORK/server.log"; exit 1; }
done
