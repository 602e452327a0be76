#!/usr/bin/env bash
# Rebuilds the committed corpus of one target: fuzz/corpus/<target>/ becomes the (at most) N
# inputs that cover the most libFuzzer features, picked greedily (most new features first,
# smaller file on ties) from the given directories plus the current corpus.
#
#   fuzz/select-corpus.sh <target> [dir...]     # N from CORPUS_MAX (default 50)
#
# Uses libFuzzer's merge control file for per-input features; needs python3 for the greedy
# pick (without it, falls back to the N smallest inputs of the `-merge=1` minimised set).
set -euo pipefail

CACHE="${CACHE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target/ci}"
N="${CORPUS_MAX:-50}"
cd "$(dirname "${BASH_SOURCE[0]}")"
[[ -d "$CACHE/tools/bin" ]] && PATH="$CACHE/tools/bin:$PATH"

t="${1:?usage: select-corpus.sh <target> [dir...]}"
shift
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/pool" "$tmp/merged" "corpus/$t"
# One flat pool (the current corpus included), deduplicated by content.
for d in "corpus/$t" "$@"; do
    [[ -d "$d" ]] || continue
    find "$d" -maxdepth 1 -type f -exec sh -c 'for f; do cp "$f" "$0/$(sha1sum "$f" | cut -c1-40)"; done' "$tmp/pool" {} +
done
cargo +nightly fuzz run "$t" --target-dir "$CACHE/fuzz-target" "$tmp/merged" "$tmp/pool" -- \
    -merge=1 -merge_control_file="$tmp/control" >"$tmp/merge.log" 2>&1 || {
    tail -20 "$tmp/merge.log"
    exit 1
}
rm -f "corpus/$t"/*
if command -v python3 >/dev/null 2>&1; then
    python3 - "$tmp/control" "$N" "corpus/$t" <<'PY'
import os, shutil, sys
control, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = open(control, encoding="utf-8", errors="replace").read().splitlines()
count = int(lines[0])
files = lines[2:2 + count]
features = {}
for line in lines[2 + count:]:
    parts = line.split()
    if parts and parts[0] == "FT":
        features[int(parts[1])] = set(map(int, parts[2:]))
size = {i: os.path.getsize(f) for i, f in enumerate(files) if os.path.exists(f)}
covered, picked = set(), []
while len(picked) < n:
    best = max(
        (i for i in features if i in size and i not in picked),
        key=lambda i: (len(features[i] - covered), -size[i]),
        default=None,
    )
    if best is None or not (features[best] - covered):
        break
    picked.append(best)
    covered |= features[best]
for i in picked:
    shutil.copy(files[i], os.path.join(out, os.path.basename(files[i])))
total = set().union(*features.values()) if features else set()
print(f"{out}: {len(picked)} inputs, {sum(size[i] for i in picked)} bytes, "
      f"{len(covered)}/{len(total)} features of the pool")
PY
else
    ls -S -r "$tmp/merged" | head -n "$N" | while read -r f; do cp "$tmp/merged/$f" "corpus/$t/"; done
    echo "corpus/$t: $(ls "corpus/$t" | wc -l) smallest inputs of the minimised set (no python3)"
fi
