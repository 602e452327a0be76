"""Type stubs of the native module ``recsys_core._native`` (built from ``src/lib.rs``)."""

from typing import Any, Dict, List, Optional, Union

from typing_extensions import Self

__version__: str
STATIC_OPS: List[str]

class Engine:
    """The serving engine; ``options`` is the engine options JSON text or ``None``."""

    def __new__(
        cls,
        options: Optional[str] = None,
        store: Optional[Any] = None,
        metrics: Optional[Any] = None,
        exposure_sink: Optional[Any] = None,
    ) -> Self: ...
    def call(self, op: str, input: str) -> str:
        """Runs ``op`` with a JSON input text; returns the JSON answer text (GIL released)."""
        ...
    def serve(self, op: str, request: str, ctx: str) -> str:
        """Runs ``op`` with the input ``{"request": <request>, "ctx": <ctx>}``, which the core
        builds from the two JSON texts (each must be one JSON value); returns the answer text."""
        ...
    def loader_stage_artifact(self, tenant: str, surface: str, uri: str, data: bytes) -> str:
        """Verifies one artifact of the pending manifest from its bytes (no ``str`` copy)."""
        ...
    def call_object(self, op: str, input: Any) -> Any:
        """Runs ``op`` with Python objects (or JSON text) as input; returns the answer as
        Python objects, without JSON text in between (GIL released while the core runs).
        Raises ``TypeError``/``ValueError`` for values ``json.dumps`` would encode differently
        (non-``str`` keys, tuples, NaN); the dict methods then fall back to JSON text."""
        ...
    def adapter_errors(self) -> Dict[str, Dict[str, Any]]:
        """Exceptions swallowed from the metrics adapter and exposure sink:
        ``{"metrics": {"errors": n, "last_error": str | None}, "exposure_sink": {...}}``."""
        ...

class AuditDraft:
    """An audit entry before the store assigned its id; seal it in the store's atomic step."""

    @property
    def tenant(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def occurred_at(self) -> str: ...
    @property
    def seconds(self) -> int: ...
    @property
    def nanos(self) -> int: ...
    def seal(self, id: int, prev_hash: Optional[str]) -> Any:
        """The sealed entry (an ``AuditEntry`` dict) with this id, chained to ``prev_hash``."""
        ...

def etag(doc: Union[str, bytes, bytearray]) -> str:
    """Lower-case hex SHA-256 of the document's canonical (PostgreSQL jsonb) text."""
    ...

def canonicalize(doc: Union[str, bytes, bytearray]) -> str:
    """The canonical (PostgreSQL jsonb) text of a document."""
    ...

def call_static(op: str, input: str) -> str:
    """Runs a stateless operation with a JSON input text; returns the JSON answer text."""
    ...
