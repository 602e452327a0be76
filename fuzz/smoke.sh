#!/usr/bin/env bash
# Short libFuzzer run of every fuzz target (or of the targets named as arguments).
#
#   FUZZ_SECONDS=10 fuzz/smoke.sh                # every target, 10 s each
#   FUZZ_SECONDS=60 fuzz/smoke.sh rules artifact # some targets
#
# Inputs go up to 1 MiB (-max_len) and each must finish within FUZZ_TIMEOUT seconds (default
# 1, -timeout): a quadratic path on a large input shows up as a timeout, which fails the run.
# RSS is capped (-rss_limit_mb, default 2048) so memory blow-ups fail too.
#
# Environment: FUZZ_SECONDS (default 10) per target; CACHE (default target/ci in the repository) holds
# the build directory ($CACHE/fuzz-target) and, if installed there, cargo-fuzz ($CACHE/tools/bin).
# New coverage is written to fuzz/corpus/<target>/ (created when missing); seeds are read from
# fuzz/seeds/<target>/. Exits 0 with a message, without running, when the nightly toolchain
# or cargo-fuzz is unavailable; exits non-zero when a target crashes or fails to build.
set -euo pipefail

FUZZ_SECONDS="${FUZZ_SECONDS:-10}"
FUZZ_TIMEOUT="${FUZZ_TIMEOUT:-1}"
FUZZ_MAX_LEN="${FUZZ_MAX_LEN:-1048576}"
FUZZ_RSS_MB="${FUZZ_RSS_MB:-2048}"
CACHE="${CACHE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target/ci}"
ALL_TARGETS=(canonical_json config rules manifest artifact recommend differential)

cd "$(dirname "${BASH_SOURCE[0]}")"

if [[ -d "$CACHE/tools/bin" ]]; then
    PATH="$CACHE/tools/bin:$PATH"
fi
if ! RUSTUP_AUTO_INSTALL=0 cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz smoke: SKIPPED: the nightly toolchain is not installed (rustup toolchain install nightly --profile minimal)"
    exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz smoke: SKIPPED: cargo-fuzz is not installed (see ../shared/toolchain.md section 4, beside the repository)"
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
        -max_total_time="$FUZZ_SECONDS" -max_len="$FUZZ_MAX_LEN" -timeout="$FUZZ_TIMEOUT" \
        -rss_limit_mb="$FUZZ_RSS_MB" "${dict[@]}"
done
echo "fuzz smoke: OK (${targets[*]})"
