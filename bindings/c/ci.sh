#!/usr/bin/env bash
# Builds the C ABI (librecsys_ffi.so and .a; build.rs regenerates include/recsys.h with
# cbindgen), checks that the committed header is up to date, then compiles
# tests/test.c with gcc -Wall -Wextra -Werror against the shared and the static library and
# runs both (ETag vectors, error paths, a shared engine across threads, the conformance
# corpus, double and wrong-type frees), and once more under valgrind (installed with apt when
# missing).
#
# Environment: CARGO_TARGET_DIR honoured (default <repo>/target).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
LIB=$CARGO_TARGET_DIR/release
OUT=$CARGO_TARGET_DIR/recsys-c-tests
CASES=$ROOT/recsys-core/tests/conformance/cases
mkdir -p "$OUT"

cargo build --locked -p recsys-c --release

# A header that differs from the committed one means the ABI changed without committing the
# regenerated header.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 &&
    git ls-files --error-unmatch bindings/c/include/recsys.h >/dev/null 2>&1; then
    git diff --exit-code -- bindings/c/include/recsys.h ||
        { echo "c: include/recsys.h is stale: commit the header build.rs regenerated" >&2; exit 1; }
fi

CFLAGS=(-std=c11 -O2 -Wall -Wextra -Werror -pthread -I"$HERE/include")
gcc "${CFLAGS[@]}" -o "$OUT/test_shared" "$HERE/tests/test.c" -L"$LIB" -lrecsys_ffi -Wl,-rpath,"$LIB"
gcc "${CFLAGS[@]}" -o "$OUT/test_static" "$HERE/tests/test.c" "$LIB/librecsys_ffi.a" -lpthread -ldl -lm

echo "c: shared library"
"$OUT/test_shared" "$CASES"
# Memory errors and leaks, including the double / wrong-type frees test_handles makes: the
# library must refuse them without reading or freeing anything it does not own.
if ! command -v valgrind >/dev/null; then
    echo "c: installing valgrind (apt)"
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends valgrind
fi
echo "c: shared library under valgrind"
valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=1 "$OUT/test_shared" "$CASES"
echo "c: static library"
"$OUT/test_static" "$CASES"

# The C guides' programs and shell blocks as written, plus the root README's and the Rust
# guide's shell and data blocks (this step already has the release build they reuse).
RECSYS_C_LIB=$LIB python3 .ci/snippets.py --only c,sh,json,toml \
    bindings/c/README.md docs/bindings/c.md README.md docs/bindings/rust.md
