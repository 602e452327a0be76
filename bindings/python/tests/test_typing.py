"""The typed usage file (checked by mypy --strict in ci.sh) also runs against the build."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def test_typed_usage_runs() -> None:
    spec = importlib.util.spec_from_file_location("typing_usage", Path(__file__).with_name("typing_usage.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.exercise()
    assert "ValidationError" in out
    assert len(out) > 10
