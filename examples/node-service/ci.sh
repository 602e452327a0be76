#!/usr/bin/env bash
# Runs the node-service example's tests (node:test, HTTP on 127.0.0.1) against the Node
# binding in bindings/node. The binding is reused when it is already built and newer than
# every source it is compiled from (the `node` CI step builds it just before); otherwise it is
# built the same way bindings/node/ci.sh does. The example's one npm dependency is `pg` (its
# PostgreSQL store and change-feed listener), installed from package-lock.json.
#
# Environment:
#   CARGO_TARGET_DIR  honoured by the napi CLI when a build is needed
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BINDING=$ROOT/bindings/node
ADDON=$BINDING/recsys.linux-x64-gnu.node
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

stale() {
    [ -f "$ADDON" ] && [ -f "$BINDING/index.js" ] || return 0
    [ -n "$(find "$ROOT/recsys-core/src" "$BINDING/src" "$BINDING/Cargo.toml" "$ROOT/Cargo.lock" \
        -newer "$ADDON" -print -quit)" ]
}

t0=$SECONDS
if stale; then
    echo "node-service: building the Node binding"
    (cd "$BINDING" && { [ -x node_modules/.bin/napi ] || npm install --no-save --no-audit --no-fund; } &&
        npx --no -- napi build --platform --release)
else
    echo "node-service: reusing the built Node binding ($(basename "$ADDON"))"
fi
echo "node-service: binding ready in $((SECONDS - t0))s"

# The fleet test needs PostgreSQL server binaries (a throw-away server per run) and `pg`.
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    echo "node-service: installing PostgreSQL from Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
fi
cd "$HERE"
npm ci --no-audit --no-fund --silent
node --test test/
