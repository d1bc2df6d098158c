"""Running a command for each person who entered or left a segment (SPEC 5.3).

The command runs through the shell, once per change, a few at a time, with the change as
a JSON object on its standard input and as ``SEGCLI_*`` environment variables. Each run
that exits 0 is recorded in the store (table ``deliveries``, by segment, command, dates,
person and change) and is not run again for that change; a run that fails is reported
and runs again next time. The guarantee is at least once: a change whose command
succeeded but whose record was not written (segcli killed in between) runs again.

Two deliveries at once take turns: each holds a lock on a file beside the database
(``DB.hooks.lock``) while it runs, so that the second finds what the first delivered.
"""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from segcli.errors import SegcliError
from segcli.files import OWNER_ONLY
from segcli.output import cell_text, json_text
from segcli.segments.changes import EVENT_FIELDS
from segcli.segments.export import value_of

if TYPE_CHECKING:
    from segcli.store.db import Store

# The exit code of `segment changes --exec` when a command failed for some change.
HOOKS_FAILED_EXIT = 5
# Successful runs recorded together: a crash runs at most these again.
_RECORD_EVERY = 50
# The lines of a failed command's stderr shown.
_SHOWN_LINES = 3


class HooksFailed(SegcliError):
    """The command failed for some changes; they run again next time."""

    exit_code = HOOKS_FAILED_EXIT


@dataclass
class Delivery:
    """What a delivery did."""

    delivered: int = 0
    before: int = 0
    failures: list[str] = field(default_factory=list)


def event_fields(fields: list[str]) -> list[str]:
    """The fields of a change as the command gets them: what each change is, then
    ``fields``."""
    return list(dict.fromkeys([*EVENT_FIELDS, "person_key", *fields]))


def event_json(row: dict, names: list[str]) -> str:
    return json_text({name: value_of(row, name) for name in names}, indent=None)


def event_environment(row: dict, names: list[str]) -> dict[str, str]:
    """``SEGCLI_NAME`` for each field (``custom.tier`` is ``SEGCLI_CUSTOM_TIER``), its
    value as a CSV cell would have it without formula escaping; empty when unset."""
    return {
        "SEGCLI_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper(): cell_text(value_of(row, name))
        for name in names
    }


@contextmanager
def delivery_lock(db_path: Path, on_wait: Callable[[], None]) -> Iterator[None]:
    """Hold the deliveries' lock of the database at ``db_path``; released by the
    system if segcli dies."""
    path = Path(f"{db_path}.hooks.lock")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, OWNER_ONLY)
    except OSError as error:
        raise SegcliError(f"cannot create {path}: {error.strerror}") from error
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _delivered(store: Store, segment: str, command: str, start: str, end: str) -> set[tuple]:
    rows = store.execute(
        "SELECT person_key, change FROM deliveries WHERE segment = ? AND command = ? "
        "AND from_date = ? AND to_date = ?",
        (segment, command, start, end),
    ).fetchall()
    return {tuple(row) for row in rows}


def _record(store: Store, segment: str, command: str, rows: list[dict]) -> None:
    if not rows:
        return
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    with store.transaction():
        store.conn.executemany(
            "INSERT OR IGNORE INTO deliveries "
            "(segment, command, from_date, to_date, person_key, change, delivered_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (segment, command, r["from_date"], r["to_date"], r["person_key"], r["change"], now)
                for r in rows
            ],
        )
    rows.clear()


def _run(command: str, row: dict, names: list[str]) -> tuple[int, str]:
    """Run the command for one change: its exit code and the end of its stderr."""
    env = {**os.environ, **event_environment(row, names)}
    try:
        done = subprocess.run(
            ["/bin/sh", "-c", command],
            input=event_json(row, names) + "\n",
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as error:
        return 127, str(error)
    tail = "\n".join(done.stderr.strip().splitlines()[-_SHOWN_LINES:])
    return done.returncode, tail


def deliver(
    store: Store,
    segment: str,
    rows: list[dict],
    command: str,
    fields: list[str],
    *,
    jobs: int,
    on_wait: Callable[[], None],
) -> Delivery:
    """Run ``command`` for each change in ``rows`` not delivered before; a record of each
    that succeeded. Failures are listed in the result, in the order of ``rows``."""
    names = event_fields(fields)
    result = Delivery()
    with delivery_lock(store.path, on_wait):
        by_dates: dict[tuple[str, str], set[tuple]] = {}
        pending = []
        for row in rows:
            dates = (row["from_date"], row["to_date"])
            if dates not in by_dates:
                by_dates[dates] = _delivered(store, segment, command, *dates)
            if (row["person_key"], row["change"]) in by_dates[dates]:
                result.before += 1
            else:
                pending.append(row)
        done: list[dict] = []
        failed: dict[int, str] = {}
        try:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                runs = {pool.submit(_run, command, row, names): i for i, row in enumerate(pending)}
                for future in as_completed(runs):
                    i = runs[future]
                    code, tail = future.result()
                    if code == 0:
                        done.append(pending[i])
                        result.delivered += 1
                        if len(done) >= _RECORD_EVERY:
                            _record(store, segment, command, done)
                    else:
                        row = pending[i]
                        said = f": {tail}" if tail else ""
                        failed[i] = (
                            f"{row['change']} {row['person_key']}: the command exited "
                            f"with {code}{said}"
                        )
        finally:
            _record(store, segment, command, done)
        result.failures = [failed[i] for i in sorted(failed)]
    return result
