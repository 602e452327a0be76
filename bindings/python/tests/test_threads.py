"""One engine shared by many threads; the GIL is released during core calls."""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List

import recsys_core
from recsys_core import Engine


def _big_document(n: int) -> str:
    # Numbers with fractions and exponents keep the canonicaliser busy.
    return "[" + ",".join(f'{{"id":"item_{i}","w":{i}.50e-1}}' for i in range(n)) + "]"


def test_eight_threads_share_one_engine() -> None:
    engine = Engine()
    docs = [_big_document(200 + 37 * k) for k in range(8)]
    expected = [recsys_core.call_static("etag", d) for d in docs]

    def work(k: int) -> bool:
        for _ in range(25):
            if engine.call("etag", docs[k]) != expected[k]:
                return False
            if engine.call_dict("canonicalize", docs[k])["etag"] != recsys_core.etag(docs[k]):
                return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(work, range(8)))


def _python_progresses_during(core_call: Callable[[], object]) -> bool:
    """True when pure-Python code on another thread ran while `core_call` was inside the core.

    The switch interval is raised so far that the interpreter never takes the GIL away from
    a running thread: the main thread can only run while the worker sits in a call that
    released the GIL. The worker reads the main thread's counter right before and right
    after its call; without a release both reads see the same value. No timing is measured.
    """
    counter = [0]
    seen: List[int] = []
    ready = threading.Event()

    def worker() -> None:
        before = counter[0]
        ready.set()
        core_call()
        seen.append(counter[0] - before)

    old = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    try:
        t = threading.Thread(target=worker)
        t.start()
        ready.wait()
        for _ in range(20_000):
            counter[0] += 1
        t.join()
    finally:
        sys.setswitchinterval(old)
    return seen[0] > 0


def test_gil_is_released_around_core_calls() -> None:
    engine = Engine()
    doc = _big_document(25_000)  # under the 1 MiB document limit
    calls: List[Callable[[], object]] = [
        lambda: engine.call("etag", doc),
        lambda: recsys_core.etag(doc),
        lambda: recsys_core.canonicalize(doc.encode()),
        lambda: recsys_core.call_static("canonicalize", doc),
    ]
    for call in calls:
        # A call could in principle return before the main thread was scheduled at all;
        # a few attempts make that vanishingly unlikely, while a held GIL fails every time.
        assert any(_python_progresses_during(call) for _ in range(5))
