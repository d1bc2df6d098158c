"""segcli's error types: each carries the facts a merchant needs to fix the problem."""

from __future__ import annotations

from pathlib import Path


class SegcliError(Exception):
    """A problem the user can fix: reported as one clear message and exit code 1 (or a
    code of its own that scripts act on: ``exit_code``)."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class StoreError(SegcliError):
    """The database cannot be opened, created or written."""


class StoreBusy(StoreError):
    """Another process holds the database's write lock for longer than the busy timeout."""


class ImportRefused(SegcliError):
    """A whole file is refused: nothing from it is written."""

    def __init__(
        self,
        path: Path | str,
        message: str,
        *,
        line: int | None = None,
        hint: str | None = None,
    ):
        where = f"{path}" if line is None else f"{path}, line {line}"
        super().__init__(f"{where}: {message}", hint=hint)
        self.path = str(path)
        self.line = line


class BadValue(ValueError):
    """A value in a CSV cell that cannot be read; the row that holds it is rejected."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
