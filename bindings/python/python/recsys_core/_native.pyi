"""Type stubs of the native module ``recsys_core._native`` (built from ``src/lib.rs``)."""

from typing import List, Optional, Union

from typing_extensions import Self

__version__: str
STATIC_OPS: List[str]

class Engine:
    """The serving engine; ``options`` is the engine options JSON text or ``None``."""

    def __new__(cls, options: Optional[str] = None) -> Self: ...
    def call(self, op: str, input: str) -> str:
        """Runs ``op`` with a JSON input text; returns the JSON answer text (GIL released)."""
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
