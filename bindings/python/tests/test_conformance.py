"""Runs the language-neutral conformance corpus exactly as the Rust runner does.

Case data is never re-serialised: `conformance_split` returns the raw JSON texts, which go
to the engine verbatim, and the comparison input is built by string concatenation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from recsys_core import Engine, RecsysError, call_static


def _run_case(text: str) -> Dict[str, Any]:
    split: Dict[str, Any] = json.loads(call_static("conformance_split", text))
    name = split["name"]
    engine = Engine(split["engine"]) if split["engine"] is not None else Engine()
    if split["documents"] is not None:
        try:
            engine.call("load_snapshot", split["documents"])
        except RecsysError as e:
            return {"name": name, "pass": False, "why": f"load_snapshot failed: {e.details}"}
    try:
        actual = engine.call(split["call"], split["input"])
    except RecsysError as e:
        actual = '{"error":' + e.error_json + "}"
    cmp: Dict[str, Any] = json.loads(
        call_static("conformance_compare", '{"expect":' + split["expect"] + ',"actual":' + actual + "}")
    )
    return {
        "name": name,
        "pass": cmp["pass"] is True,
        "why": f"expected {cmp['expected']}\n  actual   {cmp['actual']}",
    }


def test_conformance_corpus(repo_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = sorted((repo_root / "recsys-core/tests/conformance/cases").glob("*.json"))
    assert cases, "the conformance corpus must not be empty"
    results = [_run_case(p.read_text(encoding="utf-8")) for p in cases]
    failed: List[str] = [f"{r['name']}:\n  {r['why']}" for r in results if not r["pass"]]
    with capsys.disabled():
        print(f"\nconformance: {len(results) - len(failed)} passed, {len(failed)} failed")
    assert not failed, "conformance failures:\n" + "\n".join(failed)
