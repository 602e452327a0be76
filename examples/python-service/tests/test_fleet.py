"""A fleet on one real PostgreSQL: 4 service processes (plain uvicorn), changes sent
through random processes, each served by all 4 within a second (p50/p99 printed);
concurrent If-Match writers through different processes with exactly one winner;
PostgreSQL restarted mid-run; a process killed mid-run converging on restart.

The processes get their own throw-away PostgreSQL (this test restarts it)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import httpx
import psycopg
import pytest

import recsys_core
from recsys_service.app import hash_api_key
from recsys_service.pgtemp import TempPostgres

HERE = Path(__file__).resolve().parents[1]
DATA = HERE.parents[1] / "examples" / "data"
SECRET = "fleet-secret"
HEADERS = {"X-API-Key": "fleet-admin-key"}
PROCESSES = 4
BASE_PORT = 18471
BUDGET = 1.0  # seconds for every process to serve a change


class Fleet:
    def __init__(self, dsn: str) -> None:
        keys = [{"id": "admin", "hash": hash_api_key(SECRET, "fleet-admin-key"), "tenant": "demo", "roles": ["admin"]}]
        self.env = dict(
            os.environ,
            RECSYS_PG_DSN=dsn,
            RECSYS_API_KEY_SECRET=SECRET,
            RECSYS_API_KEYS=json.dumps(keys),
            RECSYS_RECONCILE_SECONDS="2",
            RECSYS_FEED_DOWN_SECONDS="10",
        )
        self.procs: Dict[int, subprocess.Popen[bytes]] = {}
        self.client = httpx.Client(timeout=5.0)
        # One keep-alive client per process for polling (creating a client costs ms).
        self.pollers = [httpx.Client(timeout=5.0) for _ in range(PROCESSES)]
        self.pool = ThreadPoolExecutor(PROCESSES)

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{BASE_PORT + i}"

    def start(self, i: int) -> None:
        cmd = [sys.executable, "-m", "uvicorn", "--factory", "recsys_service.app:app_from_env",
               "--host", "127.0.0.1", "--port", str(BASE_PORT + i), "--log-level", "warning"]
        self.procs[i] = subprocess.Popen(cmd, cwd=HERE, env=self.env)

    def wait_ready(self, i: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.procs[i].poll() is not None:
                raise AssertionError(f"process {i} exited with {self.procs[i].returncode}")
            try:
                if self.client.get(self.url(i) + "/readyz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"process {i} not ready in {timeout}s")

    def kill(self, i: int) -> None:
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait()

    def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        self.client.close()
        for c in self.pollers:
            c.close()
        self.pool.shutdown()

    def standing(self, i: int, client: Optional[httpx.Client] = None) -> Dict[str, Any]:
        body: Dict[str, Any] = (client or self.client).get(self.url(i) + "/health/detailed").json()
        return body

    def serving(self, i: int, client: Optional[httpx.Client] = None) -> Dict[str, Any]:
        s = self.standing(i, client)
        t = next(t for t in s["tenants"] if t["tenant"] == "demo")
        home = next(x for x in t["surfaces"] if x["surface"] == "home")
        return {**home, "revision": t["revision"]}

    def converge(self, want: Callable[[Dict[str, Any]], bool], who: Optional[List[int]] = None, budget: float = BUDGET) -> float:
        """Polls every process until `want(serving)` holds; returns the slowest one's time."""
        t0 = time.monotonic()

        def one(i: int) -> float:
            c = self.pollers[i]
            while True:
                if want(self.serving(i, c)):
                    return time.monotonic() - t0
                if time.monotonic() - t0 > budget:
                    raise AssertionError(f"process {i} does not serve the change after {budget}s: {self.standing(i, c)}")
                time.sleep(0.005)

        targets = who if who is not None else list(self.procs)
        return max(self.pool.map(one, targets))

    def call(self, method: str, i: int, path: str, **kw: Any) -> httpx.Response:
        return self.client.request(method, self.url(i) + path, headers={**HEADERS, **kw.pop("headers", {})}, **kw)


@pytest.fixture(scope="module")
def pg() -> Iterator[TempPostgres]:
    server = TempPostgres(port=54341)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def fleet(pg: TempPostgres) -> Iterator[Fleet]:
    dsn = f"host={pg.dir} port={pg.port} user=postgres dbname=postgres"
    f = Fleet(dsn)
    try:
        f.start(0)
        f.wait_ready(0)  # migrates and seeds; the others start on a ready database
        for i in range(1, PROCESSES):
            f.start(i)
        for i in range(1, PROCESSES):
            f.wait_ready(i)
        yield f
    finally:
        f.stop()


def store_revision(pg: TempPostgres) -> int:
    with psycopg.connect(f"host={pg.dir} port={pg.port} user=postgres dbname=postgres") as conn:
        row = conn.execute("SELECT coalesce(max(id), 0) FROM audit_log WHERE tenant_id = 'demo'").fetchone()
    return int(row[0]) if row else 0


def percentile(xs: List[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def test_every_change_through_any_process_is_served_by_all_within_a_second(fleet: Fleet, pg: TempPostgres) -> None:
    rng = random.Random(14)
    manifest = (DATA / "manifest.json").read_text()
    plan = [k for k in ("config", "rules", "rollback", "pin", "invalidate") for _ in range(20)]
    rng.shuffle(plan)
    latencies: Dict[str, List[float]] = {k: [] for k in ("config", "rules", "rollback", "pin", "invalidate")}
    for n, kind in enumerate(plan):
        i = rng.randrange(PROCESSES)
        if kind == "config":
            r = fleet.call("PUT", i, "/v1/admin/tenants/demo/config", content=json.dumps({"weights": {"pop": 0.5 + n / 1000}}))
            want_key, want = "config_version", r.json()["config_version"]
        elif kind == "rules":
            r = fleet.call("PUT", i, "/v1/admin/tenants/demo/rules", content=json.dumps([{"action": "block", "item_ids": [f"x{n}"]}]))
            want_key, want = "rules_version", r.json()["rules_version"]
        elif kind == "rollback":
            r = fleet.call("POST", i, "/v1/admin/tenants/demo/config/rollback", json={})
            want_key, want = "config_version", r.json()["config_version"]
        elif kind == "pin":
            text = manifest.replace("2026-11-22T23:28:39Z", f"2026-11-22T23:{n % 60:02d}:{(n * 7) % 60:02d}Z")
            r = fleet.call("POST", i, "/v1/admin/tenants/demo/artifacts/pin", json={"surface": "home", "manifest": text})
            want_key, want = "manifest_version", recsys_core.etag(text)
        else:
            r = fleet.call("POST", i, "/v1/admin/tenants/demo/cache/invalidate", json={"targets": ["popularity"]})
            want_key, want = "revision", store_revision(pg)
        assert r.status_code == 200, (kind, r.text)
        if want_key == "revision":
            latencies[kind].append(fleet.converge(lambda s: s["revision"] >= want))
        else:
            latencies[kind].append(fleet.converge(lambda s: s[want_key] == want))
    every = [x for xs in latencies.values() for x in xs]
    summary = {k: f"p50 {percentile(v, 50) * 1000:.1f} ms, p99 {percentile(v, 99) * 1000:.1f} ms" for k, v in latencies.items()}
    print(f"\nfleet propagation (write answered -> served by all {PROCESSES} processes), {len(every)} changes:")
    for k, v in summary.items():
        print(f"  {k:10s} {v}")
    print(f"  all        p50 {percentile(every, 50) * 1000:.1f} ms, p99 {percentile(every, 99) * 1000:.1f} ms")
    assert max(every) <= BUDGET


def test_concurrent_if_match_writers_through_different_processes_have_one_winner(fleet: Fleet) -> None:
    current = fleet.call("GET", 0, "/v1/admin/tenants/demo/config").headers["ETag"]
    barrier = threading.Barrier(PROCESSES)

    def write(i: int) -> httpx.Response:
        with httpx.Client(timeout=10.0) as c:
            barrier.wait()
            return c.put(fleet.url(i) + "/v1/admin/tenants/demo/config",
                         content=json.dumps({"weights": {"pop": 0.9, "writer": i}}),
                         headers={**HEADERS, "If-Match": current})

    with ThreadPoolExecutor(PROCESSES) as pool:
        answers = list(pool.map(write, range(PROCESSES)))
    winners = [a for a in answers if a.status_code == 200]
    assert len(winners) == 1, [a.status_code for a in answers]
    assert all(a.status_code == 409 and a.json()["code"] == "RECSYS_VERSION_MISMATCH" for a in answers if a not in winners)
    won = winners[0].json()["config_version"]
    fleet.converge(lambda s: s["config_version"] == won)


def test_postgres_restart_mid_run_every_process_reconnects_and_converges(fleet: Fleet, pg: TempPostgres) -> None:
    before = {i: fleet.standing(i)["feed"]["disconnects"] for i in fleet.procs}
    pg.restart(down_seconds=0.5)
    # Every process notices, reconnects with backoff and reconciles before counting as connected.
    deadline = time.monotonic() + 20
    for i in fleet.procs:
        while True:
            feed = fleet.standing(i)["feed"]
            if feed["connected"] and feed["disconnects"] > before[i]:
                break
            assert time.monotonic() < deadline, f"process {i} did not reconnect: {feed}"
            time.sleep(0.05)
    for attempt in range(50):  # the first write after a restart may meet a dropped connection
        r = fleet.call("PUT", 2, "/v1/admin/tenants/demo/config", content=json.dumps({"weights": {"pop": 0.42}}))
        if r.status_code == 200:
            break
        time.sleep(0.1)
    assert r.status_code == 200, r.text
    want = r.json()["config_version"]
    fleet.converge(lambda s: s["config_version"] == want)
    for i in fleet.procs:
        assert fleet.client.get(fleet.url(i) + "/readyz").status_code == 200


def test_a_process_killed_mid_run_converges_when_it_restarts(fleet: Fleet) -> None:
    fleet.kill(3)
    r = fleet.call("PUT", 1, "/v1/admin/tenants/demo/rules", content=json.dumps([{"action": "block", "item_ids": ["killed"]}]))
    assert r.status_code == 200
    want = r.json()["rules_version"]
    text = (DATA / "manifest.json").read_text().replace("2026-11-22T23:28:39Z", "2026-11-01T00:00:00Z")
    assert fleet.call("POST", 0, "/v1/admin/tenants/demo/artifacts/pin", json={"surface": "home", "manifest": text}).status_code == 200
    fleet.converge(lambda s: s["rules_version"] == want, who=[0, 1, 2])
    fleet.start(3)
    fleet.wait_ready(3)
    s = fleet.serving(3)
    assert s["rules_version"] == want and s["manifest_version"] == recsys_core.etag(text) and s["pinned"] is True


def test_gunicorn_with_several_uvicorn_workers_every_worker_serves_a_change(fleet: Fleet) -> None:
    """The reference's runtime model: gunicorn, several uvicorn workers, one port. Each
    worker holds its own engine and listener; a change through another process reaches all."""
    port = BASE_PORT + 10
    cmd = [sys.executable, "-m", "gunicorn", "--workers", "2", "--worker-class", "uvicorn.workers.UvicornWorker",
           "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "recsys_service.app:app_from_env()"]
    proc = subprocess.Popen(cmd, cwd=HERE, env=fleet.env)
    url = f"http://127.0.0.1:{port}/health/detailed"
    try:
        def ready_pids(want: Callable[[Dict[str, Any]], bool], timeout: float) -> set[int]:
            pids: set[int] = set()
            deadline = time.monotonic() + timeout
            while len(pids) < 2:
                assert proc.poll() is None, "gunicorn exited"
                assert time.monotonic() < deadline, f"workers serving it: {pids}"
                try:
                    # A new connection each time, so the kernel hands requests to both workers.
                    with httpx.Client(timeout=5.0) as c:
                        body = c.get(url, headers={"Connection": "close"}).json()
                except httpx.HTTPError:
                    time.sleep(0.05)
                    continue
                t = next(t for t in body["tenants"] if t["tenant"] == "demo")
                home = next(x for x in t["surfaces"] if x["surface"] == "home")
                if body["status"] == "ready" and want(home):
                    pids.add(body["pid"])
            return pids

        ready_pids(lambda h: True, 60)
        r = fleet.call("PUT", 0, "/v1/admin/tenants/demo/config", content=json.dumps({"weights": {"pop": 0.31}}))
        want = r.json()["config_version"]
        assert len(ready_pids(lambda h: h["config_version"] == want, 10)) == 2
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_late_duplicated_and_garbled_notifications_never_move_serving_backwards(fleet: Fleet, pg: TempPostgres) -> None:
    r = fleet.call("PUT", 0, "/v1/admin/tenants/demo/config", content=json.dumps({"weights": {"pop": 0.55}}))
    want = r.json()["config_version"]
    fleet.converge(lambda s: s["config_version"] == want)
    heard = {i: fleet.standing(i)["feed"]["notifications"] for i in fleet.procs}
    errors = {i: fleet.standing(i)["feed"]["sync_errors"] for i in fleet.procs}
    with psycopg.connect(f"host={pg.dir} port={pg.port} user=postgres dbname=postgres", autocommit=True) as conn:
        for payload in (
            {"tenant": "demo", "kind": "config", "revision": 1},  # late: the first change
            {"tenant": "demo", "kind": "config", "revision": store_revision(pg)},  # a duplicate
            {"tenant": "demo", "kind": "rules", "revision": 2},
        ):
            conn.execute("SELECT pg_notify('recsys_changes', %s)", (json.dumps(payload),))
        conn.execute("SELECT pg_notify('recsys_changes', 'not json')")
    deadline = time.monotonic() + 5
    for i in fleet.procs:
        while fleet.standing(i)["feed"]["notifications"] < heard[i] + 4:
            assert time.monotonic() < deadline, fleet.standing(i)["feed"]
            time.sleep(0.01)
        assert fleet.serving(i)["config_version"] == want
        assert fleet.standing(i)["feed"]["sync_errors"] == errors[i]
