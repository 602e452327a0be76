"""A recsys-core document store on PostgreSQL (psycopg 3): the `DocumentStore` protocol of
`recsys_core.adapters` over the tables of `migrations/`.

Every method is one transaction. `compare_and_swap` locks the pointer row (`FOR UPDATE`),
moves it and appends the audit entry in the same transaction (`compare_and_swap_all`, for
releases, does the same for several pointers at once); appends lock the tenant's
chain head (`audit_heads`), assign the id from a sequence and seal the draft with the head's
hash, so a tenant's chain is extended one entry at a time.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import psycopg
from psycopg import errors as pg_errors
from psycopg.types.json import Jsonb

from recsys_core.adapters import (
    CHANGE_ACTIONS,
    AuditDraft,
    AuditEntry,
    AuditKey,
    Pointer,
    PointerSwap,
    StoreConflict,
    StoreException,
    StoreUnavailable,
    StoredVersion,
)

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_MIGRATION_LOCK = 4_242_001


def migrate(dsn: str) -> List[str]:
    """Applies the SQL files of `migrations/` not applied yet, in name order; returns them."""
    applied: List[str] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
            for path in sorted(MIGRATIONS.glob("*.sql")):
                if path.name in done:
                    continue
                with conn.transaction():
                    conn.execute(path.read_text())
                    conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (path.name,))
                applied.append(path.name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
    return applied


class PostgresStore:
    """The control plane's document store in PostgreSQL. Safe to share between threads:
    each thread uses its own connection."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: List[psycopg.Connection[Any]] = []

    # ---- connections and errors ---------------------------------------------------------

    def _conn(self) -> psycopg.Connection[Any]:
        conn: Optional[psycopg.Connection[Any]] = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            try:
                conn = psycopg.connect(self._dsn, connect_timeout=5)
            except psycopg.OperationalError as e:
                raise StoreUnavailable(f"cannot connect to postgres: {e}") from e
            self._local.conn = conn
            with self._lock:
                self._opened = [c for c in self._opened if not c.closed] + [conn]
        return conn

    def _tx(self) -> "_Tx":
        return _Tx(self)

    def ping(self) -> None:
        """Raises :class:`StoreUnavailable` when the database does not answer."""
        with self._tx() as cur:
            cur.execute("SELECT 1")

    def close(self) -> None:
        """Closes every connection this store opened (call when no request is running)."""
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()

    # ---- the DocumentStore protocol -----------------------------------------------------

    def current(self, tenant: str, kind: str) -> Optional[Pointer]:
        with self._tx() as cur:
            cur.execute(
                "SELECT etag, previous, updated_at, updated_by, revision FROM document_pointers"
                " WHERE tenant_id = %s AND kind = %s",
                (tenant, kind),
            )
            row = cur.fetchone()
        if row is None:
            return None
        return Pointer(etag=row[0], previous=row[1], updated_at=row[2], updated_by=row[3], revision=int(row[4]))

    def get_version(self, tenant: str, kind: str, etag: str) -> Optional[StoredVersion]:
        with self._tx() as cur:
            cur.execute(
                "SELECT etag, canonical_text, document, created_at, created_by, comment FROM document_versions"
                " WHERE tenant_id = %s AND kind = %s AND etag = %s",
                (tenant, kind, etag),
            )
            row = cur.fetchone()
        return None if row is None else _version(row)

    def put_version(self, tenant: str, kind: str, version: StoredVersion) -> bool:
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO document_versions (tenant_id, kind, etag, canonical_text, document, created_at, created_by, comment)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (tenant_id, kind, etag) DO NOTHING",
                (
                    tenant,
                    kind,
                    version["etag"],
                    version["canonical_text"],
                    version["document"],
                    version["created_at"],
                    version["created_by"],
                    version["comment"],
                ),
            )
            return cur.rowcount == 1

    def list_versions(self, tenant: str, kind: str) -> List[StoredVersion]:
        with self._tx() as cur:
            cur.execute(
                "SELECT etag, canonical_text, document, created_at, created_by, comment FROM document_versions"
                " WHERE tenant_id = %s AND kind = %s ORDER BY seq",
                (tenant, kind),
            )
            return [_version(r) for r in cur.fetchall()]

    def compare_and_swap(self, tenant: str, swap: PointerSwap, draft: AuditDraft) -> Optional[AuditEntry]:
        _check_tenant(tenant, draft)
        kind = swap["kind"]
        with self._tx() as cur:
            cur.execute(
                "SELECT etag FROM document_pointers WHERE tenant_id = %s AND kind = %s FOR UPDATE", (tenant, kind)
            )
            row = cur.fetchone()
            if (None if row is None else row[0]) != swap["expected"]:
                return None
            cur.execute(
                "SELECT 1 FROM document_versions WHERE tenant_id = %s AND kind = %s AND etag = %s",
                (tenant, kind, swap["new_etag"]),
            )
            if cur.fetchone() is None:
                return None
            # The move's revision is the id of the audit entry recording it, taken under the
            # tenant's chain-head lock so the tenant's ids are assigned (and committed) in order.
            prev_hash = _lock_head(cur, tenant)
            revision = _next_id(cur)
            if row is None:
                cur.execute(
                    "INSERT INTO document_pointers (tenant_id, kind, etag, previous, updated_at, updated_by, revision)"
                    " VALUES (%s, %s, %s, NULL, %s, %s, %s) ON CONFLICT (tenant_id, kind) DO NOTHING",
                    (tenant, kind, swap["new_etag"], swap["at"], swap["by"], revision),
                )
            else:
                cur.execute(
                    "UPDATE document_pointers SET etag = %s, previous = %s, updated_at = %s, updated_by = %s,"
                    " revision = %s WHERE tenant_id = %s AND kind = %s AND etag = %s",
                    (swap["new_etag"], swap["expected"], swap["at"], swap["by"], revision, tenant, kind, swap["expected"]),
                )
            if cur.rowcount != 1:  # a concurrent first write won the insert
                cur.connection.rollback()
                return None
            return _append(cur, tenant, draft, (revision, prev_hash))

    def compare_and_swap_all(
        self, tenant: str, swaps: List[PointerSwap], draft: AuditDraft
    ) -> Optional[AuditEntry]:
        """A release: every swap checked and every pointer moved (a guard swap, whose
        ``new_etag`` is its ``expected``, only re-stamped) with the entry's id as revision,
        and the entry appended, in one transaction; else nothing changes and ``None``."""
        _check_tenant(tenant, draft)
        with self._tx() as cur:
            rows: Dict[str, Any] = {}
            # Pointer rows are locked in kind order, so two releases cannot deadlock.
            for swap in sorted(swaps, key=lambda s: s["kind"]):
                kind = swap["kind"]
                cur.execute(
                    "SELECT etag, revision FROM document_pointers WHERE tenant_id = %s AND kind = %s FOR UPDATE",
                    (tenant, kind),
                )
                row = cur.fetchone()
                rows[kind] = row
                if (None if row is None else row[0]) != swap["expected"]:
                    return None
                want = swap.get("expected_revision")
                if want is not None and (row is None or int(row[1]) != want):
                    return None
                cur.execute(
                    "SELECT 1 FROM document_versions WHERE tenant_id = %s AND kind = %s AND etag = %s",
                    (tenant, kind, swap["new_etag"]),
                )
                if cur.fetchone() is None:
                    return None
            prev_hash = _lock_head(cur, tenant)
            revision = _next_id(cur)
            for swap in swaps:
                kind = swap["kind"]
                if rows[kind] is None:
                    cur.execute(
                        "INSERT INTO document_pointers (tenant_id, kind, etag, previous, updated_at, updated_by, revision)"
                        " VALUES (%s, %s, %s, NULL, %s, %s, %s) ON CONFLICT (tenant_id, kind) DO NOTHING",
                        (tenant, kind, swap["new_etag"], swap["at"], swap["by"], revision),
                    )
                elif swap["new_etag"] == swap["expected"]:
                    cur.execute(
                        "UPDATE document_pointers SET updated_at = %s, updated_by = %s, revision = %s"
                        " WHERE tenant_id = %s AND kind = %s AND etag = %s",
                        (swap["at"], swap["by"], revision, tenant, kind, swap["expected"]),
                    )
                else:
                    cur.execute(
                        "UPDATE document_pointers SET etag = %s, previous = %s, updated_at = %s, updated_by = %s,"
                        " revision = %s WHERE tenant_id = %s AND kind = %s AND etag = %s",
                        (swap["new_etag"], swap["expected"], swap["at"], swap["by"], revision, tenant, kind, swap["expected"]),
                    )
                if cur.rowcount != 1:  # a concurrent first write won the insert
                    cur.connection.rollback()
                    return None
            return _append(cur, tenant, draft, (revision, prev_hash))

    def append_audit(self, tenant: str, draft: AuditDraft) -> AuditEntry:
        _check_tenant(tenant, draft)
        with self._tx() as cur:
            return _append(cur, tenant, draft)

    def list_audit(self, tenant: str, before: Optional[AuditKey], limit: int) -> List[AuditEntry]:
        with self._tx() as cur:
            if before is None:
                cur.execute(
                    "SELECT entry FROM audit_log WHERE tenant_id = %s"
                    " ORDER BY occurred_seconds DESC, occurred_nanos DESC, id DESC LIMIT %s",
                    (tenant, limit),
                )
            else:
                cur.execute(
                    "SELECT entry FROM audit_log WHERE tenant_id = %s"
                    " AND (occurred_seconds, occurred_nanos, id) < (%s, %s, %s)"
                    " ORDER BY occurred_seconds DESC, occurred_nanos DESC, id DESC LIMIT %s",
                    (tenant, before["seconds"], before["nanos"], before["id"], limit),
                )
            return [r[0] for r in cur.fetchall()]

    def revision(self, tenant: str) -> int:
        with self._tx() as cur:
            cur.execute(
                "SELECT coalesce(max(id), 0) FROM audit_log WHERE tenant_id = %s AND action = ANY(%s)",
                (tenant, list(CHANGE_ACTIONS)),
            )
            row = cur.fetchone()
        return 0 if row is None else int(row[0])

    def changes_since(self, tenant: str, since: int, limit: int) -> List[AuditEntry]:
        with self._tx() as cur:
            cur.execute(
                "SELECT entry FROM audit_log WHERE tenant_id = %s AND id > %s AND action = ANY(%s) ORDER BY id LIMIT %s",
                (tenant, since, list(CHANGE_ACTIONS), limit),
            )
            return [r[0] for r in cur.fetchall()]

    def audit_chain(self, tenant: str, after_id: Optional[int], limit: int) -> List[AuditEntry]:
        with self._tx() as cur:
            cur.execute(
                "SELECT entry FROM audit_log WHERE tenant_id = %s AND id > %s ORDER BY id LIMIT %s",
                (tenant, -1 if after_id is None else after_id, limit),
            )
            return [r[0] for r in cur.fetchall()]


class _Tx:
    """A transaction on the thread's connection; database failures become store exceptions."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    def __enter__(self) -> psycopg.Cursor[Any]:
        self.conn = self.store._conn()
        self.cur = self.conn.cursor()
        return self.cur

    def __exit__(self, kind: Any, exc: Optional[BaseException], tb: Any) -> None:
        failure = exc
        try:
            if exc is None:
                self.conn.commit()
            else:
                self.conn.rollback()
        except psycopg.Error as e:
            failure = failure or e
        finally:
            self.cur.close()
        if failure is None or isinstance(failure, StoreException):
            return
        if isinstance(failure, (pg_errors.SerializationFailure, pg_errors.DeadlockDetected, pg_errors.UniqueViolation)):
            raise StoreConflict(str(failure)) from failure
        if isinstance(failure, psycopg.OperationalError):
            raise StoreUnavailable(str(failure)) from failure
        if failure is not exc:  # the commit itself failed: never report success
            raise StoreException(f"commit failed: {failure}") from failure


def _version(row: Any) -> StoredVersion:
    return StoredVersion(
        etag=row[0], canonical_text=row[1], document=row[2], created_at=row[3], created_by=row[4], comment=row[5]
    )


def _next_id(cur: psycopg.Cursor[Any]) -> int:
    cur.execute("SELECT nextval('audit_log_id_seq')")
    row = cur.fetchone()
    assert row is not None
    return int(row[0])


def _lock_head(cur: psycopg.Cursor[Any], tenant: str) -> Optional[str]:
    """Locks the tenant's chain head (created when missing) and returns its hash."""
    cur.execute(
        "INSERT INTO audit_heads (tenant_id, last_id, hash) VALUES (%s, 0, NULL) ON CONFLICT (tenant_id) DO NOTHING",
        (tenant,),
    )
    cur.execute("SELECT hash FROM audit_heads WHERE tenant_id = %s FOR UPDATE", (tenant,))
    head = cur.fetchone()
    return None if head is None else head[0]


def _append(
    cur: psycopg.Cursor[Any], tenant: str, draft: AuditDraft, taken: Optional[Tuple[int, Optional[str]]] = None
) -> AuditEntry:
    """Appends the draft as the tenant's next entry. `taken` = (id, previous hash) when the
    caller already locked the head and took the id (a pointer move uses the id as the
    pointer's revision)."""
    if taken is None:
        prev_hash = _lock_head(cur, tenant)
        id = _next_id(cur)
    else:
        id, prev_hash = taken
    entry: AuditEntry = draft.seal(id, prev_hash)
    cur.execute(
        "INSERT INTO audit_log (id, tenant_id, occurred_seconds, occurred_nanos, action, hash, entry)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (entry["id"], tenant, entry["seconds"], entry["nanos"], entry["action"], entry["hash"], Jsonb(entry)),
    )
    cur.execute(
        "UPDATE audit_heads SET last_id = %s, hash = %s WHERE tenant_id = %s", (entry["id"], entry["hash"], tenant)
    )
    return entry


def _check_tenant(tenant: str, draft: AuditDraft) -> None:
    if draft.tenant != tenant:
        raise StoreException(f"audit entry for tenant {draft.tenant!r} appended to tenant {tenant!r}")
