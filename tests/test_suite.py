"""The test suite's own rules: test modules share code through helper modules, never by
importing each other, and every test module keeps tests in the fast tier (-m "not slow")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
TEST_MODULES = sorted(TESTS.glob("test_*.py"))
SLOW = "pytest.mark.slow"


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


@pytest.mark.parametrize("path", TEST_MODULES, ids=lambda path: path.name)
def test_a_test_module_imports_no_other_test_module(path):
    imported = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    others = sorted(name for name in imported if name.rpartition(".")[2].startswith("test_"))
    assert not others, f"move what {path.name} takes from {others} to a helper module"


@pytest.mark.parametrize("path", TEST_MODULES, ids=lambda path: path.name)
def test_a_test_module_keeps_tests_in_the_fast_tier(path):
    tree = _tree(path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "pytestmark" for target in node.targets
        ):
            assert SLOW not in ast.unparse(node.value), f"{path.name} is slow as a whole"
    fast = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and node.name.startswith("test_")
        and SLOW not in map(ast.unparse, node.decorator_list)
    ]
    assert fast, f"every test of {path.name} is marked slow: keep a quick one in the fast tier"
