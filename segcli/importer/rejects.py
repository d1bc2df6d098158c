"""Rejected rows: kept on disk while a file is read, then shown and written to --rejects."""

from __future__ import annotations

import csv
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from segcli.errors import SegcliError
from segcli.files import PendingFile


@dataclass(frozen=True)
class Reject:
    """A rejected row: the line it starts on and why it was rejected."""

    line: int
    reason: str


class RejectLog:
    """Rejected rows of one file, in a scratch database so memory stays bounded.

    It lives outside the store's transaction: a dry run or a --strict refusal rolls the
    import back but must still report what was rejected.
    """

    def __init__(self) -> None:
        handle, self._path = tempfile.mkstemp(prefix="segcli-rejects-", suffix=".db")
        os.close(handle)
        self._conn = sqlite3.connect(self._path, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode = OFF")
        self._conn.execute("PRAGMA synchronous = OFF")
        self._conn.execute("CREATE TABLE rejects (line INTEGER NOT NULL, reason TEXT NOT NULL)")
        self.count = 0

    def add_many(self, rejects: Iterable[tuple[int, str]]) -> None:
        before = self._conn.total_changes
        self._conn.execute("BEGIN")
        self._conn.executemany("INSERT INTO rejects VALUES (?, ?)", rejects)
        self._conn.execute("COMMIT")
        self.count += self._conn.total_changes - before

    def first(self, limit: int) -> list[Reject]:
        rows = self._conn.execute(
            "SELECT line, reason FROM rejects ORDER BY line LIMIT ?", (limit,)
        ).fetchall()
        return [Reject(line, reason) for line, reason in rows]

    def in_line_order(self) -> Iterator[Reject]:
        for line, reason in self._conn.execute("SELECT line, reason FROM rejects ORDER BY line"):
            yield Reject(line, reason)

    def close(self) -> None:
        self._conn.close()
        os.unlink(self._path)


class RejectsFile:
    """The --rejects CSV: the original columns plus ``line`` and ``reason``.

    Written under a temporary name and renamed when complete, readable by its owner only
    (rejected rows hold personal data). With several input files the columns are the
    union of their headers, and a ``file`` column says where each row came from.
    """

    def __init__(self, path: Path, columns: list[str], *, with_file_column: bool):
        self.path = path
        if path.is_dir():
            raise SegcliError(f"--rejects {path} is a directory; give a file name")
        if not path.parent.exists():
            raise SegcliError(f"--rejects {path}: directory {path.parent} does not exist")
        self.columns = list(columns)
        self.with_file_column = with_file_column
        # segcli's own columns, renamed if the file already has a column of that name.
        own = ["line", "reason", *(["file"] if with_file_column else [])]
        self.own = {name: _free_name(name, self.columns) for name in own}
        fieldnames = [*self.columns, *self.own.values()]
        self._pending = PendingFile(path)
        self._writer = csv.DictWriter(self._pending.file, fieldnames=fieldnames, restval="")
        self._writer.writeheader()
        self.rows = 0

    def write(self, source: str, header: list[str], fields: list[str], reject: Reject) -> None:
        row: dict[str, str] = {}
        for name, value in zip(header, fields, strict=False):
            row.setdefault(name, value)
        row[self.own["line"]] = str(reject.line)
        row[self.own["reason"]] = reject.reason
        if self.with_file_column:
            row[self.own["file"]] = source
        self._writer.writerow(row)
        self.rows += 1

    def commit(self) -> None:
        self._pending.commit()

    def discard(self) -> None:
        self._pending.discard()


def _free_name(name: str, taken: list[str]) -> str:
    while name in taken:
        name = f"rejected_{name}"
    return name
