"""Errors carry the core's code, status, message and problems, as the matching subclass."""

from __future__ import annotations

import json
import pickle

import pytest

import recsys_core
from recsys_core import (
    ArtifactError,
    Engine,
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
from recsys_core._errors import _from_native


def test_unknown_operation() -> None:
    with pytest.raises(UnknownOperationError) as info:
        Engine().call("frobnicate", "{}")
    e = info.value
    assert isinstance(e, RecsysError)
    assert (e.code, e.status) == ("RECSYS_UNKNOWN_OPERATION", 400)
    assert "frobnicate" in e.message
    assert e.problems == []
    assert e.details["code"] == "RECSYS_UNKNOWN_OPERATION"
    assert str(e) == f"RECSYS_UNKNOWN_OPERATION: {e.message}"


def test_unknown_static_operation() -> None:
    with pytest.raises(UnknownOperationError):
        recsys_core.call_static("recommend", "{}")


def test_json_syntax_error_has_problems() -> None:
    with pytest.raises(JsonError) as info:
        Engine().call("etag", '{"a":')
    e = info.value
    assert isinstance(e, ValidationError)
    assert e.code.startswith("RECSYS_JSON_") and e.status == 400
    assert len(e.problems) == 1
    assert set(e.problems[0]) == {"path", "code", "message"}
    assert e.problems[0]["code"] == e.code


def test_engine_options_must_be_an_object() -> None:
    with pytest.raises(ValidationError) as info:
        Engine("[1, 2]")
    assert info.value.code == "RECSYS_INVALID_OPTIONS"
    with pytest.raises(JsonError):
        Engine("{")


def test_engine_options_as_mapping_or_text() -> None:
    assert isinstance(Engine({}), Engine)
    assert isinstance(Engine("{}"), recsys_core._native.Engine)
    assert Engine(None).call_dict("etag", {"b": 1})["canonical"] == '{"b": 1}'


def test_engine_is_frozen() -> None:
    engine = Engine()
    with pytest.raises(AttributeError):
        engine.extra = 1  # type: ignore[attr-defined]


def test_call_dict_and_json_variants_raise_the_same_errors() -> None:
    engine = Engine()
    with pytest.raises(UnknownOperationError):
        engine.call_dict("nope", {})
    # Named operations are forwarded to the core; whatever it answers, errors are typed.
    for call in (
        lambda: engine.recommend_json("{", "{}"),
        lambda: engine.validate({"k": 1}, "{"),
        lambda: engine.similar_json("[", "]"),
        lambda: engine.load_snapshot_json("{"),
    ):
        with pytest.raises(RecsysError):
            call()


@pytest.mark.parametrize(
    "code,cls",
    [
        ("RECSYS_INVALID_REQUEST", ValidationError),
        ("RECSYS_INVALID_CONFIG", ValidationError),
        ("RECSYS_UNPROCESSABLE_ENTITY", ValidationError),
        ("RECSYS_VALIDATION_FAILED", ValidationError),
        ("RECSYS_JSON_SYNTAX", JsonError),
        ("RECSYS_VERSION_MISMATCH", VersionMismatchError),
        ("RECSYS_ARTIFACT_INCOMPATIBLE", ArtifactError),
        ("RECSYS_OVERLOADED", OverloadedError),
        ("RECSYS_FORBIDDEN", ForbiddenError),
        ("RECSYS_TENANT_NOT_FOUND", NotFoundError),
        ("RECSYS_UNKNOWN_OPERATION", UnknownOperationError),
        ("RECSYS_INTERNAL", InternalError),
        ("RECSYS_SOMETHING_NEW", RecsysError),
    ],
)
def test_code_to_class(code: str, cls: type) -> None:
    assert error_class_for(code) is cls
    e = _from_native(json.dumps({"code": code, "status": 409, "message": "m"}))
    assert type(e) is cls and e.code == code and e.status == 409


def test_extra_members_are_kept_in_details() -> None:
    e = _from_native(
        '{"code":"RECSYS_VERSION_MISMATCH","status":409,"message":"stale",'
        '"problems":[{"path":"$","code":"X","message":"y"}],"current_version":"abc"}'
    )
    assert isinstance(e, VersionMismatchError)
    assert e.details["current_version"] == "abc"
    assert e.problems == [{"path": "$", "code": "X", "message": "y"}]


def test_malformed_native_error_becomes_internal() -> None:
    e = _from_native("not json")
    assert isinstance(e, InternalError) and e.code == "RECSYS_INTERNAL"


def test_errors_pickle() -> None:
    with pytest.raises(RecsysError) as info:
        Engine().call("frobnicate", "{}")
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is UnknownOperationError
    assert (copy.code, copy.status, copy.message, copy.details) == (
        info.value.code,
        info.value.status,
        info.value.message,
        info.value.details,
    )
