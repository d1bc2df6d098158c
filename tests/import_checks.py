"""Helpers shared by the tests of what an import refuses and says."""

from __future__ import annotations

from tests.conftest import Segcli, checked


def lines(*rows: str) -> str:
    return "\n".join(rows) + "\n"


def refused(segcli: Segcli, *args, table: str) -> str:
    """Run an import that must be refused: exit 1, nothing in ``table``; returns stderr."""
    result = checked(segcli, *args, exit_code=1)
    assert result.stderr.startswith("Error: "), result.stderr
    assert not segcli.db.exists() or segcli.value(f"SELECT count(*) FROM {table}") == 0
    return result.stderr
