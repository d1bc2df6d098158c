"""Membership snapshots (SPEC 5.1): who was in a segment as of a date, kept in the store.

A snapshot is stored as the changes since the segment's snapshot of the date before it
(schema migration m012): the first holds every member as an entry, each later one who
entered (+1) and who left (-1). A person was a member at a snapshot when their changes
up to its date add up to 1. Taking a snapshot between two others, or again for its date,
writes the changes of the next one again, so that snapshots taken in any order give the
same members. Each records a digest of its segment's definition: a changed segment file
is told apart from changed customers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from segcli.errors import SegcliError

if TYPE_CHECKING:
    import pyarrow as pa

    from segcli.rules import ast
    from segcli.store.db import Store

# The exit code of a command whose --max-change guard tripped (SPEC 1.3).
GUARD_EXIT = 4


# -----------------------------------------------------------------------------------
# The definition of a segment


def definition_digest(segment: ast.Segment, segments: dict[str, ast.Segment]) -> str:
    """A digest of what the segment means: its criteria, with those of every segment it
    uses through ``in_segment``. Names, titles, descriptions, comments and layout are not
    part of it; a value written another way with the same meaning (``500`` and
    ``500.00``) gives the same digest."""
    text = json.dumps(_canonical(segment.criteria, segments), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _canonical(node: Any, segments: dict[str, ast.Segment]) -> Any:
    from segcli.rules import ast

    if isinstance(node, ast.InSegment):
        used = segments.get(node.name)
        inner = None if used is None else _canonical(used.criteria, segments)
        return {"in_segment": node.name, "criteria": inner}
    if is_dataclass(node) and not isinstance(node, type):
        return {
            "node": type(node).__name__,
            **{
                field.name: _canonical(getattr(node, field.name), segments)
                for field in fields(node)
                if field.name != "pos"
            },
        }
    if isinstance(node, tuple | list):
        return [_canonical(item, segments) for item in node]
    if isinstance(node, bool) or node is None or isinstance(node, str):
        return node
    if isinstance(node, int | Decimal):
        # A number by its value: 500, 500.0 and 5E+2 are one number.
        return {"number": format(Decimal(node).normalize(), "f")}
    if isinstance(node, date | datetime):
        return {"date": node.isoformat()}
    return {"value": str(node)}


# -----------------------------------------------------------------------------------
# Reading snapshots


@dataclass(frozen=True)
class Snapshot:
    """One segment's snapshot as of a date."""

    segment: str
    as_of: date
    definition: str
    members: int
    entered: int
    exited: int
    taken_at: str


_COLUMNS = "segment, as_of, definition, members, entered, exited, taken_at"


def _snapshot(row: Sequence[Any]) -> Snapshot:
    segment, as_of, definition, members, entered, exited, taken_at = row
    return Snapshot(
        segment, date.fromisoformat(as_of), definition, members, entered, exited, taken_at
    )


def snapshots_of(store: Store, segment: str) -> list[Snapshot]:
    """The segment's snapshots, oldest first."""
    rows = store.execute(
        f"SELECT {_COLUMNS} FROM snapshots WHERE segment = ? ORDER BY as_of", (segment,)
    ).fetchall()
    return [_snapshot(row) for row in rows]


def snapshot_on(store: Store, segment: str, day: date) -> Snapshot | None:
    row = store.execute(
        f"SELECT {_COLUMNS} FROM snapshots WHERE segment = ? AND as_of = ?",
        (segment, day.isoformat()),
    ).fetchone()
    return None if row is None else _snapshot(row)


def latest_before(store: Store, segment: str, day: date) -> Snapshot | None:
    """The segment's latest snapshot of a date before ``day``."""
    row = store.execute(
        f"SELECT {_COLUMNS} FROM snapshots WHERE segment = ? AND as_of < ? "
        "ORDER BY as_of DESC LIMIT 1",
        (segment, day.isoformat()),
    ).fetchone()
    return None if row is None else _snapshot(row)


def _earliest_after(store: Store, segment: str, day: date) -> tuple[int, date] | None:
    row = store.execute(
        "SELECT snapshot_id, as_of FROM snapshots WHERE segment = ? AND as_of > ? "
        "ORDER BY as_of LIMIT 1",
        (segment, day.isoformat()),
    ).fetchone()
    return None if row is None else (row[0], date.fromisoformat(row[1]))


_MEMBER_IDS_SQL = """
    SELECT c.key_id FROM snapshot_changes c
    JOIN snapshots s ON s.snapshot_id = c.snapshot_id
    WHERE s.segment = ? AND s.as_of <= ?
    GROUP BY c.key_id HAVING sum(c.change) = 1
"""


def member_keys_at(store: Store, segment: str, day: date) -> set[str]:
    """The person keys of the members recorded by the segment's snapshots up to ``day``
    (those of its snapshot of ``day``, when it has one)."""
    rows = store.execute(
        f"SELECT p.person_key FROM ({_MEMBER_IDS_SQL}) m "
        "JOIN snapshot_people p ON p.key_id = m.key_id",
        (segment, day.isoformat()),
    ).fetchall()
    return {row[0] for row in rows}


def _member_ids(store: Store, segment: str, day: date) -> pa.Array:
    import pyarrow as pa

    rows = store.execute(_MEMBER_IDS_SQL, (segment, day.isoformat())).fetchall()
    return pa.array([row[0] for row in rows], type=pa.int64())


# -----------------------------------------------------------------------------------
# The guard for automated sends


class GuardTripped(SegcliError):
    """A segment's size moved more than --max-change allows: nothing is written."""

    exit_code = GUARD_EXIT


def moved_percent(before: int, after: int) -> Decimal | None:
    """How far a size moved, in percent of ``before``; None when it grew from nothing."""
    if before == 0:
        return Decimal(0) if after == 0 else None
    return (Decimal(abs(after - before)) * 100 / Decimal(before)).quantize(Decimal("0.1"))


def check_moves(moves: list[tuple[str, date, int, int]], limit: Decimal, what: str) -> None:
    """Refuse (GuardTripped) when a segment's size moved more than ``limit`` percent:
    ``moves`` are (segment, date of the earlier size, earlier size, size now)."""
    tripped = []
    for segment, day, before, after in moves:
        percent = moved_percent(before, after)
        if percent is None or percent > limit:
            by = "from nothing" if percent is None else f"{percent}%"
            tripped.append(
                f"  {segment}: {before:,} -> {after:,} members ({by}) since {day.isoformat()}"
            )
    if tripped:
        moved = "sizes" if len(tripped) > 1 else "size"
        raise GuardTripped(
            f"segment {moved} moved more than --max-change {limit}%: {what}\n" + "\n".join(tripped),
            hint="check the day's imports; run again without --max-change (or a larger one) "
            "if the move is real",
        )


# -----------------------------------------------------------------------------------
# Taking snapshots


@dataclass(frozen=True)
class Taken:
    """What taking one segment's snapshot did: ``taken`` (new), ``kept`` (one of this
    date and definition was there), ``replaced`` (one of this date was taken again)."""

    segment: str
    as_of: date
    outcome: str
    members: int
    entered: int
    exited: int


def needs_taking(store: Store, segment: str, day: date, definition: str, replace: bool) -> bool:
    """Whether the segment's snapshot of ``day`` is to be taken: there is none, its
    definition changed, or ``replace``."""
    existing = snapshot_on(store, segment, day)
    return replace or existing is None or existing.definition != definition


def record(
    store: Store,
    day: date,
    taking: list[tuple[str, str, Sequence[str]]],
) -> list[Taken]:
    """Record the snapshots of ``day`` of each (segment, definition, member keys), in one
    transaction. A snapshot of that date is replaced."""
    import pyarrow as pa

    taken_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    results = []
    with store.transaction():
        numbered = _numbered(store, [pa.array(keys, type=pa.string()) for _, _, keys in taking])
        for (segment, definition, _), ids in zip(taking, numbered, strict=True):
            results.append(_record_one(store, segment, day, definition, ids, taken_at))
    return results


def _numbered(store: Store, key_arrays: list[pa.Array]) -> list[pa.Array]:
    """Each array of person keys as the numbers snapshot_people gives them; people not
    numbered yet get the next numbers. All arrays are looked up at once: a lookup builds
    a hash table of every numbered key, which at 100,000 people costs more than the
    lookup itself."""
    import pyarrow as pa
    import pyarrow.compute as pc

    known = store.execute("SELECT person_key, key_id FROM snapshot_people").fetchall()
    known_keys = pa.array([row[0] for row in known], type=pa.string())
    known_ids = pa.array([row[1] for row in known], type=pa.int64())
    every = pa.concat_arrays([pa.array([], type=pa.string()), *key_arrays])
    ids = pc.take(known_ids, pc.index_in(every, value_set=known_keys))
    missing = pc.is_null(ids)
    if pc.any(missing).as_py():
        fresh = pc.unique(pc.filter(every, missing)).sort()
        first = (store.scalar("SELECT max(key_id) FROM snapshot_people") or 0) + 1
        fresh_ids = pa.array(range(first, first + len(fresh)), type=pa.int64())
        store.conn.executemany(
            "INSERT INTO snapshot_people (key_id, person_key) VALUES (?, ?)",
            zip(fresh_ids.to_pylist(), fresh.to_pylist(), strict=True),
        )
        new_ids = pc.take(fresh_ids, pc.index_in(every, value_set=fresh))
        ids = pc.coalesce(ids, new_ids)
    numbered = []
    at = 0
    for keys in key_arrays:
        numbered.append(ids.slice(at, len(keys)))
        at += len(keys)
    return numbered


def _changes(before: pa.Array, after: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Who entered and who left between two sets of people, by number."""
    import pyarrow.compute as pc

    entered = pc.filter(after, pc.invert(pc.is_in(after, value_set=before)))
    exited = pc.filter(before, pc.invert(pc.is_in(before, value_set=after)))
    return entered, exited


def _write_changes(store: Store, snapshot_id: int, entered: pa.Array, exited: pa.Array) -> None:
    store.execute("DELETE FROM snapshot_changes WHERE snapshot_id = ?", (snapshot_id,))
    rows = [(snapshot_id, key, 1) for key in entered.to_pylist()]
    rows += [(snapshot_id, key, -1) for key in exited.to_pylist()]
    rows.sort()
    store.conn.executemany(
        "INSERT INTO snapshot_changes (snapshot_id, key_id, change) VALUES (?, ?, ?)", rows
    )


def _record_one(
    store: Store, segment: str, day: date, definition: str, ids: pa.Array, taken_at: str
) -> Taken:
    import pyarrow as pa

    previous = latest_before(store, segment, day)
    before = (
        _member_ids(store, segment, previous.as_of)
        if previous is not None
        else pa.array([], type=pa.int64())
    )
    following = _earliest_after(store, segment, day)
    # The next snapshot's members, read before this one changes what its changes add to.
    after_next = None if following is None else _member_ids(store, segment, following[1])
    existing = snapshot_on(store, segment, day)
    if existing is not None:
        store.execute(
            "DELETE FROM snapshot_changes WHERE snapshot_id = "
            "(SELECT snapshot_id FROM snapshots WHERE segment = ? AND as_of = ?)",
            (segment, day.isoformat()),
        )
        store.execute(
            "DELETE FROM snapshots WHERE segment = ? AND as_of = ?", (segment, day.isoformat())
        )
    entered, exited = _changes(before, ids)
    snapshot_id = store.execute(
        "INSERT INTO snapshots (segment, as_of, definition, members, entered, exited, taken_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (segment, day.isoformat(), definition, len(ids), len(entered), len(exited), taken_at),
    ).lastrowid
    assert snapshot_id is not None
    _write_changes(store, snapshot_id, entered, exited)
    if following is not None and after_next is not None:
        next_entered, next_exited = _changes(ids, after_next)
        _write_changes(store, following[0], next_entered, next_exited)
        store.execute(
            "UPDATE snapshots SET entered = ?, exited = ? WHERE snapshot_id = ?",
            (len(next_entered), len(next_exited), following[0]),
        )
    outcome = "taken" if existing is None else "replaced"
    return Taken(segment, day, outcome, len(ids), len(entered), len(exited))
