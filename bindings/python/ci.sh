#!/usr/bin/env bash
# Builds the Python binding into a venv and runs its checks: mypy --strict over the package,
# a typed usage file and every conformance-corpus request and answer typed with the package's
# TypedDicts (../corpus_types.py), then pytest (etag vectors, errors, threads/GIL,
# conformance corpus).
#
# Runs from any directory (CI calls `bash bindings/python/ci.sh` from the repo root) on a
# fresh machine: everything comes from PyPI and crates.io. Environment:
#   CACHE             tool cache under the ignored target/ directory (default target/ci in the repository)
#   CARGO_TARGET_DIR  honoured as usual by cargo/maturin when set
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${CACHE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/target/ci}
UV_VERSION=0.13.9
MATURIN_VERSION=1.16.0
PYTEST_VERSION=9.2.0
MYPY_VERSION=2.4.1

mkdir -p "$CACHE"
export PATH="$CACHE/uv/bin:$PATH"
export UV_CACHE_DIR=${UV_CACHE_DIR:-$CACHE/uv-cache}
export UV_PYTHON_DOWNLOADS=never # use the machine's python3, never fetch an interpreter
export PYTHONPYCACHEPREFIX=${PYTHONPYCACHEPREFIX:-$CACHE/pycache}

t0=$SECONDS
if ! { command -v uv >/dev/null && uv --version | grep -qF "uv $UV_VERSION"; }; then
    python3 -m pip install -q --disable-pip-version-check --target "$CACHE/uv" "uv==$UV_VERSION"
fi

VENV=$HERE/.venv
uv venv -q --allow-existing --python "$(python3 -c 'import sys; print(sys.executable)')" "$VENV"
export VIRTUAL_ENV=$VENV
export PATH="$VENV/bin:$PATH"
uv pip install -q "maturin==$MATURIN_VERSION" "pytest==$PYTEST_VERSION" "mypy==$MYPY_VERSION"
echo "python: tools ready in $((SECONDS - t0))s"

t0=$SECONDS
(cd "$HERE" && maturin develop --release --uv --locked)
echo "python: build in $((SECONDS - t0))s"

t0=$SECONDS
(cd "$HERE" && mypy --strict --cache-dir "$CACHE/mypy-cache" python/recsys_core tests/typing_usage.py)
# The TypedDicts of requests and answers against the core's real answers: every
# conformance-corpus request and answer as a typed literal (mypy rejects unknown, missing and
# retyped members); and the check must fail on a drifted copy, so it is known to bite.
TYPED=$CACHE/typecheck
mkdir -p "$TYPED"
python3 "$HERE/../corpus_types.py" py >"$TYPED/corpus_typed.py"
python3 "$HERE/../corpus_types.py" py --drift >"$TYPED/corpus_drift.py"
(cd "$HERE" && mypy --strict --cache-dir "$CACHE/mypy-cache" "$TYPED/corpus_typed.py")
if (cd "$HERE" && mypy --strict --cache-dir "$CACHE/mypy-cache" "$TYPED/corpus_drift.py") >"$TYPED/drift.log" 2>&1 ||
    ! grep -q drift_member "$TYPED/drift.log"; then
    echo "python: the corpus type check did not catch a drifted answer" >&2
    exit 1
fi
echo "python: mypy in $((SECONDS - t0))s"

# Last, so pytest's summary is the closing line.
# Every code block of the Python guides, run as written; and every block of every guide is
# run by some CI script (.ci/snippets.py --coverage).
t0=$SECONDS
python3 "$HERE/../../.ci/snippets.py" --coverage
PYTHON="$VENV/bin/python" python3 "$HERE/../../.ci/snippets.py" --only python,sh \
    bindings/python/README.md docs/bindings/python.md
echo "python: snippets in $((SECONDS - t0))s"

(cd "$HERE" && python -m pytest -q -p no:cacheprovider tests)
