"""Python binding of the recsys recommendation decision core.

The core speaks JSON: :meth:`Engine.call` takes an operation name and a JSON input text and
returns the JSON answer text. That string form is exact and the fastest; use it for
documents (config, rules, manifests, artifacts), because their versions (ETags) depend on
the number literals as written (``0.3`` and ``0.30`` differ). The dict-based methods are a
convenience: they go through the :mod:`json` module, which reads every float as a Python
``float`` and writes it back in its own shortest form.

Every call releases the GIL, so one :class:`Engine` can serve many threads at once.
Errors raise :class:`RecsysError` or one of its subclasses, chosen by the error code.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

from . import _native
from ._errors import (
    ArtifactError,
    ForbiddenError,
    InternalError,
    JsonError,
    NotFoundError,
    OverloadedError,
    RecsysError,
    UnknownOperationError,
    ValidationError,
    VersionMismatchError,
    error_class_for,
)
from ._native import STATIC_OPS, call_static, canonicalize, etag

__all__ = [
    "Engine",
    "JsonInput",
    "Reader",
    "STATIC_OPS",
    "call_static",
    "canonicalize",
    "etag",
    "RecsysError",
    "ValidationError",
    "JsonError",
    "VersionMismatchError",
    "ArtifactError",
    "OverloadedError",
    "ForbiddenError",
    "NotFoundError",
    "UnknownOperationError",
    "InternalError",
    "error_class_for",
]

__version__: str = _native.__version__

#: A JSON value given either as text (passed to the core verbatim) or as a mapping
#: (serialised with :func:`json.dumps`).
JsonInput = Union[str, Mapping[str, Any]]


def _text(value: JsonInput) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _object(answer: str) -> Dict[str, Any]:
    obj: Dict[str, Any] = json.loads(answer)
    return obj


#: A host artifact reader for :meth:`Engine.refresh_due`: returns the bytes (or text) at a
#: URI, ``None`` when there is nothing there, and raises on an I/O failure.
Reader = Callable[[str], Optional[Union[bytes, str]]]


def _fetch(read: Reader, uri: str) -> str:
    """One read as the core's fetch-result JSON: found / not_found / error."""
    try:
        data = read(uri)
    except Exception as exc:  # the host's I/O failure becomes a recorded load failure
        return json.dumps({"error": f"{type(exc).__name__}: {exc}"})
    if data is None:
        return '{"not_found":true}'
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            return '{"error":"the object is not utf-8"}'
    return '{"found":' + json.dumps(data, ensure_ascii=False) + "}"


def _envelope(request: JsonInput, ctx: JsonInput) -> str:
    # Concatenated, not re-serialised: text inputs reach the core exactly as given.
    return '{"request":' + _text(request) + ',"ctx":' + _text(ctx) + "}"


class Engine(_native.Engine):
    """The serving engine: compiled snapshots per (tenant, surface) plus engine options.

    ``options`` is the engine options object (a mapping or its JSON text); ``None`` gives
    the defaults. The engine is immutable from Python's side and safe to share across
    threads; every call runs without the GIL.

    Operations not covered by a named method are reachable through :meth:`call` (JSON
    text in and out) and :meth:`call_dict` (mappings in and out).
    """

    __slots__ = ()

    def __new__(cls, options: Optional[JsonInput] = None) -> Engine:
        return super().__new__(cls, None if options is None else _text(options))

    def call_dict(self, op: str, input: JsonInput) -> Dict[str, Any]:
        """Runs ``op`` with a mapping (or JSON text) and returns the answer as a dict."""
        return _object(self.call(op, _text(input)))

    # load_snapshot: {"tenant","surface","config","rules","manifest","artifacts"} -> report

    def load_snapshot_json(self, documents: str) -> str:
        """Compiles and installs a snapshot from its documents' JSON text; returns the
        compile report as JSON text. The exact way: document literals stay as written."""
        return self.call("load_snapshot", documents)

    def load_snapshot(self, documents: JsonInput) -> Dict[str, Any]:
        """Compiles and installs a snapshot; returns the compile report.

        Pass ``documents`` as JSON text to keep number literals (and so ETags) exact."""
        return _object(self.call("load_snapshot", _text(documents)))

    # recommend / validate / similar: {"request": {...}, "ctx": {"now","request_id","tenant"}}

    def recommend_json(self, request: str, ctx: str) -> str:
        """``recommend`` with JSON texts in and the JSON answer text out."""
        return self.call("recommend", _envelope(request, ctx))

    def recommend(self, request: JsonInput, ctx: JsonInput) -> Dict[str, Any]:
        """Recommends items for ``request``; ``ctx`` carries ``now`` (RFC 3339),
        ``request_id`` and ``tenant``."""
        return _object(self.call("recommend", _envelope(request, ctx)))

    def validate_json(self, request: str, ctx: str) -> str:
        """``validate`` with JSON texts in and the JSON answer text out."""
        return self.call("validate", _envelope(request, ctx))

    def validate(self, request: JsonInput, ctx: JsonInput) -> Dict[str, Any]:
        """Validates a recommend request without ranking; same inputs as :meth:`recommend`."""
        return _object(self.call("validate", _envelope(request, ctx)))

    def similar_json(self, request: str, ctx: str) -> str:
        """``similar`` with JSON texts in and the JSON answer text out."""
        return self.call("similar", _envelope(request, ctx))

    def similar(self, request: JsonInput, ctx: JsonInput) -> Dict[str, Any]:
        """Items similar to the request's anchor item; same context as :meth:`recommend`."""
        return _object(self.call("similar", _envelope(request, ctx)))

    # Operations: documents, health, and the artifact loader.

    def set_config(self, tenant: str, document: Optional[str]) -> Dict[str, Any]:
        """Replaces a tenant's config (JSON text; ``None`` removes it) and recompiles its
        surfaces. An invalid document raises and changes nothing."""
        doc = "null" if document is None else document
        return _object(self.call("set_config", '{"tenant":' + json.dumps(tenant) + ',"document":' + doc + "}"))

    def set_rules(self, tenant: str, document: Optional[str]) -> Dict[str, Any]:
        """Replaces a tenant's rules (JSON text; ``None`` removes them) and recompiles."""
        doc = "null" if document is None else document
        return _object(self.call("set_rules", '{"tenant":' + json.dumps(tenant) + ',"document":' + doc + "}"))

    def liveness(self) -> Dict[str, Any]:
        """``{"status": "ok"}`` while the engine is usable (for ``/livez``)."""
        return _object(self.call("liveness", "{}"))

    def readiness(self, now: str) -> Dict[str, Any]:
        """Per tenant/surface readiness report (for ``/readyz`` and ``/health/detailed``)."""
        return _object(self.call("readiness", json.dumps({"now": now})))

    def loader_track(self, tenant: str, surface: str) -> str:
        """Starts refreshing (tenant, surface) from the ``manifest_template`` option;
        returns the manifest URI."""
        answer = self.call_dict("loader_track", {"tenant": tenant, "surface": surface})
        return str(answer["manifest_uri"])

    def refresh_due(self, now: str, read: Reader) -> List[Dict[str, Any]]:
        """Convenience driver: refreshes every tracked surface that is due at ``now`` using
        the host's ``read(uri)``; returns one report per surface. Bad or missing inputs
        never replace what is serving (last known good)."""
        reports: List[Dict[str, Any]] = []
        for due in json.loads(self.call("loader_due", json.dumps({"now": now}))):
            head = json.dumps({"tenant": due["tenant"], "surface": due["surface"], "now": now})[:-1]
            step = _object(
                self.call("loader_apply_manifest", head + ',"result":' + _fetch(read, due["manifest_uri"]) + "}")
            )
            if "fetch" in step:
                results = ",".join(json.dumps(uri) + ":" + _fetch(read, uri) for uri in step["fetch"])
                step = _object(self.call("loader_apply_artifacts", head + ',"results":{' + results + "}}"))
            reports.append(step)
        return reports
