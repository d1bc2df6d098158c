"""One person: finding them by customer id or email, what they are as of a date, and
explaining a segment for them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, cast

from segcli.errors import SegcliError
from segcli.money import format_money, to_decimal
from segcli.rules import ast
from segcli.rules import fields as F
from segcli.rules.compile import Context, Params
from segcli.rules.dates import next_day_start
from segcli.rules.explain import lines
from segcli.rules.predicates import PREDICATES, compile_matches
from segcli.segments.export import custom_fields, value_of
from segcli.store.db import Store

if TYPE_CHECKING:
    from segcli.segments.evaluate import AnyEvaluation

RECENT_ORDERS = 10


def find_person(store: Store, key: str) -> int:
    """The person with this person key, else customer id, else email (first customer id wins)."""
    text = key.strip()
    # segcli's own person key, as exported: c:CUSTOMER_ID or e:EMAIL.
    row = store.execute("SELECT person_id FROM people WHERE person_key = ?", (text,)).fetchone()
    if row is None:
        row = store.execute(
            "SELECT person_id FROM people WHERE customer_id = ?", (text,)
        ).fetchone()
    if row is None:
        row = store.execute(
            """SELECT person_id FROM people WHERE email = ?
            ORDER BY customer_id IS NULL, customer_id LIMIT 1""",
            (text.lower(),),
        ).fetchone()
    if row is None:
        raise SegcliError(f"no person with customer id or email {text!r}")
    return row[0]


def average_order_value(facts: dict) -> Decimal | None:
    """total_spent / orders_count to four decimals (display and JSON); None without orders."""
    if not facts["orders_count"]:
        return None
    average = to_decimal(facts["total_spent"]) / facts["orders_count"]
    return average.quantize(Decimal("0.0001"))


def show_field(facts: dict, name: str) -> str:
    """A person's field as a merchant reads it."""
    field = F.lookup(name)
    if name == "average_order_value":
        average = average_order_value(facts)
        return "(not set)" if average is None else str(average)
    if field is not None and field.type == F.CUSTOM:
        value = custom_fields(facts).get(F.custom_name(name))
        # Custom fields are stored as the text of their cells (importer/batches.py).
        return "(not set)" if value is None else cast(str, value)
    value = facts.get(name)
    if field is not None and field.type == F.TAGS:
        tags = json.loads(value or "[]")
        return ", ".join(tags) if tags else "(none)"
    if value is None:
        return "(not set)"
    if field is not None and field.type == F.MONEY:
        return format_money(value)
    if field is not None and field.type == F.BOOLEAN:
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class ExplainedNode:
    depth: int
    text: str
    actual: str
    passed: bool


def explain(evaluation: AnyEvaluation, segment: ast.Segment, person_id: int) -> list[ExplainedNode]:
    """Each criterion of the segment with the person's actual value and pass or fail."""
    facts = evaluation.person(person_id)
    assert facts is not None  # customer show explains a person known on the as-of date
    explained = []
    for depth, node, text in lines(segment.criteria):
        passed = evaluation.is_member(node, person_id)
        if isinstance(node, ast.Compare):
            actual = show_field(facts, node.field)
        elif (row := PREDICATES.get(type(node))) is not None and row.where is not None:
            # Where the engine searches indexes, the person's records are found through them.
            context = Context(
                evaluation.as_of,
                evaluation.segments,
                Params(evaluation.dialect),
                one_person=evaluation.dialect.searches_indexes,
                dialect=evaluation.dialect,
            )
            sql = compile_matches(node, context)
            count = evaluation.count(sql, context.params.values, person_id)
            actual = f"{count} matching {row.record}{'s' if count != 1 else ''}"
        elif isinstance(node, ast.InSegment):
            actual = "member" if passed else "not a member"
        else:
            actual = ""
        explained.append(ExplainedNode(depth, text, actual, passed))
    return explained


def recent_orders(store: Store, person_id: int, as_of: date) -> list[dict]:
    """The person's newest orders up to the end of the as-of day, counted or not."""
    cursor = store.execute(
        """SELECT order_id, created_at, status, total, counted FROM orders
        WHERE person_id = ? AND created_at < ? ORDER BY created_at DESC, order_id LIMIT ?""",
        (person_id, next_day_start(as_of), RECENT_ORDERS),
    )
    return [
        {
            "order_id": order_id,
            "created_at": created_at,
            "status": status,
            "total": to_decimal(total),
            "counted": bool(counted),
        }
        for order_id, created_at, status, total, counted in cursor
    ]


@dataclass(frozen=True)
class Person:
    """One person as of a date, as ``customer show`` gives them."""

    facts: dict
    # Custom fields by their stored name.
    custom: dict[str, object]
    recent_orders: list[dict]
    # The names of the segments the person is a member of.
    segments: list[str]

    def values(self) -> dict[str, object]:
        """The fields customer show shows that exports write, with the values they write."""
        return {
            name: value_of(self.facts, name)
            for name in F.SHOWN
            if F.PERSON_FIELDS[name].export is not None
        }


def person_as_of(
    evaluation: AnyEvaluation, person_id: int, segments: dict[str, ast.Segment]
) -> Person | None:
    """The person as of the evaluation's date, with those of ``segments`` they are in;
    None when the store did not know them yet."""
    facts = evaluation.person(person_id)
    if facts is None:
        return None
    return Person(
        facts,
        custom_fields(facts),
        recent_orders(evaluation.store, person_id, evaluation.as_of),
        [name for name, s in segments.items() if evaluation.is_member(s.criteria, person_id)],
    )
