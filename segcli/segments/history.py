"""A segment's members over time (SPEC 5.5): members, entered and exited per period.

Each point's members come from the segment's snapshot of that date where there is one,
else from evaluating the segment as of that date. A period is the time from one point
to the next; the first point has no period before it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from dateutil.relativedelta import relativedelta

from segcli.segments.snapshots import member_keys_at, snapshot_on

if TYPE_CHECKING:
    from segcli.rules import ast
    from segcli.segments.evaluate import AnyEvaluation
    from segcli.store.db import Store

EVERY = ("day", "week", "month")
_STEP = {
    "day": relativedelta(days=1),
    "week": relativedelta(weeks=1),
    "month": relativedelta(months=1),
}
# Points when --from is not given: a quarter of weeks, a month of days, a year of months.
DEFAULT_POINTS = {"day": 31, "week": 13, "month": 13}
# More points than this is a mistake more often than a wish (a day each for 20 years).
MOST_POINTS = 1_000


def points(end: date, every: str, start: date | None) -> list[date]:
    """The dates of a history, oldest first: ``end``, and one ``every`` before it back to
    ``start`` (counted from ``end`` by the calendar: a month before 31 March is 29 or 28
    February), or ``DEFAULT_POINTS`` of them."""
    days = []
    k = 0
    while True:
        day = end - _STEP[every] * k
        if start is None and k == DEFAULT_POINTS[every]:
            break
        if start is not None and day < start:
            break
        days.append(day)
        k += 1
        if k > MOST_POINTS:
            break
    return days[::-1]


@dataclass(frozen=True)
class Point:
    """A segment's members at a date, and who entered and left since the point before."""

    day: date
    members: int
    entered: int | None
    exited: int | None
    from_snapshot: bool

    @property
    def source(self) -> str:
        return "snapshot" if self.from_snapshot else "evaluated"


Evaluate = Callable[[date], "AnyEvaluation"]


class DatedEvaluations:
    """Evaluations of the store at one date after another. DuckDB's moves from date to
    date on one connection (``move_to``); SQLite's is opened anew for each date."""

    def __init__(self, open_at: Evaluate):
        self.open_at = open_at
        self.current: AnyEvaluation | None = None

    def at(self, day: date) -> AnyEvaluation:
        if self.current is not None and self.current.as_of == day:
            return self.current
        move_to = getattr(self.current, "move_to", None)
        if move_to is not None:
            move_to(day)
        else:
            self.close()
            self.current = self.open_at(day)
        assert self.current is not None
        return self.current

    def close(self) -> None:
        if self.current is not None:
            self.current.__exit__(None, None, None)
            self.current = None

    def __enter__(self) -> DatedEvaluations:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def segment_history(
    store: Store, segment: ast.Segment, days: Sequence[date], dated: DatedEvaluations
) -> list[Point]:
    """The segment's points at ``days`` (oldest first)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    history = []
    before: Any = None
    for day in days:
        if snapshot_on(store, segment.name, day) is not None:
            keys = pa.array(sorted(member_keys_at(store, segment.name, day)), type=pa.string())
            from_snapshot = True
        else:
            [found] = dated.at(day).all_member_keys([segment])
            keys = pa.array(found, type=pa.string()) if isinstance(found, list) else found
            from_snapshot = False
        entered = exited = None
        if before is not None:
            # People in both: the members now among those before.
            both = pc.sum(pc.is_in(keys, value_set=before)).as_py() or 0
            entered, exited = len(keys) - both, len(before) - both
        history.append(Point(day, len(keys), entered, exited, from_snapshot))
        before = keys
    return history


def stages_history(
    store: Store, stages: list[ast.Segment], days: Sequence[date], dated: DatedEvaluations
) -> list[tuple[date, list[int], bool]]:
    """The members of each lifecycle stage at ``days``: from the stages' snapshots where
    all have one of the date, else evaluated."""
    history = []
    for day in days:
        taken = [snapshot_on(store, stage.name, day) for stage in stages]
        if all(snapshot is not None for snapshot in taken):
            counts = [snapshot.members for snapshot in taken if snapshot is not None]
            history.append((day, counts, True))
            continue
        figures = dated.at(day).all_figures(stages)
        history.append((day, [f.members for f in figures], False))
    return history
