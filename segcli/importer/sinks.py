"""Where parsed rows go: multi-row INSERT statements of a few hundred rows each.

One statement that inserts hundreds of rows costs SQLite far less per row than one
statement per row; the values are still bound parameters.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from itertools import chain

# SQLite allows 32,766 parameters per statement; stay well inside it.
_PARAMETERS_PER_STATEMENT = 8_000


class Sink:
    """Rows for one table, written in multi-row statements.

    ``into`` is the head of the statement (``INSERT INTO t (a, b)``), ``tail`` what follows
    the values (an ON CONFLICT clause, or nothing). ``computed``, if given, is the SQL of
    one more value per row, computed from the row's values (``column1`` is its first).
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        into: str,
        width: int,
        tail: str = "",
        *,
        computed: str | None = None,
    ):
        self.conn = conn
        self.width = width
        self.per_statement = max(1, _PARAMETERS_PER_STATEMENT // width)
        row = "(" + ", ".join("?" * width) + ")"
        self._many = _statement(into, ", ".join([row] * self.per_statement), tail, computed)
        self._one = _statement(into, row, tail, computed)
        self._pending: list[Sequence] = []
        self.rows = 0

    def add(self, rows: list[Sequence]) -> None:
        pending = self._pending
        pending += rows
        size = self.per_statement
        if len(pending) < size:
            return
        full = len(pending) - len(pending) % size
        for start in range(0, full, size):
            self.conn.execute(self._many, list(chain.from_iterable(pending[start : start + size])))
        self.rows += full
        del pending[:full]

    def flush(self) -> None:
        if self._pending:
            self.conn.executemany(self._one, self._pending)
            self.rows += len(self._pending)
            self._pending.clear()


def _statement(into: str, rows: str, tail: str, computed: str | None) -> str:
    if computed is None:
        return f"{into} VALUES {rows} {tail}"
    # WHERE true: an upsert's SELECT needs a WHERE before its ON CONFLICT (SQLite's parser).
    return f"{into} SELECT *, {computed} FROM (VALUES {rows}) WHERE true {tail}"


class StageSink(Sink):
    """Rows for a staging table, each preceded by the line it came from."""

    def add_lined(self, lines: list[int], columns: list[list]) -> None:
        self.add(list(zip(lines, *columns, strict=True)))
