#!/usr/bin/env bash
# Binding overhead: runs the same small recommend (examples/data snapshot, tenant demo, surface
# home, k=10) through native Rust and every binding, printing median and p99 per call.
#
# Run after the builds exist (this script builds only the native example and the C program):
#   bash bindings/python/ci.sh; bash bindings/node/ci.sh; bash bindings/wasm/ci.sh; bash bindings/c/ci.sh
#   bash benches/bindings/run.sh            # [native|python|node|wasm|c ...] to run a subset
#
# Environment: BENCH_CALLS (default 20000 timed calls), BENCH_WARMUP (default 2000),
# CARGO_TARGET_DIR (default <repo>/target). Run on a quiet machine: `uptime` is logged.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/benches/bindings
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=$CARGO_TARGET_DIR/bench-bindings
mkdir -p "$OUT"
DOCS=$OUT/documents.json
python3 "$HERE/make_documents.py" "$ROOT/examples/data" "$DOCS"

rm -f "$OUT"/answer-*.json
which=("$@")
[ ${#which[@]} -gt 0 ] || which=(native python node wasm c)

for b in "${which[@]}"; do
    echo "== $b ($(uptime | sed 's/.*load/load/'))"
    case $b in
    native)
        cargo build -q --release -p recsys-benches --example binding-overhead-native
        "$CARGO_TARGET_DIR/release/examples/binding-overhead-native" "$DOCS" "$OUT/answer-native.json"
        ;;
    python)
        "$ROOT/bindings/python/.venv/bin/python" "$HERE/python_overhead.py" "$DOCS" "$OUT/answer-python.json"
        ;;
    node)
        node "$HERE/node_overhead.js" "$DOCS" "$OUT/answer-node.json"
        ;;
    wasm)
        node "$HERE/wasm_overhead.js" "$DOCS" "$OUT/answer-wasm.json"
        ;;
    c)
        [ -f "$CARGO_TARGET_DIR/release/librecsys_ffi.so" ] || cargo build -q --locked -p recsys-c --release
        gcc -std=c11 -O2 -Wall -Wextra -Werror -I"$ROOT/bindings/c/include" -o "$OUT/c_overhead" \
            "$HERE/c_overhead.c" -L"$CARGO_TARGET_DIR/release" -lrecsys_ffi -Wl,-rpath,"$CARGO_TARGET_DIR/release"
        "$OUT/c_overhead" "$DOCS" "$OUT/answer-c.json"
        ;;
    *)
        echo "unknown binding $b (native|python|node|wasm|c)" >&2
        exit 2
        ;;
    esac
done

# Every binding's text answer must be the native answer, byte for byte.
if [ ! -f "$OUT/answer-native.json" ]; then
    echo "answers: not compared (run with native)"
    exit 0
fi
status=0
for f in "$OUT"/answer-*.json; do
    cmp -s "$OUT/answer-native.json" "$f" || { echo "DIFFERS from native: $f" >&2; status=1; }
done
[ $status -ne 0 ] || echo "answers: $(ls "$OUT"/answer-*.json | wc -l) files, byte-identical (sha256 $(sha256sum <"$OUT/answer-native.json" | cut -c1-16)...)"
exit $status
