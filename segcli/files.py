"""Files written whole or not at all: under a temporary name beside them, renamed when done.

A reader never sees half a file (an export cut short by a full disk, a segment file by a
kill), and a failed write leaves the previous file as it was and no temporary file behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

# Exports and rejected rows hold personal data: only their owner may read them.
OWNER_ONLY = 0o600


class PendingFile:
    """A text file being written under a temporary name in ``path``'s directory, created
    with ``mode``; ``commit`` gives it its name, ``discard`` removes it."""

    def __init__(self, path: Path, *, mode: int = OWNER_ONLY, newline: str = ""):
        self.path = path
        handle, self._temporary = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
        )
        try:
            os.fchmod(handle, mode)
            self.file: IO[str] = open(handle, "w", encoding="utf-8", newline=newline)  # noqa: SIM115
        except BaseException:
            os.close(handle)
            os.unlink(self._temporary)
            raise

    def commit(self) -> None:
        """Close the file and rename it into place (replacing any file of that name)."""
        self.file.close()
        os.replace(self._temporary, self.path)

    def discard(self) -> None:
        """Close the file and remove it; the file at ``path``, if any, is left as it was."""
        self.file.close()
        if os.path.exists(self._temporary):
            os.unlink(self._temporary)


@contextmanager
def atomic_write(path: Path, *, mode: int = OWNER_ONLY, newline: str = "") -> Iterator[IO[str]]:
    """The open file to write ``path`` through: renamed into place when the block ends,
    removed if it raises (or the rename fails)."""
    pending = PendingFile(path, mode=mode, newline=newline)
    try:
        yield pending.file
        pending.commit()
    except BaseException:
        pending.discard()
        raise
