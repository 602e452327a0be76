#!/usr/bin/env bash
# Short libFuzzer run of every fuzz target (or of the targets named as arguments).
#
#   FUZZ_SECONDS=10 fuzz/smoke.sh                # every target, 10 s each
#   FUZZ_SECONDS=60 fuzz/smoke.sh rules artifact # some targets
#
# Environment: FUZZ_SECONDS (default 10) per target; CACHE (default target/ci in the repository) holds
# the build directory ($CACHE/fuzz-target) and, if installed there, cargo-fuzz ($CACHE/tools/bin).
# New coverage is written to fuzz/corpus/<target>/ (created when missing); seeds are read from
# fuzz/seeds/<target>/. Exits 0 with a message, without running, when the nightly toolchain
# or cargo-fuzz is unavailable; exits non-zero when a target crashes or fails to build.
set -euo pipefail

FUZZ_SECONDS="${FUZZ_SECONDS:-10}"
CACHE="${CACHE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target/ci}"
ALL_TARGETS=(canonical_json config rules manifest artifact recommend)

cd "$(dirname "${BASH_SOURCE[0]}")"

if [[ -d "$CACHE/tools/bin" ]]; then
    PATH="$CACHE/tools/bin:$PATH"
fi
if ! RUSTUP_AUTO_INSTALL=0 cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz smoke: SKIPPED: the nightly toolchain is not installed (rustup toolchain install nightly --profile minimal)"
    exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz smoke: SKIPPED: cargo-fuzz is not installed (see /work/shared/toolchain.md section 4)"
    exit 0
fi

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    targets=("${ALL_TARGETS[@]}")
fi

for t in "${targets[@]}"; do
    # New inputs go to a scratch corpus under target/ (libFuzzer writes to its first corpus
    # directory); the committed corpus and the seeds are only read, so a run leaves the tree
    # clean. `select-corpus.sh <t> "$CACHE/fuzz-corpus/<t>"` folds finds back in.
    mkdir -p "$CACHE/fuzz-corpus/$t" "corpus/$t" "seeds/$t"
    dict=()
    if [[ -f "dicts/$t.dict" ]]; then
        dict=("-dict=dicts/$t.dict")
    fi
    echo "fuzz smoke: $t for ${FUZZ_SECONDS}s"
    cargo +nightly fuzz run "$t" --target-dir "$CACHE/fuzz-target" "$CACHE/fuzz-corpus/$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$FUZZ_SECONDS" "${dict[@]}"
done
echo "fuzz smoke: OK (${targets[*]})"
