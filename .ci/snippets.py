#!/usr/bin/env python3
"""Runs the code blocks of the READMEs and docs, as a new user would.

usage: snippets.py [--only LANG,...] FILE...      run the blocks of FILEs (paths from the repo root)
       snippets.py --coverage                     check that every block of every tracked *.md is run by a CI stage

Every fenced block must name its language. Per file, in document order:

* ``sh`` / ``bash``: run at once with ``bash -euo pipefail`` from the repository root;
* ``python``: the file's python blocks form one script (later blocks use earlier names), run
  with ``$PYTHON`` (default ``python3``) from the repository root;
* ``js``: likewise one script, written into the binding's directory (``bindings/node`` or
  ``bindings/wasm``, so ``require('recsys-core')`` and ``./pkg-node/...`` resolve as in an app
  there) and run with ``node`` from the repository root; ESM when it uses ``import``;
* ``c``: each block is a whole program. A block starting with ``/* app.c`` is what the file's
  shell blocks compile: it is saved as ``app.c`` in the repository root before they run (and
  removed with ``app`` afterwards). Other C blocks are compiled here against
  ``$RECSYS_C_LIB`` and run;
* ``json`` / ``toml`` / ``yaml``: must parse (``yaml`` needs PyYAML: run such files with a
  Python that has it, e.g. examples/python-service's venv);
* ``rust``: run as doc tests by ``cargo test`` (``recsys-core/src/lib.rs`` includes the files
  listed in ``RUST_DOCTEST_FILES``);
* ``text``: not run (output shown for reading). Keep these rare.

Snippets see ``RECSYS_SNIPPET=1`` in their environment.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
RUST_DOCTEST_FILES = ["README.md", "docs/bindings/rust.md"]
# Which CI script runs which files (with `--only`), so --coverage can prove every block runs.
STAGES: Dict[str, Tuple[List[str], List[str]]] = {
    "bindings/python/ci.sh": (["python", "sh"], ["bindings/python/README.md", "docs/bindings/python.md"]),
    "bindings/node/ci.sh": (["js", "sh"], ["bindings/node/README.md", "docs/bindings/node.md"]),
    "bindings/wasm/ci.sh": (["js", "sh"], ["bindings/wasm/README.md", "docs/bindings/wasm.md"]),
    "bindings/c/ci.sh": (["c", "sh", "json", "toml"],
                         ["bindings/c/README.md", "docs/bindings/c.md", "README.md", "docs/bindings/rust.md"]),
    # Its venv has PyYAML.
    # After the bench step, so the bench binaries are built.
    ".ci/run": (["sh"], ["docs/performance.md", "fuzz/regressions/README.md"]),
    "examples/python-service/ci.sh": (["json", "yaml"],
                                      ["docs/formats.md", "docs/observability.md", "docs/performance.md"]),
}
# Blocks no CI stage runs yet, by file and first line, each with the reason. Only ever shrink
# this list: a block not named here (a new one, or an edited first line) must be run by a stage.
NOT_YET_RUN: Dict[Tuple[str, str], str] = {
    ("docs/operations.md", "gunicorn --workers 4 --worker-class uvicorn.workers.UvicornWorker --bind 0.0.0.0:8000 'recsys_service.app:app_from_env()'"):
        "starts a server that does not exit",
    ("examples/python-service/README.md", "gunicorn --workers 4 --worker-class uvicorn.workers.UvicornWorker --bind 0.0.0.0:8000 'recsys_service.app:app_from_env()'"):
        "starts a server that does not exit",
    ("examples/python-service/README.md", "bash examples/python-service/ci.sh                                    # venv + binding build + PostgreSQL + tests"):
        "runs CI itself, then a server that does not exit",
    ("examples/node-service/README.md", "bash bindings/node/ci.sh                        # once: builds the Node binding (and tests it)"):
        "runs CI itself, then a server that does not exit",
    ("examples/node-service/README.md", "cd examples/node-service && npm ci"):
        "starts a server that does not exit (and needs PostgreSQL at /tmp/pg)",
    ("examples/node-service/README.md", "bash examples/node-service/ci.sh"):
        "is the CI stage itself",
    ("examples/edge-worker/README.md", "bash bindings/wasm/ci.sh             # once: the WASM build (writes bindings/wasm/pkg-web)"):
        "runs CI itself",
    ("examples/edge-worker/README.md", "cd examples/edge-worker"):
        "starts a server that does not exit",
    ("docs/performance.md", "python3 ../shared/bench/gen_workload.py --items 100000 --rules 0,100,1000,10000 --out target/wl/WL100k"):
        "needs the workload generator, which is not in the repository",
    ("docs/performance.md", "python3 ../shared/bench/gen_workload.py --items 1000000 --rules 1000 --out /tmp/wl1m"):
        "needs the workload generator, which is not in the repository; minutes of benches",
    ("docs/performance.md", "CARGO_TARGET_DIR=/tmp/prof CARGO_PROFILE_BENCH_DEBUG=true \\"):
        "a second bench build with debug info and a perf profile: over CI's time budget",
    ("docs/performance.md", "bash bindings/python/ci.sh; bash bindings/node/ci.sh; bash bindings/wasm/ci.sh; bash bindings/c/ci.sh"):
        "runs CI itself, then the binding benches",
    ("docs/performance.md", "python3 ../shared/bench/gen_workload.py --items 100000 --rules 100 --out target/bench/WL100k"):
        "needs the workload generator, which is not in the repository",
    ("fuzz/README.md", "# every target, FUZZ_SECONDS each (default 10); skips with a message when nightly or cargo-fuzz is missing"):
        "minutes of fuzzing on nightly",
}
KNOWN = {"sh", "bash", "python", "js", "c", "json", "toml", "yaml", "rust", "text"}
FENCE = re.compile(r"^(```+|~~~+)\s*([^\s`]*)")


def blocks(path: Path) -> List[Tuple[int, str, str]]:
    """(line, language, code) of every fenced block."""
    out: List[Tuple[int, str, str]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, lang, start = m.group(1), m.group(2).lower(), i + 1
        body: List[str] = []
        i += 1
        while i < len(lines) and not lines[i].startswith(fence):
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise SystemExit(f"{path}:{start}: unclosed code block")
        out.append((start, lang, "\n".join(body) + "\n"))
        i += 1
    return out


def first_line(code: str) -> str:
    """How NOT_YET_RUN names a block."""
    return code.splitlines()[0] if code.strip() else ""


def run(cmd: List[str], where: str, **kw: object) -> None:
    env = {**os.environ, "RECSYS_SNIPPET": "1"}
    r = subprocess.run(cmd, cwd=ROOT, env=env, text=True, capture_output=True, **kw)  # type: ignore[call-overload]
    if r.returncode != 0:
        sys.stdout.write(r.stdout)
        sys.stderr.write(r.stderr)
        raise SystemExit(f"{where}: failed (exit {r.returncode})")
    print(f"  ok {where}")


def parse(lang: str, code: str, where: str) -> None:
    """A data block must parse; the error names the block."""
    try:
        if lang == "json":
            json.loads(code)
        elif lang == "toml":
            tomllib.loads(code)
        else:
            import yaml  # type: ignore[import-untyped]  # only files with yaml blocks need PyYAML

            yaml.safe_load(code)
    except ImportError as e:
        raise SystemExit(f"{where}: cannot parse yaml here ({e}); run with a Python that has PyYAML")
    except Exception as e:  # each parser has its own error type
        raise SystemExit(f"{where}: does not parse: {e}")
    print(f"  ok {where}")


def js_home(rel: str) -> Path:
    return ROOT / ("bindings/wasm" if "wasm" in rel else "bindings/node")


def run_file(rel: str, only: List[str]) -> int:
    path = ROOT / rel
    found = blocks(path)
    sessions: Dict[str, List[str]] = {"python": [], "js": []}
    app_c = ROOT / "app.c"
    ran = 0
    try:
        # The program the shell blocks build, saved before any of them runs (the guide says
        # "save it as app.c" whether it comes before or after the commands).
        for _, lang, code in found:
            if lang == "c" and code.lstrip().startswith("/* app.c"):
                app_c.write_text(code)
        for line, lang, code in found:
            where = f"{rel}:{line} ({lang})"
            if lang not in KNOWN:
                raise SystemExit(f"{where}: unknown or missing language on the fence")
            if lang in ("text", "rust") or (lang not in only and not (lang == "bash" and "sh" in only)):
                continue
            if (rel, first_line(code)) in NOT_YET_RUN:
                print(f"  not run {where}: {NOT_YET_RUN[(rel, first_line(code))]}")
                continue
            ran += 1
            if lang in ("sh", "bash"):
                run(["bash", "-euo", "pipefail", "-c", code], where)
            elif lang in sessions:
                sessions[lang].append(f"// {where}\n" if lang == "js" else f"# {where}\n")
                sessions[lang].append(code)
            elif lang in ("json", "toml", "yaml"):
                parse(lang, code, where)
            elif lang == "c" and not code.lstrip().startswith("/* app.c"):
                lib = os.environ.get("RECSYS_C_LIB", str(ROOT / "target" / "release"))
                with tempfile.TemporaryDirectory() as tmp:
                    src, exe = Path(tmp) / "snippet.c", Path(tmp) / "snippet"
                    src.write_text(code)
                    run(["cc", "-std=c11", "-Wall", "-Werror", "-I", "bindings/c/include", str(src), "-L", lib,
                         "-lrecsys_ffi", f"-Wl,-rpath,{lib}", "-o", str(exe)], where + " compile")
                    run([str(exe)], where)
        if sessions["python"]:
            with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
                f.write("".join(sessions["python"]))
            try:
                run([os.environ.get("PYTHON", "python3"), f.name], f"{rel} (python blocks)")
            finally:
                os.unlink(f.name)
        if sessions["js"]:
            code = "".join(sessions["js"])
            esm = re.search(r"^\s*import\s", code, re.M) is not None
            script = js_home(rel) / f".snippet-{os.getpid()}.{'mjs' if esm else 'cjs'}"
            script.write_text(code)
            try:
                run(["node", str(script)], f"{rel} (js blocks)")
            finally:
                script.unlink()
    finally:
        for p in (app_c, ROOT / "app"):
            if p.exists():
                p.unlink()
    return ran


def guides() -> List[str]:
    """Every markdown file of the repository (tracked by git), so a new one is checked too."""
    out = subprocess.run(["git", "ls-files", "-z", "--", "*.md"], cwd=ROOT, capture_output=True, check=True)
    return sorted(p for p in out.stdout.decode().split("\0") if p)


def coverage() -> None:
    """Every block of every markdown file is run by some stage (or is text / a Rust doc test)."""
    lib_rs = (ROOT / "recsys-core/src/lib.rs").read_text()
    for rel in RUST_DOCTEST_FILES:
        assert f'include_str!("../../{rel}")' in lib_rs, f"{rel} is not included as doc tests in recsys-core/src/lib.rs"
    problems, pending, files = [], [], guides()
    for rel in files:
        for line, lang, code in blocks(ROOT / rel):
            lang = "sh" if lang == "bash" else lang
            if (rel, first_line(code)) in NOT_YET_RUN:
                pending.append(f"  {rel}:{line} ({lang}): {NOT_YET_RUN[(rel, first_line(code))]}")
                continue
            if lang not in KNOWN:
                problems.append(f"{rel}:{line}: unknown or missing language on the fence")
            elif lang == "rust" and rel not in RUST_DOCTEST_FILES:
                problems.append(f"{rel}:{line}: rust block in a file that is not doc-tested")
            elif lang not in ("text", "rust") and not any(lang in langs and rel in files for langs, files in STAGES.values()):
                problems.append(f"{rel}:{line}: no CI stage runs this {lang} block")
    for script in STAGES:
        assert ".ci/snippets.py" in (ROOT / script).read_text(), f"{script} does not run .ci/snippets.py"
    if problems:
        raise SystemExit("\n".join(problems))
    print(f"snippets: every block of {len(files)} markdown files is run in CI, except {len(pending)} not run yet:")
    print("\n".join(pending))


def main(argv: List[str]) -> None:
    if argv[:1] == ["--coverage"]:
        coverage()
        return
    only = sorted(KNOWN)
    if argv[:1] == ["--only"]:
        only, argv = argv[1].split(","), argv[2:]
    total = 0
    for rel in argv:
        print(f"snippets: {rel}")
        total += run_file(rel, only)
    print(f"snippets: {total} block(s) ran")


if __name__ == "__main__":
    main(sys.argv[1:])
