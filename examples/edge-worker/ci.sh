#!/usr/bin/env bash
# Builds the edge-worker example's bundle inputs and runs its tests in workerd (miniflare,
# 127.0.0.1 only, no outbound access).
#
# The WASM glue comes from bindings/wasm (`pkg-web/`, written by bindings/wasm/ci.sh, which the
# `wasm` CI step runs first). It is reused when present and newer than the sources it is
# compiled from; otherwise this script builds it the same way (bindings/wasm/ci.sh tools, the
# size-optimised cargo build, wasm-bindgen --target web) into its own ignored `.pkg-web/`,
# leaving bindings/wasm's outputs alone.
#
# Environment:
#   RECSYS_CI_CACHE   tool cache (default <repo>/target/ci), as in bindings/wasm/ci.sh
#   CARGO_TARGET_DIR  honoured (default <repo>/target)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PKG=$ROOT/bindings/wasm/pkg-web
CACHE=${RECSYS_CI_CACHE:-$ROOT/target/ci}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
export PATH="$CACHE/tools/bin:$PATH"
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

stale() {
    [ -f "$PKG/recsys_wasm.js" ] && [ -f "$PKG/recsys_wasm_bg.wasm" ] || return 0
    [ -n "$(find "$ROOT/recsys-core/src" "$ROOT/bindings/wasm/src" "$ROOT/bindings/wasm/Cargo.toml" \
        "$ROOT/Cargo.lock" -newer "$PKG/recsys_wasm_bg.wasm" -print -quit)" ]
}

t0=$SECONDS
if stale; then
    echo "edge-worker: building the WASM glue (bindings/wasm)"
    bash "$ROOT/bindings/wasm/ci.sh" tools
    (cd "$ROOT" && CARGO_PROFILE_RELEASE_OPT_LEVEL=s CARGO_PROFILE_RELEASE_LTO=true CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
        cargo build --locked -p recsys-wasm --target wasm32-unknown-unknown --release)
    PKG=$HERE/.pkg-web
    rm -rf "$PKG"
    wasm-bindgen --target web --remove-name-section --remove-producers-section --out-dir "$PKG" \
        "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/recsys_wasm.wasm"
else
    echo "edge-worker: reusing bindings/wasm/pkg-web"
fi
echo "edge-worker: glue ready in $((SECONDS - t0))s"

cd "$HERE"
t0=$SECONDS
# The pinned miniflare (package-lock.json); not `npm ci`, like the bindings (see bindings/node/ci.sh).
npm install --no-save --no-audit --no-fund
echo "edge-worker: npm install in $((SECONDS - t0))s"
node build.mjs --pkg "$PKG"
# Last, so the test runner's summary is the closing output.
node --test test/
