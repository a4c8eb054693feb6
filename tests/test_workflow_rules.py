"""The house rules of workflow code, read from its source: what it may import and which calls it must not make.

The main worker passes the `workflows` package through Temporal's sandbox (workers/main_queue.py: imported once per
process, a journey's worker CPU cut by about a fifth), so the sandbox no longer stops a workflow that calls
`datetime.now()` or `random.random()` while it runs there. The replay tests still run every saved history in the
full sandbox; this test covers every line of workflow code, whether a saved history reaches it or not."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

WORKFLOWS = sorted((Path(__file__).resolve().parent.parent / "workflows").glob("*.py"))

# Imported at module level: Temporal, and standard modules with nothing non-deterministic in what workflows use.
MODULE_IMPORTS = ("__future__", "temporalio", "datetime", "typing", "asyncio", "dataclasses", "collections.abc")
# Inside `workflow.unsafe.imports_passed_through()`: payloads, pure rules, and activity references.
PASSED_THROUGH = ("models.payloads", "domain", "activities")
# Calls that read the clock, draw randomness, sleep for real or do I/O: workflow.now(), workflow.random(),
# workflow.uuid4(), workflow.sleep / timers and activities instead.
FORBIDDEN_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("asyncio", "sleep"),
}
FORBIDDEN_NAMES = {"open", "print", "input", "breakpoint"}


def _within(module: str, allowed: tuple[str, ...]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in allowed)


def _passed_through(node: ast.With) -> bool:
    return any("imports_passed_through" in ast.unparse(item.context_expr) for item in node.items)


def _problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[str] = []
    passthrough_lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.With) and _passed_through(node):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    passthrough_lines.add(inner.lineno)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            allowed = PASSED_THROUGH if node.lineno in passthrough_lines else MODULE_IMPORTS
            found += [f"line {node.lineno}: imports {m}" for m in modules if not _within(m, allowed)]
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                if (func.value.id, func.attr) in FORBIDDEN_CALLS:
                    found.append(f"line {node.lineno}: calls {func.value.id}.{func.attr}()")
            elif isinstance(func, ast.Name) and func.id in FORBIDDEN_NAMES:
                found.append(f"line {node.lineno}: calls {func.id}()")
    return found


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_code_imports_and_calls_only_what_replays_the_same(path: Path) -> None:
    assert _problems(path) == []


def test_the_rules_catch_what_they_are_for(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import random\n"
        "from datetime import datetime\n"
        "from temporalio import workflow\n"
        "with workflow.unsafe.imports_passed_through():\n"
        "    from sqlalchemy import text\n"
        "    from domain.filters import compile_filter\n"
        "def run():\n"
        "    return datetime.now(), open('x')\n"
    )
    assert _problems(bad) == [
        "line 1: imports random",
        "line 5: imports sqlalchemy",
        "line 8: calls datetime.now()",
        "line 8: calls open()",
    ]
