#!/usr/bin/env bash
# Builds the WASM binding and runs its tests: the `--target nodejs` and `--target web` glue in
# Node, an edge-worker runtime (miniflare/workerd on 127.0.0.1) and headless Chromium (skipped,
# with a message, when /usr/bin/chromium or $CHROMIUM is absent; .ci/run installs it).
#
#   bash bindings/wasm/ci.sh          tools + build + test
#   bash bindings/wasm/ci.sh tools    only the wasm32 target and the wasm-bindgen CLI
#
# Environment:
#   RECSYS_CI_CACHE           tool cache under the ignored target/ directory (default target/ci in the repository);
#                             the CLI goes to $RECSYS_CI_CACHE/tools/bin
#   CARGO_TARGET_DIR          honoured (default <repo>/target)
#   RECSYS_SKIP_NPM_INSTALL=1 node_modules is already installed (.ci/run installs it in the
#                             background)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"
CACHE=${RECSYS_CI_CACHE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/target/ci}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
export PATH="$CACHE/tools/bin:$PATH"
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

# The CLI must be exactly the wasm-bindgen version in Cargo.lock (the crate pins "=0.2.130").
WB_VERSION=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print }' Cargo.lock)
[ -n "$WB_VERSION" ] || { echo "wasm: no wasm-bindgen in Cargo.lock" >&2; exit 1; }

tools() {
    rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
    if ! wasm-bindgen --version 2>/dev/null | grep -qxF "wasm-bindgen $WB_VERSION"; then
        # Not --locked: the CLI's lockfile pins a webpki-roots release the crates.io index here
        # lacks. A debug build of just the `wasm-bindgen` binary without the default features
        # (rustls/ring) compiles ~3x faster and produces byte-identical glue.
        # CARGO_TARGET_DIR is unset so its intermediates don't bloat the shared target dir.
        env -u CARGO_TARGET_DIR CARGO_PROFILE_DEV_DEBUG=0 cargo install --debug --root "$CACHE/tools" \
            wasm-bindgen-cli --version "$WB_VERSION" --no-default-features --bin wasm-bindgen
    fi
}

build() {
    local t0=$SECONDS
    # Size-optimised release build for this target only (the workspace [profile.release] is
    # shared with the host crates, so the overrides live here as environment variables).
    CARGO_PROFILE_RELEASE_OPT_LEVEL=s CARGO_PROFILE_RELEASE_LTO=true CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
        cargo build --locked -p recsys-wasm --target wasm32-unknown-unknown --release
    local wasm=$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/recsys_wasm.wasm
    rm -rf "$HERE/pkg-node" "$HERE/pkg-web"
    local strip=(--remove-name-section --remove-producers-section)
    wasm-bindgen --target nodejs "${strip[@]}" --out-dir "$HERE/pkg-node" "$wasm"
    wasm-bindgen --target web "${strip[@]}" --out-dir "$HERE/pkg-web" "$wasm"
    # The web glue is ESM; without this Node warns MODULE_TYPELESS_PACKAGE_JSON.
    echo '{"type":"module"}' >"$HERE/pkg-web/package.json"
    local out=$HERE/pkg-web/recsys_wasm_bg.wasm
    echo "wasm: built in $((SECONDS - t0))s; recsys_wasm_bg.wasm is $(wc -c <"$out") bytes ($(gzip -9c "$out" | wc -c) gzipped)"
}

run_tests() {
    if [ "${RECSYS_SKIP_NPM_INSTALL:-0}" != 1 ]; then
        (cd "$HERE" && npm install --no-save)
    fi
    # The guides' code blocks, run as written.
    python3 "$HERE/../../.ci/snippets.py" --only js,sh bindings/wasm/README.md docs/bindings/wasm.md
    # Last, so the test runner's summary is the closing output.
    node --test "$HERE/test/"
}

case "${1:-all}" in
tools) tools ;;
all)
    tools
    build
    run_tests
    ;;
*)
    echo "usage: $0 [tools|all]" >&2
    exit 2
    ;;
esac
