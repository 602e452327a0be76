"""Fleet convergence for one process: a PostgreSQL `LISTEN recsys_changes` listener that
calls the engine's `sync` within milliseconds of a commit, a periodic full reconcile for
lost notifications, and reconnection with backoff that reconciles everything before the
feed counts as connected again.

The engine decides what is current (pointer revisions only move forward), so a late,
duplicated or reordered notification is harmless; this module only decides *when* to ask.
One daemon thread per process (each gunicorn worker starts its own after the fork).
"""

from __future__ import annotations

import atexit
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

import psycopg

import recsys_core

CHANNEL = "recsys_changes"


@dataclass
class FeedState:
    """What `/readyz`, `/health/detailed` and `/metrics` report about the feed."""

    connected: bool = False
    #: monotonic time the feed went down (or the process started without it)
    down_since: Optional[float] = field(default_factory=time.monotonic)
    disconnects: int = 0
    notifications: int = 0
    syncs: int = 0
    sync_errors: int = 0
    last_error: Optional[str] = None
    last_notification_at: Optional[float] = None  # monotonic
    last_full_sync_at: Optional[float] = None  # monotonic
    #: a full reconcile succeeded since the process started
    reconciled: bool = False

    def down_for(self, now: float) -> float:
        return 0.0 if self.connected or self.down_since is None else max(0.0, now - self.down_since)


class FleetSync:
    """Keeps `engine` in line with the store behind `dsn`.

    `clock()` gives RFC 3339 `now` for the engine; `fetch(uri)` reads an artifact a pinned
    manifest needs (the same object store the process loaded from)."""

    def __init__(
        self,
        engine: recsys_core.Engine,
        dsn: str,
        clock: Callable[[], str],
        fetch: Callable[[str], Optional[str]],
        reconcile_seconds: float = 5.0,
        max_backoff_seconds: float = 5.0,
    ) -> None:
        self.engine = engine
        self.dsn = dsn
        self.clock = clock
        self.fetch = fetch
        self.reconcile_seconds = max(0.05, reconcile_seconds)
        self.max_backoff = max(0.05, max_backoff_seconds)
        self.state = FeedState()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._conn: Optional[psycopg.Connection[Any]] = None

    # ---- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="recsys-fleet-sync", daemon=True)
            self._thread.start()
            # A process that exits without running the app's shutdown (no lifespan) must not
            # finalize the interpreter while this thread is inside the engine: stop it first.
            atexit.register(self.stop)

    def stop(self) -> None:
        atexit.unregister(self.stop)
        self._stop.set()
        conn = self._conn
        if conn is not None:
            try:
                conn.close()
            except Exception:  # closing a broken connection may fail; nothing to do
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def snapshot(self) -> FeedState:
        with self._lock:
            return FeedState(**self.state.__dict__)

    # ---- the loop -----------------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.05
        while not self._stop.is_set():
            try:
                self._connect()
                backoff = 0.05
                self._listen()
            except Exception as e:  # any failure: the feed is down until reconnected
                self._down(e)
            if self._stop.is_set():
                break
            # Without the feed, keep reconciling on the timer so serving still converges.
            self._stop.wait(backoff)
            backoff = min(self.max_backoff, backoff * 2)
            self.reconcile()

    def _connect(self) -> None:
        conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=3)
        conn.execute(f"LISTEN {CHANNEL}")
        self._conn = conn
        # Listening first, then reconciling: a change committed in between is either seen by
        # the reconcile or announced to the listener, never lost.
        if not self.reconcile():
            raise ConnectionError("full reconcile after connecting failed")
        with self._lock:
            self.state.connected = True
            self.state.down_since = None

    def _down(self, e: BaseException) -> None:
        with self._lock:
            if self.state.connected:
                self.state.disconnects += 1
                self.state.down_since = time.monotonic()
            self.state.connected = False
            self.state.last_error = f"{type(e).__name__}: {e}"
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def _listen(self) -> None:
        conn = self._conn
        assert conn is not None
        next_full = time.monotonic() + self.reconcile_seconds
        while not self._stop.is_set():
            timeout = max(0.0, next_full - time.monotonic())
            pending: Dict[str, Tuple[Set[str], int]] = {}
            # Wakes on the first notification; what arrived with it in the same burst comes
            # along, and each tenant is synced once for all of them.
            for n in conn.notifies(timeout=min(timeout, 1.0), stop_after=1):
                self._note(pending, n.payload)
            # Every kind is reconciled (a handful of indexed reads): the notification's
            # revision lets the engine skip the reads when it is already past it.
            for tenant, (_, revision) in pending.items():
                self._sync(tenant=tenant, revision=revision or None)
            if time.monotonic() >= next_full:
                self.reconcile()
                next_full = time.monotonic() + self.reconcile_seconds
            if conn.closed or conn.broken:
                raise ConnectionError("listener connection lost")

    def _note(self, pending: Dict[str, Tuple[Set[str], int]], payload: str) -> None:
        with self._lock:
            self.state.notifications += 1
            self.state.last_notification_at = time.monotonic()
        try:
            msg = json.loads(payload)
            tenant, kind, revision = str(msg["tenant"]), str(msg["kind"]), int(msg["revision"])
        except (ValueError, KeyError, TypeError):
            tenant, kind, revision = "", "", 0
        if not tenant:  # unreadable payload: reconcile everything rather than guess
            pending.setdefault("", (set(), 0))
            return
        kinds, rev = pending.get(tenant, (set(), 0))
        kinds.add(kind if kind in ("config", "rules", "artifacts", "cache") else "artifacts")
        pending[tenant] = (kinds, max(rev, revision))

    # ---- syncing ------------------------------------------------------------------------

    def reconcile(self) -> bool:
        """A full reconcile of every tenant; True when it succeeded."""
        ok = self._sync()
        if ok:
            with self._lock:
                self.state.last_full_sync_at = time.monotonic()
                self.state.reconciled = True
        return ok

    def _sync(self, tenant: Optional[str] = None, kinds: Optional[List[str]] = None, revision: Optional[int] = None) -> bool:
        try:
            answer = self.engine.sync(self.clock(), tenant=tenant or None, kinds=kinds or None, revision=revision)
            for report in answer["tenants"]:
                for need in report.get("fetch", []):
                    self.apply_fetch(report["tenant"], need["surface"], need["uris"])
        except Exception as e:
            with self._lock:
                self.state.sync_errors += 1
                self.state.last_error = f"sync: {e}"
            return False
        with self._lock:
            self.state.syncs += 1
        return True

    def apply_fetch(self, tenant: str, surface: str, uris: List[str]) -> None:
        """Reads the artifacts a pinned manifest needs and hands them to the engine."""
        results: Dict[str, Any] = {}
        for uri in uris:
            try:
                text = self.fetch(uri)
                results[uri] = {"not_found": True} if text is None else {"found": text}
            except OSError as e:
                results[uri] = {"error": str(e)}
        self.engine.call(
            "loader_apply_artifacts",
            json.dumps({"tenant": tenant, "surface": surface, "now": self.clock(), "results": results}),
        )
