"""Who entered and who left a segment between two dates (SPEC 5.2).

Each date's members come from the segment's snapshot of that date where there is one,
else from evaluating the segment as of that date. Each person who entered or left comes
with their key figures at both dates, as fields ``NAME_from`` and ``NAME_to``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from segcli.errors import SegcliError
from segcli.rules import fields as F
from segcli.rules.parse import did_you_mean
from segcli.segments.snapshots import (
    definition_digest,
    member_keys_at,
    snapshot_on,
)

if TYPE_CHECKING:
    from segcli.rules import ast
    from segcli.segments.history import DatedEvaluations
    from segcli.store.db import Store

ENTERED = "entered"
EXITED = "exited"

# The figures given at both dates: NAME_from and NAME_to.
FIGURES = (
    "orders_count",
    "total_spent",
    "first_order_at",
    "last_order_at",
    "days_since_last_order",
    "lifecycle",
    "accepts_marketing",
)
SIDES = ("from", "to")
# What each change is, besides the person's fields.
EVENT_FIELDS = ("segment", "change", "from_date", "to_date")
CHANGE_FIELDS = (
    *EVENT_FIELDS,
    *F.EXPORT_FIELDS,
    *(f"{name}_{side}" for name in FIGURES for side in SIDES),
)
DEFAULT_CHANGE_FIELDS = (
    "segment",
    "change",
    "from_date",
    "to_date",
    "person_key",
    "customer_id",
    "email",
    "first_name",
    "last_name",
    "orders_count_from",
    "orders_count_to",
    "total_spent_from",
    "total_spent_to",
    "last_order_at_to",
    "lifecycle_from",
    "lifecycle_to",
    "accepts_marketing",
)


def check_change_fields(text: str) -> list[str]:
    """The --fields list of ``segment changes``."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise SegcliError("--fields needs at least one field name")
    for name in names:
        custom = name.startswith(F.CUSTOM_PREFIX) and len(name) > len(F.CUSTOM_PREFIX)
        if name not in CHANGE_FIELDS and not custom:
            raise SegcliError(
                f"--fields: unknown field {name!r}",
                hint=did_you_mean(name, CHANGE_FIELDS)
                or "fields are those of segment export, segment, change, from_date, "
                "to_date, and NAME_from and NAME_to for "
                + ", ".join(FIGURES),
            )
    return names


def dates_of(store: Store, segment: str, start: date | None, end: date) -> tuple[date, date]:
    """The dates of the changes: ``start``, else the segment's latest snapshot before
    ``end`` (an error with the way out when it has none)."""
    from segcli.segments.snapshots import latest_before

    if start is None:
        previous = latest_before(store, segment, end)
        if previous is None:
            raise SegcliError(
                f"{segment} has no snapshot before {end.isoformat()} to start from",
                hint=f"give --since DATE, or take one: segcli segment snapshot {segment} "
                "--as-of DATE",
            )
        start = previous.as_of
    return start, end


@dataclass
class Side:
    """One date's members: from its snapshot, or evaluated."""

    day: date
    keys: set[str]
    from_snapshot: bool
    definition: str

    @property
    def source(self) -> str:
        return "read from its snapshot" if self.from_snapshot else "evaluated now"


@dataclass
class Changes:
    """Who entered and who left ``segment`` from ``start.day`` to ``end.day``."""

    segment: str
    start: Side
    end: Side
    rows: list[dict] = field(default_factory=list)

    @property
    def entered(self) -> int:
        return sum(1 for row in self.rows if row["change"] == ENTERED)

    @property
    def exited(self) -> int:
        return sum(1 for row in self.rows if row["change"] == EXITED)

    @property
    def definition_changed(self) -> bool:
        return self.start.definition != self.end.definition


def find_changes(
    store: Store,
    segment: ast.Segment,
    segments: dict[str, ast.Segment],
    start: date,
    end: date,
    dated: DatedEvaluations,
) -> Changes:
    """Who entered and who left, each with their figures at both dates."""
    definition = definition_digest(segment, segments)
    sides: dict[date, Side] = {}
    for day in (start, end):
        snapshot = snapshot_on(store, segment.name, day)
        if snapshot is not None:
            keys = member_keys_at(store, segment.name, day)
            sides[day] = Side(day, keys, True, snapshot.definition)
        else:
            keys = set(dated.at(day).member_keys(segment))
            sides[day] = Side(day, keys, False, definition)
    changed = sides[start].keys ^ sides[end].keys
    facts: dict[date, dict[str, dict]] = {}
    if changed:
        # The end date first: its evaluation is the one open when it was evaluated.
        for day in (end, start):
            facts[day] = dated.at(day).facts_of(changed)
    result = Changes(segment.name, sides[start], sides[end])
    for key in sorted(changed, key=lambda k: (k not in sides[end].keys, k)):
        change = ENTERED if key in sides[end].keys else EXITED
        before = facts.get(start, {}).get(key)
        after = facts.get(end, {}).get(key)
        result.rows.append(_row(segment.name, change, start, end, key, before, after))
    return result


def _row(
    segment: str,
    change: str,
    start: date,
    end: date,
    key: str,
    before: dict | None,
    after: dict | None,
) -> dict:
    """A change with the person's fields: as of the end date where they are known then,
    else as of the start date; the figures at each date as NAME_from and NAME_to."""
    row: dict = dict(after or before or {})
    row["person_key"] = key
    row.update(segment=segment, change=change, from_date=start.isoformat(), to_date=end.isoformat())
    for name in FIGURES:
        row[f"{name}_from"] = None if before is None else before.get(name)
        row[f"{name}_to"] = None if after is None else after.get(name)
    return row


def subscribed(rows: list[dict]) -> Iterator[dict]:
    """The changes of people who accept marketing (as of the end date, else the start)."""
    return (row for row in rows if row.get("accepts_marketing"))
