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
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segcli.errors import SegcliError
from segcli.files import OWNER_ONLY

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


def guard(
    store: Store,
    moves: list[tuple[str, date, int]],
    limit: Decimal,
    smallest: int,
    what: str,
) -> list[str]:
    """The --max-change check: each (segment, date, size then) against the segment's
    latest snapshot before that date, leaving out segments under ``smallest`` members at
    both dates (GuardTripped when one moved more than ``limit`` percent). Returns the
    segments that have no snapshot to compare with."""
    compared = []
    first = []
    for name, day, size in moves:
        previous = latest_before(store, name, day)
        if previous is None:
            first.append(name)
        elif max(previous.members, size) >= smallest:
            compared.append((name, previous.as_of, previous.members, size))
    check_moves(compared, limit, what)
    return first


def member_counts(con: Any) -> dict[int, int]:
    """The members of each segment i of a ``members_table`` connection."""
    return dict(con.execute("SELECT i, count(*) FROM snap_keys GROUP BY i").fetchall())


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
    taking: list[tuple[str, str]],
    con: Any,
    cache: Path | None = None,
) -> list[Taken]:
    """Record the snapshots of ``day`` of each (segment, definition) in one transaction;
    a snapshot of that date is replaced. ``con`` is a DuckDB connection with tables
    ``snap_keys (i, position)``, the members of ``taking[i]``, and ``snap_people
    (position, person_key)`` (an evaluation's ``members_table``).

    The arithmetic is DuckDB's. The members at each segment's latest snapshot are kept in
    ``cache`` (a Parquet file beside the store, derived: checked against the snapshot's
    token, read from the store's changes when it does not match), so that a daily
    snapshot does not add up every change the segment ever had (at a million people,
    seven million members of 56 segments: 3 s and 1 GB more through SQLite)."""
    if not taking:
        return []
    taken_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    recording = _Recording(store, con, day, taking, taken_at, cache)
    with store.transaction():
        results = recording.run()
    recording.keep()
    return results


def _json_arrays(store: Store, sql: str, params: tuple, types: list[Any]) -> list[list[pa.Array]]:
    """Each row of a query whose columns are JSON arrays (``json_group_array``), as Arrow
    arrays of ``types``: a million numbers come out of SQLite as one text, in a tenth of
    the time a row each takes through the sqlite3 module."""
    import pyarrow as pa

    rows = store.execute(sql, params).fetchall()
    return [
        [
            pa.array(json.loads(text or "[]"), type=kind)
            for text, kind in zip(row, types, strict=True)
        ]
        for row in rows
    ]


def _joined(arrays: list[pa.Array], kind: Any) -> pa.Array:
    import pyarrow as pa

    return pa.concat_arrays(arrays) if arrays else pa.array([], kind)


class _Recording:
    """One transaction's snapshots: segment i of ``taking`` is ``i`` in every table of
    the DuckDB connection ``con``."""

    def __init__(
        self,
        store: Store,
        con: Any,
        day: date,
        taking: list[tuple[str, str]],
        taken_at: str,
        cache: Path | None,
    ):
        self.store, self.con, self.day, self.taking = store, con, day, taking
        self.taken_at, self.cache = taken_at, cache
        self.written: dict[int, tuple[int, int]] = {}

    def run(self) -> list[Taken]:
        self._current()
        self._around()
        con = self.con
        # Who entered and who left since the snapshot before; the next one's changes.
        # A person in both lists adds up to 0; in the later one only, 1 (entered); in the
        # earlier one only, -1 (left). One aggregate, which spills to disk beyond DuckDB's
        # memory limit, where two anti-joins of seven million rows each did not.
        con.execute(
            "CREATE TABLE snap_changed AS SELECT i, key_id, CAST(sum(x) AS TINYINT) AS change "
            "FROM (SELECT i, key_id, 1 AS x FROM snap_current UNION ALL "
            "SELECT i, key_id, -1 AS x FROM snap_before) GROUP BY i, key_id HAVING sum(x) <> 0 "
            "ORDER BY i"
        )
        con.execute(
            "CREATE TABLE snap_next_changed AS "
            "SELECT i, key_id, CAST(sum(x) AS TINYINT) AS change FROM ("
            "SELECT i, key_id, 1 AS x FROM snap_after_next UNION ALL "
            "SELECT c.i, c.key_id, -1 AS x FROM snap_current c JOIN snap_bounds b USING (i) "
            "WHERE b.next_id IS NOT NULL) GROUP BY i, key_id HAVING sum(x) <> 0"
        )
        members = dict(con.execute("SELECT i, count(*) FROM snap_current GROUP BY i").fetchall())
        counts = {
            (i, change): n
            for i, change, n in con.execute(
                "SELECT i, change, count(*) FROM snap_changed GROUP BY ALL"
            ).fetchall()
        }
        results = []
        store = self.store
        ids: dict[int, int] = {}
        for i, (segment, definition) in enumerate(self.taking):
            existing = self.existing.get(i)
            if existing is not None:
                store.execute("DELETE FROM snapshot_changes WHERE snapshot_id = ?", (existing,))
                store.execute("DELETE FROM snapshots WHERE snapshot_id = ?", (existing,))
            entered, exited = counts.get((i, 1), 0), counts.get((i, -1), 0)
            token = secrets.randbits(62)
            snapshot_id = store.execute(
                "INSERT INTO snapshots (segment, as_of, definition, members, entered, exited, "
                "taken_at, token) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    segment,
                    self.day.isoformat(),
                    definition,
                    members.get(i, 0),
                    entered,
                    exited,
                    self.taken_at,
                    token,
                ),
            ).lastrowid
            assert snapshot_id is not None
            ids[i] = snapshot_id
            self.written[i] = (snapshot_id, token)
            outcome = "taken" if existing is None else "replaced"
            results.append(Taken(segment, self.day, outcome, members.get(i, 0), entered, exited))
        self._write("snap_changed", ids)
        following = {i: next_id for i, next_id in self.following.items()}
        for next_id in following.values():
            store.execute("DELETE FROM snapshot_changes WHERE snapshot_id = ?", (next_id,))
        self._write("snap_next_changed", following)
        for i, next_id in following.items():
            entered, exited = con.execute(
                "SELECT count(*) FILTER (WHERE change = 1), count(*) FILTER (WHERE change = -1) "
                "FROM snap_next_changed WHERE i = ?",
                [i],
            ).fetchall()[0]
            store.execute(
                "UPDATE snapshots SET entered = ?, exited = ? WHERE snapshot_id = ?",
                (entered, exited, next_id),
            )
        return results

    def _current(self) -> None:
        """Table snap_current (i, key_id): the members now, by the numbers snapshot_people
        gives people; people not numbered yet get the next numbers."""
        import pyarrow as pa

        con = self.con
        [[known_ids, known_keys]] = _json_arrays(
            self.store,
            "SELECT json_group_array(key_id), json_group_array(person_key) FROM snapshot_people",
            (),
            [pa.int64(), pa.string()],
        )
        con.register("snap_known", pa.table({"key_id": known_ids, "person_key": known_keys}))
        first = (self.store.scalar("SELECT max(key_id) FROM snapshot_people") or 0) + 1
        # Each person of the evaluation by number: known, or numbered now.
        con.execute(
            "CREATE TABLE snap_numbered AS SELECT p.position, p.person_key, k.key_id "
            "FROM snap_people p LEFT JOIN snap_known k USING (person_key)"
        )
        con.unregister("snap_known")
        con.execute(
            "CREATE TABLE snap_fresh AS SELECT person_key, "
            f"CAST({first} - 1 + row_number() OVER (ORDER BY person_key) AS BIGINT) AS key_id "
            "FROM (SELECT DISTINCT p.person_key FROM snap_numbered p "
            "SEMI JOIN snap_keys k USING (position) WHERE p.key_id IS NULL)"
        )
        # Numbered from ``first`` in person-key order: the n-th of the list is first + n.
        [(fresh,)] = con.execute(
            "SELECT to_json(list(person_key ORDER BY key_id)) FROM snap_fresh"
        ).fetchall()
        self.store.execute(
            "INSERT INTO snapshot_people (key_id, person_key) "
            "SELECT ? + key, value FROM json_each(?)",
            (first, fresh or "[]"),
        )
        con.execute(
            "CREATE TABLE snap_current AS SELECT c.i, coalesce(n.key_id, f.key_id) AS key_id "
            "FROM snap_keys c JOIN snap_numbered n USING (position) "
            "LEFT JOIN snap_fresh f USING (person_key)"
        )
        con.execute("DROP TABLE snap_keys")
        con.execute("DROP TABLE snap_numbered")

    def _around(self) -> None:
        """Tables snap_before and snap_after_next (i, key_id): each segment's members at
        its snapshot of the date before the day, and at its next one after it (when a
        snapshot is taken between two others); ``existing`` and ``following``, the ids of
        the segments' snapshots of the day and of the next one, by i."""
        import pyarrow as pa

        names = [segment for segment, _ in self.taking]
        index = {name: i for i, name in enumerate(names)}
        rows = self.store.execute(
            "SELECT snapshot_id, segment, as_of, token FROM snapshots WHERE segment IN "
            "(SELECT value FROM json_each(?))",
            (json.dumps(names),),
        ).fetchall()
        day = self.day.isoformat()
        self.existing = {index[segment]: sid for sid, segment, as_of, _ in rows if as_of == day}
        before: dict[int, tuple[str, int, int]] = {}
        after: dict[int, tuple[str, int]] = {}
        for sid, segment, as_of, token in rows:
            i = index[segment]
            if as_of < day and as_of > before.get(i, ("",))[0]:
                before[i] = (as_of, sid, token)
            if as_of > day and (i not in after or as_of < after[i][0]):
                after[i] = (as_of, sid)
        self.following = {i: sid for i, (_, sid) in after.items()}
        count = range(len(names))
        con = self.con
        con.register(
            "snap_rows",
            pa.table(
                {
                    "snapshot_id": pa.array([r[0] for r in rows], type=pa.int64()),
                    "i": pa.array([index[r[1]] for r in rows], type=pa.int64()),
                    "as_of": pa.array([r[2] for r in rows], type=pa.string()),
                }
            ),
        )
        con.register(
            "snap_bounds",
            pa.table(
                {
                    "i": pa.array(count, type=pa.int64()),
                    "before_date": pa.array(
                        [before.get(i, (None,))[0] for i in count], pa.string()
                    ),
                    "next_date": pa.array([after.get(i, (None,))[0] for i in count], pa.string()),
                    "next_id": pa.array([self.following.get(i) for i in count], pa.int64()),
                }
            ),
        )
        # The members before, from the cache where it holds those of that snapshot.
        cached = self._cached({i: (sid, token) for i, (_, sid, token) in before.items()})
        # The rest add up the changes: up to the snapshot before, or up to the next one.
        reach = {
            i: after[i][0] if i in after else ("" if i in cached else before.get(i, ("",))[0])
            for i in count
        }
        needed = [sid for sid, segment, as_of, _ in rows if as_of <= reach[index[segment]]]
        read = _json_arrays(
            self.store,
            "SELECT json_array(snapshot_id), json_group_array(key_id), json_group_array(change) "
            "FROM snapshot_changes WHERE snapshot_id IN (SELECT value FROM json_each(?)) "
            "GROUP BY snapshot_id",
            (json.dumps(needed),),
            [pa.int64(), pa.int64(), pa.int8()],
        )
        sids = [pa.array([sid[0].as_py()] * len(keys), pa.int64()) for sid, keys, _ in read]
        con.register(
            "snap_read",
            pa.table(
                {
                    "snapshot_id": _joined(sids, pa.int64()),
                    "key_id": _joined([keys for _, keys, _ in read], pa.int64()),
                    "change": _joined([marks for _, _, marks in read], pa.int8()),
                }
            ),
        )
        added_up = (
            "SELECT s.i, c.key_id FROM snap_read c JOIN snap_rows s USING (snapshot_id) "
            "JOIN snap_bounds b USING (i) WHERE s.as_of <= b.{bound} {which} "
            "GROUP BY ALL HAVING sum(c.change) = 1"
        )
        con.execute(
            "CREATE TABLE snap_before AS SELECT i, key_id FROM snap_cached UNION ALL "
            + added_up.format(
                bound="before_date", which="AND s.i NOT IN (SELECT DISTINCT i FROM snap_cached)"
            )
        )
        con.execute(
            "CREATE TABLE snap_after_next AS " + added_up.format(bound="next_date", which="")
        )

    def _cached(self, wanted: dict[int, tuple[int, int]]) -> set[int]:
        """Table snap_cached (i, key_id): the members the cache holds of the snapshots
        ``wanted`` (i -> snapshot id and token); the i it holds them of."""
        import pyarrow as pa

        con = self.con
        con.register(
            "snap_wanted",
            pa.table(
                {
                    "i": pa.array(list(wanted), pa.int64()),
                    "snapshot_id": pa.array([sid for sid, _ in wanted.values()], pa.int64()),
                    "token": pa.array([token for _, token in wanted.values()], pa.int64()),
                }
            ),
        )
        source = "SELECT NULL::BIGINT AS snapshot_id, NULL::BIGINT AS token, NULL::BIGINT AS key_id"
        if self.cache is not None and self.cache.exists():
            source = f"SELECT * FROM read_parquet({_quoted(str(self.cache))})"
        try:
            con.execute(
                "CREATE TABLE snap_cached AS SELECT w.i, c.key_id FROM snap_wanted w "
                f"JOIN ({source}) c USING (snapshot_id, token)"
            )
        except Exception:  # a damaged or foreign file: the cache is only ever a shortcut
            con.execute("CREATE OR REPLACE TABLE snap_cached (i BIGINT, key_id BIGINT)")
        return {i for (i,) in con.execute("SELECT DISTINCT i FROM snap_cached").fetchall()}

    def keep(self) -> None:
        """Write the cache anew: the members at each segment's latest snapshot, those of
        this transaction and those of the old cache that are still the latest."""
        import duckdb
        import pyarrow as pa

        if self.cache is None or not self.cache.parent.is_dir():
            return
        latest = self.store.execute(
            "SELECT snapshot_id, token FROM snapshots s WHERE as_of = "
            "(SELECT max(as_of) FROM snapshots WHERE segment = s.segment)"
        ).fetchall()
        con = self.con
        con.register(
            "snap_latest",
            pa.table(
                {
                    "snapshot_id": pa.array([r[0] for r in latest], pa.int64()),
                    "token": pa.array([r[1] for r in latest], pa.int64()),
                }
            ),
        )
        con.register(
            "snap_new",
            pa.table(
                {
                    "i": pa.array(list(self.written), pa.int64()),
                    "snapshot_id": pa.array([sid for sid, _ in self.written.values()], pa.int64()),
                    "token": pa.array([t for _, t in self.written.values()], pa.int64()),
                }
            ),
        )
        old = "SELECT NULL::BIGINT AS snapshot_id, NULL::BIGINT AS token, NULL::BIGINT AS key_id"
        if self.cache.exists():
            old = f"SELECT * FROM read_parquet({_quoted(str(self.cache))})"
        temporary = self.cache.with_name(f".{self.cache.name}.{os.getpid()}.tmp")
        try:
            con.execute(
                "COPY (SELECT * FROM ("
                "SELECT n.snapshot_id, n.token, c.key_id FROM snap_current c "
                "JOIN snap_new n USING (i) UNION ALL "
                f"SELECT o.* FROM ({old}) o WHERE o.snapshot_id NOT IN "
                "(SELECT snapshot_id FROM snap_new)"
                ") JOIN snap_latest USING (snapshot_id, token)) "
                f"TO {_quoted(str(temporary))} (FORMAT parquet)"
            )
            os.chmod(temporary, OWNER_ONLY)
            os.replace(temporary, self.cache)
        except (OSError, duckdb.Error):
            # Not kept: the next snapshot adds up the changes in the store instead.
            temporary.unlink(missing_ok=True)
            self.cache.unlink(missing_ok=True)

    def _write(self, table: str, ids: dict[int, int]) -> None:
        """Write the rows of ``table`` (i, key_id, change) as snapshot_changes of the
        snapshot ``ids[i]``: each snapshot's entries and exits as one JSON array of
        numbers that SQLite reads with json_each (at two million rows 0.85 s, against
        3.0 s for executemany)."""
        # A segment at a time (all at once ran out of DuckDB's memory at a million
        # people); the table is ordered by i, so each query reads only its own rows.
        for i, snapshot_id in ids.items():
            lists = self.con.execute(
                f"SELECT change, to_json(list(key_id ORDER BY key_id)) FROM {table} "
                "WHERE i = ? GROUP BY change ORDER BY change DESC",
                [i],
            ).fetchall()
            for change, keys in lists:
                self.store.execute(
                    "INSERT INTO snapshot_changes (snapshot_id, key_id, change) "
                    "SELECT ?, value, ? FROM json_each(?)",
                    (snapshot_id, int(change), keys),
                )


def _quoted(text: str) -> str:
    """A path as an SQL string literal (segcli's own paths; quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def members_cache(store: Store) -> Path:
    """Where the members at each segment's latest snapshot are kept: beside the analytic
    copy (derived data, safe to delete)."""
    return Path(f"{store.path}.analytic") / "snapshot-members.parquet"
