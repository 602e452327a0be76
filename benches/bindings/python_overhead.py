#!/usr/bin/env python3
"""Binding overhead, Python: a small recommend (examples/data snapshot, k=10) through
``Engine.call``, ``Engine.recommend_json`` (text in and out) and ``Engine.recommend`` (dicts in
and out), timed call by call. Run with the binding's venv (bindings/python/.venv):

    python benches/bindings/python_overhead.py DOCUMENTS_JSON [ANSWER_OUT]
"""
import json
import os
import sys
import time

import recsys_core

REQUEST = '{"surface":"home","k":10,"user":{"user_id":"u_fitness"},"anchors":{"item_ids":["sku-running-shoe"]}}'
CTX = '{"now":"2026-01-02T00:00:00Z","request_id":"bench","tenant":"demo"}'
WARMUP = int(os.environ.get("BENCH_WARMUP", "2000"))
CALLS = int(os.environ.get("BENCH_CALLS", "20000"))


def measure(label, f):
    for _ in range(WARMUP):
        f()
    ns = [0] * CALLS
    clock = time.perf_counter_ns
    for i in range(CALLS):
        t = clock()
        f()
        ns[i] = clock() - t
    ns.sort()
    at = lambda q: ns[round((CALLS - 1) * q)] / 1000.0  # noqa: E731
    print(f"{label}: median {at(0.5):.2f} us, p99 {at(0.99):.2f} us (n={CALLS})")


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        documents = f.read()
    engine = recsys_core.Engine()
    engine.call("load_snapshot", documents)
    envelope = '{"request":' + REQUEST + ',"ctx":' + CTX + "}"
    answer = engine.call("recommend", envelope)
    print(f"python: answer {len(answer.encode())} bytes")
    if len(sys.argv) > 2:  # the answer text, for run.sh's byte-for-byte comparison
        with open(sys.argv[2], "w", encoding="utf-8") as f:
            f.write(answer)

    measure("python Engine.call", lambda: engine.call("recommend", envelope))
    measure("python Engine.recommend_json", lambda: engine.recommend_json(REQUEST, CTX))
    request, ctx = json.loads(REQUEST), json.loads(CTX)
    measure("python Engine.recommend (dicts)", lambda: engine.recommend(request, ctx))


main()
