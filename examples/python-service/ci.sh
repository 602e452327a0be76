#!/usr/bin/env bash
# Builds the Python binding into this example's venv, starts a throw-away PostgreSQL (unix
# socket in a temp dir, stopped on exit) and runs the service's tests over HTTP.
#
# Runs from any directory on a fresh Debian 12 machine (as root it installs PostgreSQL from
# Debian packages when its server binaries are missing). Environment:
#   CACHE             tool cache under the ignored target/ directory (default target/ci in the repository)
#   CARGO_TARGET_DIR  honoured as usual by cargo/maturin when set
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${CACHE:-$REPO/target/ci}
UV_VERSION=0.13.9
MATURIN_VERSION=1.16.0
PINS=(
    "fastapi==0.165.0" "starlette==1.10.0" "httpx==0.29.0" "uvicorn==0.55.0"
    "psycopg[binary]==3.3.9" "jsonschema==4.26.0" "openapi-spec-validator==0.9.0" "pyyaml==6.0.4"
    "pytest==9.2.0" "pyjwt==2.15.1" "cryptography==50.0.2" "schemathesis==4.32.5" "gunicorn==26.2.0"
    "maturin==$MATURIN_VERSION" "mypy==2.4.1"
)

mkdir -p "$CACHE"
export PATH="$CACHE/uv/bin:$PATH"
export UV_CACHE_DIR=${UV_CACHE_DIR:-$CACHE/uv-cache}
export UV_PYTHON_DOWNLOADS=never
export PYTHONPYCACHEPREFIX=${PYTHONPYCACHEPREFIX:-$CACHE/pycache}

t0=$SECONDS
if ! { command -v uv >/dev/null && uv --version | grep -qF "uv $UV_VERSION"; }; then
    python3 -m pip install -q --disable-pip-version-check --target "$CACHE/uv" "uv==$UV_VERSION"
fi

# PostgreSQL server binaries: on PATH, or Debian's /usr/lib/postgresql/<v>/bin, else install.
pg_bindir() {
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(command -v pg_ctl)"
        return
    fi
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
    done
}
PG_BIN=$(pg_bindir || true)
if [ -z "$PG_BIN" ]; then
    echo "python-service: installing PostgreSQL from Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    PG_BIN=$(pg_bindir)
fi
export PATH="$PG_BIN:$PATH"

VENV=$HERE/.venv
uv venv -q --allow-existing --python "$(python3 -c 'import sys; print(sys.executable)')" "$VENV"
export VIRTUAL_ENV=$VENV
export PATH="$VENV/bin:$PATH"
uv pip install -q "${PINS[@]}"
echo "python-service: tools ready in $((SECONDS - t0))s"

# The docs' json and yaml blocks parse (this venv has PyYAML; .ci/snippets.py --coverage maps them here).
(cd "$REPO" && python .ci/snippets.py --only json,yaml docs/formats.md docs/observability.md docs/performance.md)

t0=$SECONDS
(cd "$REPO/bindings/python" && maturin develop --release --uv --locked)
echo "python-service: binding build in $((SECONDS - t0))s"

# A throw-away server: unix socket only, in a temp dir, as the postgres user when root.
t0=$SECONDS
PGTMP=$(mktemp -d /tmp/recsys-pg.XXXXXX)
AS=()
if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
    chown postgres "$PGTMP"
    AS=(runuser -u postgres --)
fi
PORT=${RECSYS_PG_PORT:-54331}
stop_pg() {
    "${AS[@]}" "$PG_BIN/pg_ctl" -D "$PGTMP/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PGTMP"
}
trap stop_pg EXIT
"${AS[@]}" "$PG_BIN/initdb" -D "$PGTMP/data" -A trust -U postgres -E UTF8 --no-sync >/dev/null
"${AS[@]}" "$PG_BIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/log" -w \
    -o "-k $PGTMP -p $PORT -c listen_addresses='' -c fsync=off" start >/dev/null
export RECSYS_PG_DSN="host=$PGTMP port=$PORT user=postgres dbname=postgres"
echo "python-service: postgres ($("$PG_BIN/postgres" --version)) up in $((SECONDS - t0))s"

t0=$SECONDS
(cd "$HERE" && mypy --strict --cache-dir "$CACHE/mypy-cache-py-service" recsys_service)
echo "python-service: mypy in $((SECONDS - t0))s"

# The contract test: schemathesis drives the running service with docs/openapi.yaml (no 5xx,
# conforming responses, schema-valid requests accepted); bounded to about a minute.
t0=$SECONDS
bash "$HERE/contract/run.sh"
echo "python-service: contract test in $((SECONDS - t0))s"

# Last, so pytest's summary is the closing line.
(cd "$HERE" && python -m pytest -q -p no:cacheprovider tests)
