"""Host adapters as plain Python classes: the control plane's document store, the metrics
adapter and the exposure sink, passed to :class:`recsys_core.Engine`::

    engine = recsys_core.Engine(options, store=MyStore(), metrics=MyMetrics(), exposure_sink=print)

**Document store** (:class:`DocumentStore`): every version, pointer and audit entry of the
control plane lives here. Each method is one atomic step of the store (a transaction, a
lock). Values are plain dicts (:class:`StoredVersion`, :class:`Pointer`,
:class:`PointerSwap`, :class:`AuditEntry`, :class:`AuditKey`). Audit entries are chained by
the core: the store assigns the id and calls ``draft.seal(id, prev_hash)`` on the
:class:`AuditDraft` it was given, in the same atomic step, and stores the dict that returns
(``before_state``, ``after_state`` and ``extra`` are JSON *text*, so documents keep their
number literals: the hash covers them). Raise :class:`StoreUnavailable`,
:class:`StoreConflict` or :class:`StoreCorrupt` (or any exception: ``ConnectionError``,
``TimeoutError`` and ``OSError`` count as unavailable, anything else as ``other``); the
engine call then raises :class:`recsys_core.StoreError` with the stable code
``RECSYS_STORE_UNAVAILABLE`` (503), ``RECSYS_STORE_CONFLICT`` (409), ``RECSYS_STORE_CORRUPT``
(500) or ``RECSYS_STORE_ERROR`` (500). A value of the wrong shape is ``RECSYS_STORE_CORRUPT``.
A conflict raised by ``compare_and_swap`` counts as a lost race (the write is retried or
answers ``RECSYS_VERSION_MISMATCH``). :class:`MemoryStore` is the reference implementation.

**Metrics** (:class:`Metrics`): ``counter(name, labels, delta)``, ``histogram(name, labels,
value)``, ``gauge(name, labels, value)``, or one callable ``f(kind, name, labels, value)``.
Called only when the engine option ``metrics`` is on.

**Exposure sink** (:class:`ExposureSink`): ``emit(event)`` or a callable ``f(event)``; the
event is a dict. Without a sink, events queue in the engine for ``exposure_drain``.

Metrics and exposure adapters never fail a request: an exception they raise is swallowed and
counted (:meth:`recsys_core.Engine.adapter_errors`, and the ``recsys_host_adapter_errors_total``
series of :meth:`recsys_core.Engine.metrics_text`); a failed emit also counts in
``recsys_exposure_events_total{result="error"}``. The store is different: a store failure
fails the control-plane call with a typed error, because a write must not half-happen.
"""

from __future__ import annotations

import bisect
import threading
from typing import Any, Callable, Dict, List, Optional, Protocol, Tuple, TypedDict, Union

from ._native import AuditDraft

__all__ = [
    "AuditDraft",
    "AuditEntry",
    "CHANGE_ACTIONS",
    "AuditKey",
    "DocumentStore",
    "ExposureSink",
    "ExposureSinkFunction",
    "MemoryStore",
    "Metrics",
    "MetricsFunction",
    "Pointer",
    "PointerSwap",
    "StoreConflict",
    "StoreCorrupt",
    "StoreException",
    "StoreUnavailable",
    "StoredVersion",
]


class StoredVersion(TypedDict):
    """One immutable, content-addressed version of a tenant document."""

    etag: str  #: lower-case hex SHA-256 of ``canonical_text``; the version's key
    canonical_text: str  #: the PostgreSQL ``jsonb`` text of the document
    document: str  #: the document as its first writer sent it
    created_at: str  #: RFC 3339
    created_by: str
    comment: Optional[str]


class Pointer(TypedDict):
    """The current version of one (tenant, kind)."""

    etag: str
    previous: Optional[str]  #: the version current before the last move
    updated_at: str  #: RFC 3339
    updated_by: str
    #: the id of the audit entry that recorded the move (the tenant's revision then); a
    #: read with a higher revision is newer, whatever order reads arrive in
    revision: int


class PointerSwap(TypedDict):
    """A requested pointer move from ``expected`` (``None``: no pointer yet) to ``new_etag``.
    A swap whose ``new_etag`` equals ``expected`` is a guard (releases use them for the kinds
    they keep): checked like a move, then only re-stamped (revision, ``updated_at``,
    ``updated_by``), its etag and ``previous`` left as they are."""

    kind: str  #: ``config`` or ``rules``
    expected: Optional[str]
    new_etag: str
    #: When not ``None``, the pointer's ``revision`` must equal it too (releases set it).
    expected_revision: Optional[int]
    by: str
    at: str  #: RFC 3339


class AuditKey(TypedDict):
    """The listing key of an audit entry: ``(seconds, nanos, id)`` orders entries."""

    occurred_at: str
    seconds: int
    nanos: int
    id: int


class AuditActor(TypedDict):
    subject: str
    type: str


class AuditEntity(TypedDict):
    type: str
    id: Optional[str]


class AuditEntry(TypedDict):
    """A sealed audit entry, as returned by :meth:`AuditDraft.seal`."""

    id: int
    occurred_at: str
    seconds: int
    nanos: int
    tenant_id: str
    actor: AuditActor
    action: str
    entity: AuditEntity
    request_id: Optional[str]
    before_state: Optional[str]  #: JSON text
    after_state: Optional[str]  #: JSON text
    extra: Optional[str]  #: JSON text
    prev_hash: Optional[str]
    hash: str


class DocumentStore(Protocol):
    """The control plane's storage adapter (see the module documentation).

    Per tenant (tenants never see each other's data): versions are immutable and keyed by
    ETag per (tenant, kind), and storing an existing ETag keeps the existing version; one
    pointer per (tenant, kind); an append-only audit log whose ids the store assigns,
    strictly increasing across the store.

    Releases (``admin.release``) also need an optional method
    ``compare_and_swap_all(tenant, swaps: List[PointerSwap], draft) -> Optional[AuditEntry]``:
    every swap checked (etag, and ``expected_revision`` when set) and every ``new_etag``
    stored, then every pointer moved (a guard only re-stamped) with the new entry's id as
    revision and the draft appended, all in one transaction; else nothing changes and it
    returns ``None``. A store without it answers releases with a store error.
    """

    def current(self, tenant: str, kind: str) -> Optional[Pointer]:
        """The current pointer, ``None`` when there has never been a document of this kind."""
        ...

    def get_version(self, tenant: str, kind: str, etag: str) -> Optional[StoredVersion]:
        """One version by ETag."""
        ...

    def put_version(self, tenant: str, kind: str, version: StoredVersion) -> bool:
        """Stores a version unless its ETag exists; ``True`` when it was inserted."""
        ...

    def list_versions(self, tenant: str, kind: str) -> List[StoredVersion]:
        """Every version of (tenant, kind), oldest first."""
        ...

    def compare_and_swap(self, tenant: str, swap: PointerSwap, draft: AuditDraft) -> Optional[AuditEntry]:
        """Atomically: if the pointer's etag equals ``swap["expected"]`` (both ``None`` = no
        pointer) and ``swap["new_etag"]`` is a stored version, set the pointer to
        ``{etag: new_etag, previous: expected, updated_at: at, updated_by: by}``, append the
        draft as :meth:`append_audit` does and return the entry; otherwise change nothing and
        return ``None``."""
        ...

    def append_audit(self, tenant: str, draft: AuditDraft) -> AuditEntry:
        """Atomically assigns the next id, seals the draft with the hash of the tenant's
        last entry, stores and returns it."""
        ...

    def list_audit(self, tenant: str, before: Optional[AuditKey], limit: int) -> List[AuditEntry]:
        """Up to ``limit`` entries whose ``(seconds, nanos, id)`` is below ``before`` (all
        when ``None``), in that order descending."""
        ...

    def audit_chain(self, tenant: str, after_id: Optional[int], limit: int) -> List[AuditEntry]:
        """Up to ``limit`` entries with ``id > after_id`` (all when ``None``), by id ascending."""
        ...

    def revision(self, tenant: str) -> int:
        """The tenant's revision: the id of its last change (an entry whose action is in
        :data:`CHANGE_ACTIONS`), ``0`` when it has none."""
        ...

    def changes_since(self, tenant: str, since: int, limit: int) -> List[AuditEntry]:
        """Up to ``limit`` changes (entries whose action is in :data:`CHANGE_ACTIONS`) with
        ``id > since``, by id ascending: the change feed a fleet converges from."""
        ...


class Metrics(Protocol):
    """A metrics adapter (Prometheus client, StatsD, OpenTelemetry...). Label order is not
    significant; labels never hold tenant, user or request ids."""

    def counter(self, name: str, labels: Dict[str, str], delta: int) -> None: ...

    def histogram(self, name: str, labels: Dict[str, str], value: float) -> None: ...

    def gauge(self, name: str, labels: Dict[str, str], value: float) -> None: ...


#: A metrics adapter as one function: ``f(kind, name, labels, value)`` with ``kind`` one of
#: ``counter``, ``histogram``, ``gauge``.
MetricsFunction = Callable[[str, str, Dict[str, str], Union[int, float]], Any]


class ExposureSink(Protocol):
    """Where exposure events go (a file, a queue...). Must not block for long."""

    def emit(self, event: Dict[str, Any]) -> None: ...


#: An exposure sink as one function ``f(event)``.
ExposureSinkFunction = Callable[[Dict[str, Any]], Any]


#: The audit actions that change what a tenant's processes serve (the change feed): pointer
#: moves, releases (``release.publish`` / ``release.rollback``), artifact pins, unpins and
#: releases of held publishes, cache invalidations.
CHANGE_ACTIONS = (
    "config.update",
    "rules.update",
    "config.rollback",
    "rules.rollback",
    "cache.invalidate",
    "artifacts.pin",
    "artifacts.unpin",
    "artifacts.release",
    "release.publish",
    "release.rollback",
)


class StoreException(Exception):
    """Raised by a document store; ``kind`` picks the engine's error code."""

    kind: str = "other"


class StoreUnavailable(StoreException):
    """The store cannot be reached or timed out; nothing was written (``RECSYS_STORE_UNAVAILABLE``, 503)."""

    kind = "unavailable"


class StoreConflict(StoreException):
    """A concurrent modification was detected and nothing was written (``RECSYS_STORE_CONFLICT``, 409;
    from ``compare_and_swap`` it counts as a lost race)."""

    kind = "conflict"


class StoreCorrupt(StoreException):
    """Stored data violates an invariant (``RECSYS_STORE_CORRUPT``, 500)."""

    kind = "corrupt"


class _Kind:
    def __init__(self) -> None:
        self.versions: List[StoredVersion] = []
        self.by_etag: Dict[str, int] = {}
        self.pointer: Optional[Pointer] = None


class _Tenant:
    def __init__(self) -> None:
        self.kinds: Dict[str, _Kind] = {"config": _Kind(), "rules": _Kind()}
        self.audit: List[AuditEntry] = []  # id order
        self.changes: List[AuditEntry] = []  # the change-feed entries, id order
        self.change_ids: List[int] = []  # their ids, for bisection

    def append(self, id: int, draft: AuditDraft) -> AuditEntry:
        prev = self.audit[-1]["hash"] if self.audit else None
        entry: AuditEntry = draft.seal(id, prev)
        self.audit.append(entry)
        if entry["action"] in CHANGE_ACTIONS:
            self.changes.append(entry)
            self.change_ids.append(entry["id"])
        return entry


def _key(entry: Union[AuditEntry, AuditKey]) -> Tuple[int, int, int]:
    return (entry["seconds"], entry["nanos"], entry["id"])


def _copy(entry: AuditEntry) -> AuditEntry:
    out = dict(entry)
    out["actor"] = dict(entry["actor"])
    out["entity"] = dict(entry["entity"])
    return out  # type: ignore[return-value]


class MemoryStore:
    """A :class:`DocumentStore` in process memory behind one lock: the reference
    implementation (the same semantics as the engine's built-in store, so both give the
    same answers) and a starting point for real stores."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_id = 0
        self._tenants: Dict[str, _Tenant] = {}

    def _kind(self, tenant: str, kind: str) -> Optional[_Kind]:
        t = self._tenants.get(tenant)
        return None if t is None else t.kinds[kind]

    def current(self, tenant: str, kind: str) -> Optional[Pointer]:
        with self._lock:
            k = self._kind(tenant, kind)
            return None if k is None or k.pointer is None else k.pointer.copy()

    def get_version(self, tenant: str, kind: str, etag: str) -> Optional[StoredVersion]:
        with self._lock:
            k = self._kind(tenant, kind)
            if k is None or etag not in k.by_etag:
                return None
            return k.versions[k.by_etag[etag]].copy()

    def put_version(self, tenant: str, kind: str, version: StoredVersion) -> bool:
        with self._lock:
            k = self._tenants.setdefault(tenant, _Tenant()).kinds[kind]
            if version["etag"] in k.by_etag:
                return False
            k.by_etag[version["etag"]] = len(k.versions)
            k.versions.append(version.copy())
            return True

    def list_versions(self, tenant: str, kind: str) -> List[StoredVersion]:
        with self._lock:
            k = self._kind(tenant, kind)
            return [] if k is None else [v.copy() for v in k.versions]

    def compare_and_swap(self, tenant: str, swap: PointerSwap, draft: AuditDraft) -> Optional[AuditEntry]:
        _check_tenant(tenant, draft)
        with self._lock:
            t = self._tenants.get(tenant)
            if t is None:
                return None
            k = t.kinds[swap["kind"]]
            current = None if k.pointer is None else k.pointer["etag"]
            if current != swap["expected"] or swap["new_etag"] not in k.by_etag:
                return None
            self._last_id += 1
            k.pointer = Pointer(
                etag=swap["new_etag"],
                previous=swap["expected"],
                updated_at=swap["at"],
                updated_by=swap["by"],
                revision=self._last_id,
            )
            return _copy(t.append(self._last_id, draft))

    def append_audit(self, tenant: str, draft: AuditDraft) -> AuditEntry:
        _check_tenant(tenant, draft)
        with self._lock:
            self._last_id += 1
            return _copy(self._tenants.setdefault(tenant, _Tenant()).append(self._last_id, draft))

    def list_audit(self, tenant: str, before: Optional[AuditKey], limit: int) -> List[AuditEntry]:
        with self._lock:
            t = self._tenants.get(tenant)
            if t is None:
                return []
            entries = sorted(t.audit, key=_key, reverse=True)
            if before is not None:
                bound = _key(before)
                entries = [e for e in entries if _key(e) < bound]
            return [_copy(e) for e in entries[:limit]]

    def audit_chain(self, tenant: str, after_id: Optional[int], limit: int) -> List[AuditEntry]:
        with self._lock:
            t = self._tenants.get(tenant)
            if t is None:
                return []
            return [_copy(e) for e in t.audit if after_id is None or e["id"] > after_id][:limit]

    def revision(self, tenant: str) -> int:
        with self._lock:
            t = self._tenants.get(tenant)
            return t.changes[-1]["id"] if t is not None and t.changes else 0

    def changes_since(self, tenant: str, since: int, limit: int) -> List[AuditEntry]:
        with self._lock:
            t = self._tenants.get(tenant)
            if t is None:
                return []
            start = bisect.bisect_right(t.change_ids, since)
            return [_copy(e) for e in t.changes[start : start + limit]]

    # For tests and tooling: direct access to the stored log (e.g. to simulate tampering).
    def raw_audit(self, tenant: str) -> List[AuditEntry]:
        """The tenant's stored entries themselves (not copies), in id order."""
        with self._lock:
            t = self._tenants.get(tenant)
            return [] if t is None else t.audit


def _check_tenant(tenant: str, draft: AuditDraft) -> None:
    if draft.tenant != tenant:
        raise StoreException(f"audit entry for tenant {draft.tenant!r} appended to tenant {tenant!r}")
