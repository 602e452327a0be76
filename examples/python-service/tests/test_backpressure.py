"""Backpressure: with the engine's admission gate configured, a saturated moment is answered
with 503 RECSYS_OVERLOADED and Retry-After (never an unbounded queue), and concurrent
clients only ever see 200 or that 503."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List

import pytest
from fastapi.testclient import TestClient

from conftest import Clock, Spec, auth, settings
from recsys_service.app import Settings, backpressure_from_env, create_app, duration_ms
from test_service import REQUEST, problem_of


class HoldFirstSuccess:
    """A metrics adapter that holds the first successful recommendation's admission slot
    (the engine keeps the slot until the answer is recorded) until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.held = False
        self.lock = threading.Lock()

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


def gated(dsn: str, **gate: Any) -> Settings:
    s = settings(dsn)
    s.engine_options = {"metrics": True, "backpressure": gate}
    return s


def test_a_saturated_moment_is_503_with_retry_after(clean_db: str, spec: Spec) -> None:
    hold = HoldFirstSuccess()
    s = gated(clean_db, max_in_flight=1, max_queue=0, queue_timeout_ms=0, retry_after_ms=2000)
    s.engine_adapters = {"metrics": hold}
    with TestClient(create_app(s, clock=Clock())) as c:
        with ThreadPoolExecutor(max_workers=9) as pool:
            first = pool.submit(c.post, "/v1/recommend", content=REQUEST, headers=auth())
            assert hold.entered.wait(10)
            # Eight concurrent clients while the only slot is held: all refused at once.
            others = [pool.submit(c.post, "/v1/recommend", content=REQUEST, headers=auth()) for _ in range(8)]
            refused = [f.result(timeout=10) for f in others]
            hold.release.set()
            assert first.result(timeout=10).status_code == 200
        for r in refused:
            body = problem_of(spec.check(r), 503, "RECSYS_OVERLOADED")
            assert body["detail"] == "service overloaded" and r.headers["Retry-After"] == "2"
        similar = c.post("/v1/similar", json={"surface": "home", "item_id": "sku-running-shoe"}, headers=auth())
        assert similar.status_code == 200  # the slot is free again
        metrics = c.get("/metrics").text
        assert "recsys_backpressure_rejections_total 8" in metrics
        c.app.state.store.close()  # type: ignore[attr-defined]


def test_concurrent_clients_see_only_200_or_503(clean_db: str) -> None:
    s = gated(clean_db, max_in_flight=2, max_queue=2, queue_timeout_ms=5, retry_after_ms=1000)
    with TestClient(create_app(s, clock=Clock())) as c:
        statuses: List[int] = []
        lock = threading.Lock()

        def client(n: int) -> None:
            for _ in range(15):
                r = c.post("/v1/recommend", content=REQUEST, headers=auth())
                assert r.status_code in (200, 503), r.text
                if r.status_code == 503:
                    assert r.headers["Retry-After"] == "1" and r.json()["code"] == "RECSYS_OVERLOADED"
                with lock:
                    statuses.append(r.status_code)

        with ThreadPoolExecutor(max_workers=12) as pool:
            list(pool.map(client, range(12)))
        assert len(statuses) == 180 and statuses.count(200) > 0
        scraped = c.get("/metrics").text
        rejected = statuses.count(503)
        assert f"recsys_backpressure_rejections_total {rejected}" in scraped or rejected == 0
        c.app.state.store.close()  # type: ignore[attr-defined]


def test_backpressure_settings_from_the_environment() -> None:
    assert backpressure_from_env({}) is None
    assert backpressure_from_env({"RECSYS_BACKPRESSURE_MAX_INFLIGHT": "0"}) is None
    # The queue is bounded by default (the reference's default is unbounded waiters).
    assert backpressure_from_env({"RECSYS_BACKPRESSURE_MAX_INFLIGHT": "8"}) == {
        "max_in_flight": 8, "max_queue": 8, "queue_timeout_ms": 200, "retry_after_ms": 1000}
    env = {"RECSYS_BACKPRESSURE_MAX_INFLIGHT": "4", "RECSYS_BACKPRESSURE_MAX_QUEUE": "16",
           "RECSYS_BACKPRESSURE_WAIT_TIMEOUT": "50ms", "RECSYS_BACKPRESSURE_RETRY_AFTER": "3s"}
    assert backpressure_from_env(env) == {"max_in_flight": 4, "max_queue": 16, "queue_timeout_ms": 50, "retry_after_ms": 3000}
    assert duration_ms("2m", "x") == 120_000
    with pytest.raises(ValueError, match="must be a duration"):
        duration_ms("soon", "RECSYS_BACKPRESSURE_WAIT_TIMEOUT")
