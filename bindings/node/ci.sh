#!/usr/bin/env bash
# Builds the Node binding with the napi CLI and runs its checks: tsc --strict over a typed
# usage file (the hand-written recsys.d.ts and the generated index.d.ts) and over every
# conformance-corpus request and answer typed with recsys.d.ts (../corpus_types.py), then
# node's test runner (etag vectors, error classes, async variants, conformance corpus).
#
# Runs from any directory (CI calls `bash bindings/node/ci.sh` from the repo root) on a
# fresh machine: everything comes from the npm registry and crates.io. Environment:
#   CARGO_TARGET_DIR  honoured by the napi CLI (it builds --target x86_64-unknown-linux-gnu)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$HERE"
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

# Not `npm ci`: some per-platform optional packages of the napi CLI's dependencies are
# missing from the registry as reached here, so they are absent from the lockfile and
# `npm ci` refuses it. `npm install --no-save` installs exactly the locked versions.
t0=$SECONDS
npm install --no-save --no-audit --no-fund
echo "node: npm install in $((SECONDS - t0))s"

t0=$SECONDS
npx --no -- napi build --platform --release
echo "node: build in $((SECONDS - t0))s"

t0=$SECONDS
npx --no -- tsc --noEmit --strict --target es2020 --module commonjs typecheck/usage.ts
# The declared request/answer types against the core's real answers: every conformance-corpus
# request and answer as a typed literal (tsc --strict rejects unknown, missing and retyped
# members); and the check must fail on a drifted copy, so it is known to bite.
TYPED=${CACHE:-$HERE/../../target/ci}/typecheck
mkdir -p "$TYPED"
python3 ../corpus_types.py ts "$HERE/recsys" >"$TYPED/corpus.ts"
python3 ../corpus_types.py ts "$HERE/recsys" --drift >"$TYPED/drift.ts"
TSC=(npx --no -- tsc --noEmit --strict --target es2020 --module commonjs)
"${TSC[@]}" "$TYPED/corpus.ts"
if "${TSC[@]}" "$TYPED/drift.ts" >"$TYPED/drift.log" 2>&1 || ! grep -q drift_member "$TYPED/drift.log"; then
    echo "node: the corpus type check did not catch a drifted answer" >&2
    exit 1
fi
echo "node: tsc in $((SECONDS - t0))s"

# The Node guides' code blocks, run as written.
python3 ../../.ci/snippets.py --only js,sh bindings/node/README.md docs/bindings/node.md

# Last, so the test runner's summary is the closing output.
node --test test/
