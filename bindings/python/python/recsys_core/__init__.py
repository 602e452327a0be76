"""Python binding of the recsys recommendation decision core.

The core speaks JSON: :meth:`Engine.call` takes an operation name and a JSON input text and
returns the JSON answer text. That string form is exact and the fastest; use it for
documents (config, rules, manifests, artifacts), because their versions (ETags) depend on
the number literals as written (``0.3`` and ``0.30`` differ). The dict-based methods are a
convenience: they go through the :mod:`json` module, which reads every float as a Python
``float`` and writes it back in its own shortest form.

Every call releases the GIL, so one :class:`Engine` can serve many threads at once.
Errors raise :class:`RecsysError` or one of its subclasses, chosen by the error code.

Host adapters (a document store for the control plane, a metrics adapter, an exposure sink)
are plain Python objects passed to the constructor; see :mod:`recsys_core.adapters`.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, TypedDict, Union, cast

from . import _native, _types
from ._types import *  # noqa: F401,F403  (the typed requests and answers)
from ._types import LoadReport, Recommendation, SimilarAnswer, Validation
from .adapters import DocumentStore, ExposureSink, ExposureSinkFunction, Metrics, MetricsFunction
from ._errors import (
    ArtifactError,
    ForbiddenError,
    InternalError,
    JsonError,
    NotFoundError,
    OverloadedError,
    RecsysError,
    StoreError,
    UnknownOperationError,
    ValidationError,
    VersionMismatchError,
    error_class_for,
)
from ._native import STATIC_OPS, call_static, canonicalize, etag

__all__ = [
    "AdminContext",
    "Engine",
    "JsonInput",
    "Principal",
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
    "StoreError",
    "error_class_for",
]
__all__ += _types.__all__

__version__: str = _native.__version__

#: A JSON value given either as text (passed to the core verbatim) or as a mapping
#: (serialised with :func:`json.dumps`).
JsonInput = Union[str, Mapping[str, Any]]


class Principal(TypedDict, total=False):
    """The authenticated caller of an admin operation, as the host's auth resolved it."""

    subject: str  #: user id, ``api-key:<id>``...; empty = ``system``
    tenant: str  #: the tenant the caller is scoped to (must equal the operation's tenant)
    roles: List[str]  #: ``viewer`` reads; ``operator`` and ``admin`` also write
    type: str  #: actor type written into the audit log (``user`` by default)


class _AdminContextBase(TypedDict):
    now: str  #: RFC 3339; the core has no clock
    principal: Principal


class AdminContext(_AdminContextBase, total=False):
    """The context of an admin operation."""

    request_id: str


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


def _read(read: Reader, uri: str) -> Union[bytes, str]:
    """One read: the object's bytes (or text), or its fetch-result JSON when it has none."""
    try:
        data = read(uri)
    except Exception as exc:  # the host's I/O failure becomes a recorded load failure
        return json.dumps({"error": f"{type(exc).__name__}: {exc}"})
    if data is None:
        return '{"not_found":true}'
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    return '{"found":' + json.dumps(data, ensure_ascii=False) + "}"


def _fetch(read: Reader, uri: str) -> str:
    """One read as the core's fetch-result JSON: found / not_found / error."""
    data = _read(read, uri)
    if isinstance(data, bytes):
        try:
            return '{"found":' + json.dumps(data.decode("utf-8"), ensure_ascii=False) + "}"
        except UnicodeDecodeError:
            return '{"error":"the object is not utf-8"}'
    return data


class Engine(_native.Engine):
    """The serving engine: compiled snapshots per (tenant, surface) plus engine options.

    ``options`` is the engine options object (a mapping or its JSON text); ``None`` gives
    the defaults. The engine is immutable from Python's side and safe to share across
    threads; every call runs without the GIL.

    Operations not covered by a named method are reachable through :meth:`call` (JSON
    text in and out) and :meth:`call_dict` (mappings in and out).
    """

    __slots__ = ()

    def __new__(
        cls,
        options: Optional[JsonInput] = None,
        *,
        store: Optional[DocumentStore] = None,
        metrics: Optional[Union[Metrics, MetricsFunction]] = None,
        exposure_sink: Optional[Union[ExposureSink, ExposureSinkFunction]] = None,
    ) -> Engine:
        """``store``: the control plane's :class:`~recsys_core.adapters.DocumentStore`
        (default: in memory); ``metrics``: a metrics adapter, called when the ``metrics``
        option is on; ``exposure_sink``: where exposure events go (default: queued for
        ``exposure_drain``). Adapters that lack the needed methods raise
        :class:`ValidationError` ``RECSYS_INVALID_ADAPTER``."""
        return super().__new__(
            cls,
            None if options is None else _text(options),
            store=store,
            metrics=metrics,
            exposure_sink=exposure_sink,
        )

    def call_dict(self, op: str, input: JsonInput) -> Dict[str, Any]:
        """Runs ``op`` with a mapping (or JSON text) and returns the answer as a dict."""
        if isinstance(input, str):
            return _object(self.call(op, input))
        return self._objects(op, input)

    def _objects(self, op: str, input: Any) -> Dict[str, Any]:
        # Native conversion (no json.dumps/json.loads); values it does not convert natively
        # (non-str keys, tuples, NaN, ...) take the JSON text path, which behaves as before.
        try:
            answer = self.call_object(op, input)
        except RecsysError:
            raise
        except (TypeError, ValueError):
            return _object(self.call(op, _text(input)))
        obj: Dict[str, Any] = answer
        return obj

    def _serve(self, op: str, request: JsonInput, ctx: JsonInput) -> Dict[str, Any]:
        if isinstance(request, str) or isinstance(ctx, str):
            # The core builds {"request","ctx"} from the two texts (each one JSON value).
            return _object(self.serve(op, _text(request), _text(ctx)))
        return self._objects(op, {"request": request, "ctx": ctx})

    # load_snapshot: {"tenant","surface","config","rules","manifest","artifacts"} -> report

    def load_snapshot_json(self, documents: str) -> str:
        """Compiles and installs a snapshot from its documents' JSON text; returns the
        compile report as JSON text. The exact way: document literals stay as written."""
        return self.call("load_snapshot", documents)

    def load_snapshot(self, documents: JsonInput) -> LoadReport:
        """Compiles and installs a snapshot; returns the compile report.

        Pass ``documents`` as JSON text to keep number literals (and so ETags) exact."""
        return cast(LoadReport, _object(self.call("load_snapshot", _text(documents))))

    # recommend / validate / similar: {"request": {...}, "ctx": {"now","request_id","tenant"}}

    def recommend_json(self, request: str, ctx: str) -> str:
        """``recommend`` with JSON texts in and the JSON answer text out."""
        return self.serve("recommend", request, ctx)

    def recommend(self, request: JsonInput, ctx: JsonInput) -> Recommendation:
        """Recommends items for ``request`` (a :class:`RecommendRequest`); ``ctx`` (a
        :class:`ServingContext`) carries ``now`` (RFC 3339), ``tenant``, ``request_id`` and
        ``roles``."""
        return cast(Recommendation, self._serve("recommend", request, ctx))

    def validate_json(self, request: str, ctx: str) -> str:
        """``validate`` with JSON texts in and the JSON answer text out."""
        return self.serve("validate", request, ctx)

    def validate(self, request: JsonInput, ctx: JsonInput) -> Validation:
        """Validates a recommend request without ranking; same inputs as :meth:`recommend`."""
        return cast(Validation, self._serve("validate", request, ctx))

    def similar_json(self, request: str, ctx: str) -> str:
        """``similar`` with JSON texts in and the JSON answer text out."""
        return self.serve("similar", request, ctx)

    def similar(self, request: JsonInput, ctx: JsonInput) -> SimilarAnswer:
        """Items similar to ``request["item_id"]`` (a :class:`SimilarRequest`); same context
        as :meth:`recommend`."""
        return cast(SimilarAnswer, self._serve("similar", request, ctx))

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
                results = []
                for uri in step["fetch"]:
                    data = _read(read, uri)
                    if isinstance(data, bytes):
                        # Handed over as bytes, one artifact at a time: no JSON string copy.
                        # A verification failure is recorded when the artifacts are applied.
                        try:
                            self.loader_stage_artifact(due["tenant"], due["surface"], uri, data)
                        except RecsysError:
                            pass
                        del data
                    else:
                        results.append(json.dumps(uri) + ":" + data)
                step = _object(
                    self.call("loader_apply_artifacts", head + ',"results":{' + ",".join(results) + "}}")
                )
            reports.append(step)
        return reports

    # Control plane: versioned config/rules, rollback, audit, caches, artifact pins. Every
    # operation takes the caller's context (time, request id, principal) and raises typed
    # errors with stable codes (ForbiddenError for another tenant or too weak a role,
    # VersionMismatchError with details["current_version"], StoreError, ...).

    def admin_json(self, op: str, request: JsonInput, ctx: Union[AdminContext, str]) -> str:
        """Runs admin operation ``op`` (``admin.get_config``, ...) and returns the exact JSON
        answer text (documents keep their number literals)."""
        return self.serve(op, _text(request), _text(ctx))

    def _admin(self, op: str, request: Dict[str, Any], ctx: AdminContext) -> Dict[str, Any]:
        return _object(self.admin_json(op, {k: v for k, v in request.items() if v is not None}, ctx))

    def get_config(self, tenant: str, *, ctx: AdminContext) -> Dict[str, Any]:
        """``{"tenant_id", "config_version", "config"}``; ``RECSYS_CONFIG_NOT_FOUND`` (404) when none."""
        return self._admin("admin.get_config", {"tenant": tenant}, ctx)

    def get_rules(self, tenant: str, *, ctx: AdminContext) -> Dict[str, Any]:
        """``{"tenant_id", "rules_version", "rules"}``; ``RECSYS_RULES_NOT_FOUND`` (404) when none."""
        return self._admin("admin.get_rules", {"tenant": tenant}, ctx)

    def put_config(
        self,
        tenant: str,
        document: JsonInput,
        *,
        ctx: AdminContext,
        if_match: Optional[str] = None,
        comment: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Validates and stores a config, makes it current and applies it to serving.
        Pass the document as JSON text to keep its literals (and so its ETag) exact.
        ``if_match``: the version read (``RECSYS_VERSION_MISMATCH`` 409 otherwise). Answer:
        ``{"tenant_id", "config_version", "config", "changed", "recompiled"?}``."""
        return self._admin(
            "admin.put_config",
            {"tenant": tenant, "document": _text(document), "if_match": if_match, "comment": comment},
            ctx,
        )

    def put_rules(
        self,
        tenant: str,
        document: JsonInput,
        *,
        ctx: AdminContext,
        if_match: Optional[str] = None,
        comment: Optional[str] = None,
    ) -> Dict[str, Any]:
        """As :meth:`put_config`, for the rules document (validated strictly)."""
        return self._admin(
            "admin.put_rules",
            {"tenant": tenant, "document": _text(document), "if_match": if_match, "comment": comment},
            ctx,
        )

    def list_versions(self, tenant: str, kind: str, *, ctx: AdminContext) -> Dict[str, Any]:
        """Every stored version of ``kind`` (``config`` / ``rules``), oldest first, with
        ``current_version`` and ``previous_version``."""
        return self._admin("admin.list_versions", {"tenant": tenant, "kind": kind}, ctx)

    def rollback(
        self,
        tenant: str,
        kind: str,
        *,
        ctx: AdminContext,
        to: Optional[str] = None,
        if_match: Optional[str] = None,
        comment: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Makes the previous version (or version ``to``) current again, audited as
        ``config.rollback`` / ``rules.rollback``; serving switches at once."""
        return self._admin(
            "admin.rollback",
            {"tenant": tenant, "kind": kind, "to": to, "if_match": if_match, "comment": comment},
            ctx,
        )

    def audit(
        self,
        tenant: str,
        *,
        ctx: AdminContext,
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
        before: Optional[str] = None,
        before_id: Optional[int] = None,
    ) -> Dict[str, Any]:
        """One page of the audit log, newest first: ``{"entries", "next_cursor"?,
        "next_before"?, "next_before_id"?}``; page on with ``cursor`` or with the reference's
        ``before`` + ``before_id``. Viewers get entries without states."""
        req: Dict[str, Any] = {"tenant": tenant, "limit": limit, "cursor": cursor, "before": before, "before_id": before_id}
        return self._admin("admin.audit", req, ctx)

    def verify_audit(
        self, tenant: str, *, ctx: AdminContext, head: Optional[Mapping[str, Any]] = None
    ) -> Dict[str, Any]:
        """Checks the tenant's hash chain (keyed with the ``audit_keys`` option) and pointers:
        ``{"ok", "entries", "head_hash", "tampered_at"?, "reason"?, "pointer_mismatches"?}``.
        ``head`` is an ``audit_head`` a write returned (``{"id", "hash"}``), kept elsewhere:
        its absence reports ``truncated``, another hash at its id ``head_mismatch``."""
        request: Dict[str, Any] = {"tenant": tenant}
        if head is not None:
            request["head"] = dict(head)
        return self._admin("admin.verify_audit", request, ctx)

    def invalidate(
        self, tenant: str, targets: Sequence[str], *, ctx: AdminContext, surface: Optional[str] = None
    ) -> Dict[str, Any]:
        """Drops caches (``config``, ``rules``, ``popularity``/``artifacts``), audited."""
        return self._admin("admin.invalidate", {"tenant": tenant, "targets": list(targets), "surface": surface}, ctx)

    def pin_artifacts(
        self,
        tenant: str,
        surface: str,
        *,
        ctx: AdminContext,
        manifest: Optional[JsonInput] = None,
        current: Optional[Mapping[str, str]] = None,
        if_match: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Pins a surface to a manifest (artifact rollback); the answer lists the URIs to
        fetch for ``loader_apply_artifacts``. Audited as ``artifacts.pin``. While a release
        is current, ``if_match`` must be its ``release_id`` (the pin is published as a
        release of that one change)."""
        request: Dict[str, Any] = {"tenant": tenant, "surface": surface}
        if manifest is not None:
            request["manifest"] = _text(manifest)
        if current is not None:
            request["current"] = dict(current)
        if if_match is not None:
            request["if_match"] = if_match
        return self._admin("admin.pin_artifacts", request, ctx)

    def unpin_artifacts(
        self, tenant: str, surface: str, *, ctx: AdminContext, if_match: Optional[str] = None
    ) -> Dict[str, Any]:
        """Lets refreshes update a pinned surface again; audited as ``artifacts.unpin``
        (conditional on the current release like :meth:`pin_artifacts`)."""
        request: Dict[str, Any] = {"tenant": tenant, "surface": surface}
        if if_match is not None:
            request["if_match"] = if_match
        return self._admin("admin.unpin_artifacts", request, ctx)

    def release_held(self, tenant: str, surface: str, *, ctx: AdminContext) -> Dict[str, Any]:
        """Applies held empty publishes; audited as ``artifacts.release``."""
        return self._admin("admin.release_held", {"tenant": tenant, "surface": surface}, ctx)

    def sync(
        self,
        now: str,
        *,
        tenant: Optional[str] = None,
        kinds: Optional[Sequence[str]] = None,
        revision: Optional[int] = None,
    ) -> Dict[str, Any]:
        """Reconciles this engine with its store (``admin.sync``): installs the config and
        rules pointers whose revision is newer than what serves, and applies artifact pins,
        releases and invalidations from the change feed. ``kinds``: ``config``, ``rules``,
        ``artifacts``, ``cache`` (default all); ``revision``: the one a change notification
        carried (answered without reading the store when already reconciled). Idempotent;
        never moves serving backwards. Each tenant's report lists ``fetch``: artifacts a
        pin needs, to hand to ``loader_apply_artifacts``."""
        request: Dict[str, Any] = {}
        if tenant is not None:
            request["tenant"] = tenant
        if kinds is not None:
            request["kinds"] = list(kinds)
        if revision is not None:
            request["revision"] = revision
        return _object(self.call("admin.sync", json.dumps({"request": request, "ctx": {"now": now}})))

    def sync_status(self, now: str) -> Dict[str, Any]:
        """Per tenant: the revision reconciled, the store revision last seen, ``behind``,
        the last sync and its lag, and per surface the versions being served."""
        return _object(self.call("sync_status", json.dumps({"now": now})))

    def metrics_text(self) -> str:
        """Prometheus text of the engine's metrics (option ``metrics``), plus
        ``recsys_host_adapter_errors_total{adapter}``: exceptions swallowed from the metrics
        adapter and the exposure sink."""
        text = str(_object(self.call("metrics", "{}"))["prometheus"])
        errors = self.adapter_errors()
        if errors:
            lines = [
                "# HELP recsys_host_adapter_errors_total Exceptions swallowed from host adapters.",
                "# TYPE recsys_host_adapter_errors_total counter",
            ]
            lines += [f'recsys_host_adapter_errors_total{{adapter="{k}"}} {v["errors"]}' for k, v in sorted(errors.items())]
            text = text + ("" if not text or text.endswith("\n") else "\n") + "\n".join(lines) + "\n"
        return text
