#!/usr/bin/env python3
"""Summarise criterion results for docs/performance.md.

Usage: python3 benches/scripts/summary.py [TARGET_DIR] [BENCH_LOG...]

Reads TARGET_DIR/criterion/**/new/{benchmark,estimates}.json (default TARGET_DIR: target)
and prints one markdown row per benchmark: id, median, 95% confidence interval of the
median, throughput at the median (when the bench declares one), and the 1-minute load
average logged when its group started (from the `[load]` lines of the bench logs, if
given: `cargo bench -p recsys-benches 2>&1 | tee bench.log`).
"""

import json
import os
import sys


def fmt_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def fmt_rate(tp, ns):
    if not tp:
        return ""
    if "Bytes" in tp:
        return f"{tp['Bytes'] / (ns / 1e9) / 1e6:.0f} MB/s"
    if "Elements" in tp:
        return f"{tp['Elements'] / (ns / 1e9):,.0f} /s"
    return ""


def loads(logs):
    """[load] PREFIX: loadavg A B C -> list of (prefix, A)."""
    out = []
    for path in logs:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("[load] "):
                    head, _, tail = line[7:].partition(": loadavg ")
                    out.append((head.strip(), tail.split()[0] if tail else "?"))
    return out


def load_for(full_id, table):
    best = None
    for prefix, value in table:
        if full_id.startswith(prefix) and (best is None or len(prefix) >= len(best[0])):
            best = (prefix, value)
    return best[1] if best else ""


def main():
    target = sys.argv[1] if len(sys.argv) > 1 else "target"
    table = loads(sys.argv[2:])
    rows = []
    for root, _dirs, files in os.walk(os.path.join(target, "criterion")):
        if os.path.basename(root) != "new" or "estimates.json" not in files:
            continue
        with open(os.path.join(root, "benchmark.json"), encoding="utf-8") as f:
            bench = json.load(f)
        with open(os.path.join(root, "estimates.json"), encoding="utf-8") as f:
            est = json.load(f)
        med = est["median"]
        ns = med["point_estimate"]
        ci = med["confidence_interval"]
        rows.append(
            (
                bench["full_id"],
                fmt_time(ns),
                f"{fmt_time(ci['lower_bound'])} – {fmt_time(ci['upper_bound'])}",
                fmt_rate(bench.get("throughput"), ns),
                load_for(bench["full_id"], table),
            )
        )
    rows.sort()
    print("| benchmark | median | 95% CI of median | throughput | load (1 min) |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
