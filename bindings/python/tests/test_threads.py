"""One engine shared by many threads; the GIL is released during core calls."""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, List

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


_BP_DOCS = (
    '{"tenant":"demo","surface":"home","signals":{"popularity":'
    '[{"item_id":"a","score":3},{"item_id":"b","score":2}]}}'
)
_BP_REQUEST = {"surface": "home", "k": 2, "user": {"user_id": "u"}}
_BP_CTX = {"now": "2026-01-01T00:00:00Z", "tenant": "demo"}


class _HoldFirstSuccess:
    """A metrics adapter that holds the first successful request's admission slot (the
    engine keeps it until the answer is recorded) until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.held = False

    def counter(self, name: str, labels: Dict[str, str], delta: int) -> None:
        if name != "recsys_recommendation_requests_total" or labels.get("outcome") != "success":
            return
        with self.lock:
            if self.held:
                return
            self.held = True
        self.entered.set()
        assert self.release.wait(10)

    def histogram(self, name: str, labels: Dict[str, str], value: float) -> None:
        pass

    def gauge(self, name: str, labels: Dict[str, str], value: float) -> None:
        pass


def test_backpressure_option_answers_a_full_gate_with_overloaded() -> None:
    hold = _HoldFirstSuccess()
    options = {"metrics": True, "backpressure": {"max_in_flight": 1, "max_queue": 0, "queue_timeout_ms": 0, "retry_after_ms": 1500}}
    engine = Engine(options, metrics=hold)
    engine.load_snapshot(_BP_DOCS)
    with ThreadPoolExecutor(max_workers=5) as pool:
        first = pool.submit(engine.recommend, _BP_REQUEST, _BP_CTX)
        assert hold.entered.wait(10)
        # Four concurrent callers while the only slot is held: all refused at once.
        errors: List[BaseException] = []
        for f in [pool.submit(engine.recommend, _BP_REQUEST, _BP_CTX) for _ in range(4)]:
            e = f.exception(timeout=10)
            assert e is not None
            errors.append(e)
        hold.release.set()
        assert [i["item_id"] for i in first.result(timeout=10)["items"]] == ["a", "b"]
    for e in errors:
        assert isinstance(e, recsys_core.OverloadedError)
        assert (e.code, e.status, e.message) == ("RECSYS_OVERLOADED", 503, "service overloaded")
        assert e.details["retry_after"] == 1
    assert "recsys_backpressure_rejections_total 4" in engine.metrics_text()
    engine.recommend(_BP_REQUEST, _BP_CTX)  # the slot is free again


def test_backpressure_option_is_validated() -> None:
    for bad, needle in [
        ({"backpressure": {"max_inflight": 1}}, "max_inflight"),
        ({"backpressure": {"max_in_flight": -1}}, "non-negative integer"),
        ({"backpressure": []}, "json object"),
    ]:
        try:
            Engine(bad)
        except recsys_core.RecsysError as e:
            assert e.code == "RECSYS_INVALID_OPTIONS" and needle in e.message, e.message
        else:
            raise AssertionError(f"{bad} accepted")
    Engine({"backpressure": {"max_in_flight": 0}})  # 0 = off
