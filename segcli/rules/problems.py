"""Problems found in segment files: each names file, line, column, key and what to do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Pos:
    """A 1-based line and column in a segment file."""

    line: int
    column: int


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a segment file."""

    path: str
    pos: Pos
    message: str
    key: str | None = None
    hint: str | None = None
    snippet: str | None = None

    def __str__(self) -> str:
        text = f"{self.path}:{self.pos.line}:{self.pos.column}: {self.message}"
        if self.hint:
            text += f"; {self.hint}"
        if self.snippet is not None:
            text += (
                f"\n    {self.pos.line} | {self.snippet}\n"
                + " " * (len(str(self.pos.line)) + 7 + self.pos.column - 1)
                + "^"
            )
        return text
