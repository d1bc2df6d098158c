"""A reference evaluator for the segment language: plain Python over plain records.

It reads SPEC 2.2, 3.2, 3.5, 3.6 and 3.7 afresh and shares nothing with segcli's SQL: the
facts of each person (counted orders, total spent, first and last order, days since the
last order, consent from the subscriber history, lifecycle with A as an exact Fraction,
who is "in" as of the date) and every date comparison of a field are computed here from
the stored records. Comparisons of non-date fields read the operator table
(``segcli.rules.compile.normalize``) and predicates read the predicate table's Python
meaning (``segcli.rules.predicates``), as STYLE.md asks, so that a wrong row in those
tables shows as a difference with the SQL only through the SPEC-level tests;
average_order_value is compared as the exact quotient ``total_spent / orders_count``.

Records are dicts in the stored normal form (money as integer ten-thousandths, dates as
UTC text ``YYYY-MM-DD HH:MM:SS``, emails lower-cased, tags and collections JSON arrays,
``person_id`` links), as ``read_records`` returns them.
"""

from __future__ import annotations

import calendar
import json
import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from fractions import Fraction

from segcli.rules import ast
from segcli.rules import fields as F
from segcli.rules.compile import normalize
from segcli.rules.dates import DateValue, Duration
from segcli.rules.operators import fold
from segcli.rules.predicates import PREDICATES, PersonRecords

UNCOUNTED_STATUSES = {"cancelled", "canceled", "refunded", "voided", "failed"}
TABLES = ("people", "customers", "orders", "items", "products", "reviews", "subscribers", "carts")


@dataclass
class Records:
    """Every stored record, as plain dicts."""

    people: list[dict] = field(default_factory=list)
    customers: list[dict] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)
    items: list[dict] = field(default_factory=list)
    products: list[dict] = field(default_factory=list)
    reviews: list[dict] = field(default_factory=list)
    subscribers: list[dict] = field(default_factory=list)
    carts: list[dict] = field(default_factory=list)


def read_records(conn: sqlite3.Connection) -> Records:
    """The stored records of a segcli database, table by table, as dicts."""
    records = Records()
    for table in TABLES:
        cursor = conn.execute(f"SELECT * FROM {table}")
        names = [column[0] for column in cursor.description]
        setattr(records, table, [dict(zip(names, row, strict=True)) for row in cursor])
    return records


# ---------------------------------------------------------------------------------
# Dates, by the calendar, without dateutil


def moment_of(stored: str) -> datetime:
    """A stored UTC date-time text as a naive datetime."""
    return datetime.fromisoformat(stored)


def months_back(day: date, months: int) -> date:
    """``day`` minus whole calendar months, clamped to the end of a shorter month."""
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def back(as_of: date, duration: Duration) -> date:
    """The day ``duration`` before ``as_of`` (SPEC 3.6)."""
    if duration.unit == "days":
        return as_of - timedelta(days=duration.count)
    if duration.unit == "weeks":
        return as_of - timedelta(weeks=duration.count)
    if duration.unit == "months":
        return months_back(as_of, duration.count)
    if duration.unit == "years":
        return months_back(as_of, 12 * duration.count)
    raise ValueError(duration.unit)


def day_or_instant(value: DateValue, as_of: date) -> date | datetime:
    """A condition's date: a datetime for a date-time, else the calendar day it names."""
    if value.instant is not None:
        return value.instant
    if value.day is not None:
        return value.day
    return back(as_of, value.ago)


def date_holds(stored: str | None, op: str, value, as_of: date) -> bool:
    """A comparison of a date field by SPEC 3.4 and 3.6."""
    if op == "is_set":
        return (stored is not None) == value
    if stored is None:
        return False
    moment = moment_of(stored)
    day = moment.date()
    if op == "within":
        return day > back(as_of, value)
    if op == "between":
        low, high = (day_or_instant(v, as_of) for v in value)
        above = moment >= low if isinstance(low, datetime) else day >= low
        below = moment <= high if isinstance(high, datetime) else day <= high
        return above and below
    op = {"lt": "before", "gt": "after", "eq": "on"}.get(op, op)
    target = day_or_instant(value, as_of)
    if isinstance(target, datetime):
        return {
            "before": moment < target,
            "after": moment > target,
            "on": day == target.date(),
            "ne": day != target.date(),
            "lte": moment <= target,
            "gte": moment >= target,
        }[op]
    return {
        "before": day < target,
        "after": day > target,
        "on": day == target,
        "ne": day != target,
        "lte": day <= target,
        "gte": day >= target,
    }[op]


# ---------------------------------------------------------------------------------
# The evaluator


class Reference:
    """The people of a store as of a date, their facts, and which conditions they meet."""

    def __init__(
        self, records: Records, as_of: date, segments: dict[str, ast.Segment] | None = None
    ):
        self.records = records
        self.as_of = as_of
        self.as_of_end = datetime.combine(as_of + timedelta(days=1), time())
        self.segments = segments or {}
        by_person: dict[str, dict[int, list[dict]]] = {}
        for table in ("customers", "orders", "reviews", "subscribers", "carts"):
            linked: dict[int, list[dict]] = {}
            for record in getattr(records, table):
                if record.get("person_id") is not None:
                    linked.setdefault(record["person_id"], []).append(record)
            by_person[table] = linked
        self.items_by_order: dict[str, list[dict]] = {}
        for item in records.items:
            self.items_by_order.setdefault(item["order_id"], []).append(item)

        self.facts: dict[str, dict] = {}
        for person in records.people:
            own = {
                table: linked.get(person["person_id"], []) for table, linked in by_person.items()
            }
            if self._is_in(own):
                self.facts[person["person_key"]] = self._facts(person, own)
        self.repeat_time = self._repeat_time()
        for facts in self.facts.values():
            facts["lifecycle"] = self._stage(facts)

    # -- facts ----------------------------------------------------------------------

    def _dated(self, stored: str | None) -> bool:
        """Dated on or before the as-of day (records without a date always count)."""
        return stored is None or moment_of(stored) < self.as_of_end

    def _is_in(self, own: dict[str, list[dict]]) -> bool:
        dates = [c["created_at"] for c in own["customers"]]
        dates += [o["created_at"] for o in own["orders"]]
        dates += [s["subscribed_at"] for s in own["subscribers"]]
        dates += [r["created_at"] for r in own["reviews"]]
        dates += [k["created_at"] for k in own["carts"]]
        dates = [d for d in dates if d is not None]
        return not dates or any(moment_of(d) < self.as_of_end for d in dates)

    def _facts(self, person: dict, own: dict[str, list[dict]]) -> dict:
        # The customer row with the person's customer id first, then an email-only row.
        rows = sorted(own["customers"], key=lambda c: c["customer_id"] is None)

        def attribute(name):
            return next((row[name] for row in rows if row[name] is not None), None)

        tags: list[str] = []
        for row in rows:
            tags = json.loads(row["tags"] or "[]")
            if tags:
                break
        custom: dict = {}
        for row in reversed(rows):
            custom.update(json.loads(row["custom"] or "{}"))

        orders = [o for o in own["orders"] if self._dated(o["created_at"])]
        counted = [o for o in orders if fold(o["status"] or "") not in UNCOUNTED_STATUSES]
        counted.sort(key=lambda o: moment_of(o["created_at"]))
        total = sum(o["total"] for o in counted)
        first = min((o["created_at"] for o in counted), key=moment_of, default=None)
        last = max((o["created_at"] for o in counted), key=moment_of, default=None)

        seen = [o["created_at"] for o in own["orders"]]
        seen += [s["subscribed_at"] for s in own["subscribers"]]
        seen += [r["created_at"] for r in own["reviews"]]
        seen += [k["created_at"] for k in own["carts"]]
        seen = [d for d in seen if d is not None]
        created_at = attribute("created_at") or min(seen, key=moment_of, default=None)

        email = person["email"]
        return {
            "person_id": person["person_id"],
            "person_key": person["person_key"],
            "customer_id": person["customer_id"],
            "email": email,
            "email_domain": email.split("@", 1)[1] if email and "@" in email else None,
            "first_name": attribute("first_name"),
            "last_name": attribute("last_name"),
            "created_at": created_at,
            "accepts_marketing": self._accepts_marketing(own, attribute),
            **self._address(own["orders"], attribute),
            "customer_group": attribute("customer_group"),
            "channel": attribute("channel"),
            "tags": tags,
            "custom": custom,
            "orders_count": len(counted),
            "total_spent": total,
            "average_order_value": Fraction(total, len(counted)) if counted else None,
            "first_order_at": first,
            "last_order_at": last,
            "days_since_last_order": (
                (self.as_of - moment_of(last).date()).days if last is not None else None
            ),
            "counted_days": [moment_of(o["created_at"]).date() for o in counted],
            "orders": orders,
            "counted": counted,
            "reviews": [r for r in own["reviews"] if self._dated(r["created_at"])],
            "carts": [k for k in own["carts"] if self._dated(k["created_at"])],
        }

    @staticmethod
    def _address(orders: list[dict], attribute) -> dict:
        """The customer rows' address, else the latest order's billing address (whole)."""
        names = ("country", "region", "city")
        address = {name: attribute(name) for name in names}
        if any(value is not None for value in address.values()):
            return address
        billed = [o for o in orders if any(o[name] is not None for name in names)]
        if not billed:
            return address
        latest = max(billed, key=lambda o: (moment_of(o["created_at"]), o["order_id"]))
        return {name: latest[name] for name in names}

    def _accepts_marketing(self, own: dict[str, list[dict]], attribute) -> int:
        """SPEC 2.2: the newest subscriber row decides (undated oldest, unsubscribed wins
        a tie), else the customer row's consent, else the answer given with the latest
        order (a no wins a tie), else false."""
        rows = [s for s in own["subscribers"] if self._dated(s["subscribed_at"])]
        if rows:
            newest = max(
                rows,
                key=lambda s: (
                    s["subscribed_at"] is not None,
                    moment_of(s["subscribed_at"]) if s["subscribed_at"] else datetime.min,
                    s["status"] == "unsubscribed",
                ),
            )
            return int(newest["status"] == "subscribed")
        consent = attribute("accepts_marketing")
        if consent is not None:
            return int(bool(consent))
        answered = [
            o
            for o in own["orders"]
            if o["accepts_marketing"] is not None and self._dated(o["created_at"])
        ]
        if answered:
            latest = max(
                answered, key=lambda o: (moment_of(o["created_at"]), -o["accepts_marketing"])
            )
            return int(bool(latest["accepts_marketing"]))
        return 0

    def _repeat_time(self) -> Fraction | None:
        """A: the mean of every consecutive gap, in calendar days, of repeat customers."""
        gaps = []
        for facts in self.facts.values():
            days = facts["counted_days"]
            if len(days) >= 2:
                gaps += [(b - a).days for a, b in zip(days, days[1:], strict=False)]
        return Fraction(sum(gaps), len(gaps)) if gaps else None

    def _stage(self, facts: dict) -> str:
        orders = facts["orders_count"]
        if orders == 1:
            return "first-time-buyers"
        if orders >= 2:
            since, a = facts["days_since_last_order"], self.repeat_time
            if since < a:
                return "active-repeat"
            if since < 3 * a:
                return "at-risk-repeat"
            return "inactive-repeat"
        if facts["accepts_marketing"]:
            return "prospects"
        if facts["carts"]:
            return "potential-customers"
        return "unengaged"

    # -- conditions -----------------------------------------------------------------

    def everyone(self) -> set[str]:
        return set(self.facts)

    def members(self, condition: ast.Condition) -> set[str]:
        """The person keys of everyone meeting ``condition``."""
        return {key for key, facts in self.facts.items() if self.holds(facts, condition)}

    def holds(self, facts: dict, node: ast.Condition) -> bool:
        if isinstance(node, ast.All):
            return all(self.holds(facts, item) for item in node.items)
        if isinstance(node, ast.Any):
            return any(self.holds(facts, item) for item in node.items)
        if isinstance(node, ast.Not):
            return not self.holds(facts, node.item)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Compare):
            return self._compare(facts, node)
        if isinstance(node, ast.InSegment):
            return self.holds(facts, self.segments[node.name].criteria)
        if (row := PREDICATES.get(type(node))) is not None and row.check is not None:
            return row.check(node, self._records_of(facts))
        raise TypeError(f"no reference meaning for {type(node).__name__}")

    def _records_of(self, facts: dict) -> PersonRecords:
        """A person's records as the predicate table's Python checks read them."""
        return PersonRecords(
            as_of=self.as_of,
            orders=facts["orders"],
            counted=facts["counted"],
            reviews=facts["reviews"],
            carts=facts["carts"],
            items=lambda order_id: self.items_by_order.get(order_id, []),
            catalogue=self.records.products,
        )

    def _compare(self, facts: dict, node: ast.Compare) -> bool:
        field_ = F.lookup(node.field)
        if field_.type == F.DATE:
            return date_holds(facts[node.field], node.op, node.value, self.as_of)
        normalized = normalize(node, self.as_of)
        values = list(normalized.values)
        if node.field == "average_order_value":
            # total_spent / orders_count as an exact quotient; unset with no orders.
            return bool(normalized.primitive.check(facts["average_order_value"], values))
        raw = facts["custom"] if field_.type == F.CUSTOM else facts[node.field]
        return bool(normalized.primitive.check(normalized.read(raw), values))
