"""Exception classes of ``recsys_core``, chosen from the core's stable error codes.

The native layer hands every core error to :func:`_from_native` as the error's JSON form
``{"code", "status", "message", "problems"?, ...}``. The class is picked here, in Python,
so a code the core adds later still raises :class:`RecsysError` (the base class) without a
rebuild of the native module.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple, Type

__all__ = [
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


class RecsysError(Exception):
    """An error answered by the recsys core.

    Attributes:
        code: stable machine-readable code (``RECSYS_INVALID_REQUEST``, ...).
        status: the HTTP status a host should answer with.
        message: lower-case human-readable message.
        problems: findings behind the error, each ``{"path", "code", "message"}``.
        details: the whole error object, including extra members such as
            ``current_version`` for a version mismatch.
        error_json: the error object as the core's exact JSON text.
    """

    code: str
    status: int
    message: str
    problems: List[Dict[str, Any]]
    details: Dict[str, Any]
    error_json: str

    def __init__(
        self,
        code: str,
        status: int,
        message: str,
        problems: Optional[List[Dict[str, Any]]] = None,
        details: Optional[Dict[str, Any]] = None,
        error_json: Optional[str] = None,
    ) -> None:
        super().__init__(code, status, message)
        self.code = code
        self.status = status
        self.message = message
        self.problems = list(problems) if problems else []
        if details is None:
            details = {"code": code, "status": status, "message": message}
            if self.problems:
                details["problems"] = self.problems
        self.details = details
        self.error_json = json.dumps(details) if error_json is None else error_json

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.status!r}, {self.message!r})"

    def __reduce__(self) -> Tuple[Any, ...]:
        return (
            type(self),
            (self.code, self.status, self.message, self.problems, self.details, self.error_json),
        )


class ValidationError(RecsysError):
    """The input was rejected: ``RECSYS_INVALID_*``, ``RECSYS_UNPROCESSABLE*``,
    ``RECSYS_VALIDATION_*`` (see :attr:`RecsysError.problems`)."""


class JsonError(ValidationError):
    """The input is not acceptable JSON: ``RECSYS_JSON_*``."""


class VersionMismatchError(RecsysError):
    """``RECSYS_VERSION_MISMATCH``: the If-Match version is not the current one."""


class ArtifactError(RecsysError):
    """``RECSYS_ARTIFACT_*``: an artifact or manifest is missing, invalid or incompatible."""


class OverloadedError(RecsysError):
    """``RECSYS_OVERLOADED``: retry later."""


class ForbiddenError(RecsysError):
    """``RECSYS_FORBIDDEN``."""


class NotFoundError(RecsysError):
    """``RECSYS_*_NOT_FOUND``: a tenant, surface, snapshot or document is unknown."""


class UnknownOperationError(RecsysError):
    """``RECSYS_UNKNOWN_OPERATION``: the operation name is not known to this core."""


class StoreError(RecsysError):
    """``RECSYS_STORE_*``: the document store failed (``UNAVAILABLE`` 503, ``CONFLICT`` 409,
    ``CORRUPT`` 500, ``ERROR`` 500); nothing was half-written."""


class InternalError(RecsysError):
    """``RECSYS_INTERNAL``: a bug in the core (including a caught panic)."""


_EXACT: Dict[str, Type[RecsysError]] = {
    "RECSYS_VERSION_MISMATCH": VersionMismatchError,
    "RECSYS_OVERLOADED": OverloadedError,
    "RECSYS_FORBIDDEN": ForbiddenError,
    "RECSYS_UNKNOWN_OPERATION": UnknownOperationError,
    "RECSYS_INTERNAL": InternalError,
}

_PREFIX: Tuple[Tuple[str, Type[RecsysError]], ...] = (
    ("RECSYS_JSON_", JsonError),
    ("RECSYS_INVALID_", ValidationError),
    ("RECSYS_UNPROCESSABLE", ValidationError),
    ("RECSYS_VALIDATION_", ValidationError),
    ("RECSYS_ARTIFACT_", ArtifactError),
    ("RECSYS_STORE_", StoreError),
)


def error_class_for(code: str) -> Type[RecsysError]:
    """The exception class raised for ``code`` (:class:`RecsysError` for unknown codes)."""
    cls = _EXACT.get(code)
    if cls is not None:
        return cls
    for prefix, family in _PREFIX:
        if code.startswith(prefix):
            return family
    if code.endswith("_NOT_FOUND"):
        return NotFoundError
    return RecsysError


def _from_native(error_json: str) -> RecsysError:
    """Builds the exception for a core error given as JSON text (called by the native layer)."""
    try:
        obj = json.loads(error_json)
        code = str(obj["code"])
        status = int(obj["status"])
        message = str(obj["message"])
        problems = obj.get("problems") or []
    except (ValueError, TypeError, KeyError, AttributeError):
        return InternalError("RECSYS_INTERNAL", 500, f"malformed error from recsys core: {error_json}")
    return error_class_for(code)(code, status, message, problems, obj, error_json)
