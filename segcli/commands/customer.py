"""segcli customer show KEY [--explain SEGMENT]."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from segcli.commands.options import as_of_option, format_option
from segcli.commands.segment import warn_unmatched
from segcli.errors import SegcliError
from segcli.money import to_decimal
from segcli.output import iso_utc, money_for_people, new_table, write_answer
from segcli.rules import fields as F
from segcli.segments.catalog import is_path, load_catalog, resolve
from segcli.segments.evaluate import open_evaluation
from segcli.segments.people import (
    ExplainedNode,
    Person,
    average_order_value,
    explain,
    find_person,
    person_as_of,
    show_field,
)


@dataclass(frozen=True)
class Explained:
    """A segment explained for the person: each criterion, and the verdict."""

    segment: str
    nodes: list[ExplainedNode]

    @property
    def member(self) -> bool:
        return self.nodes[0].passed


@click.group("customer")
def customer_group():
    """Look at one person."""


@customer_group.command("show")
@click.argument("key")
@as_of_option
@click.option(
    "--explain", "explain_segment", metavar="SEGMENT", help="Explain this segment for the person."
)
@format_option("table", "json", help="table for people, json for scripts. On stdout.")
@click.pass_obj
def show_command(app, key, as_of, explain_segment, output_format):
    """Show one person by customer id or email: figures, orders and segments."""
    extra = [Path(explain_segment)] if explain_segment and is_path(explain_segment) else []
    catalog = load_catalog(app.segments_dir, extra)
    explained_segment = resolve(catalog, [explain_segment])[0] if explain_segment else None
    store = app.open_store(create=False)
    if explained_segment is not None:
        warn_unmatched(store, [explained_segment], catalog.segments)
    person_id = find_person(store, key)
    with open_evaluation(
        store, as_of, catalog.segments, engine=app.engine, person=person_id
    ) as evaluation:
        person = person_as_of(evaluation, person_id, catalog.usable())
        if person is None:
            raise SegcliError(f"{key} was not yet known on {as_of.isoformat()} (see --as-of)")
        explained = None
        if explained_segment is not None:
            explained = Explained(
                explained_segment.name, explain(evaluation, explained_segment, person_id)
            )
    write_answer(
        output_format,
        _tables(key, as_of, person, explained),
        document=_document(as_of, person, explained),
    )


def _document(as_of: date, person: Person, explained: Explained | None) -> dict:
    """The person for scripts: values as exports write them, dates in ISO-8601 UTC."""
    data = {
        "person_key": person.facts["person_key"],
        "as_of": as_of.isoformat(),
        **person.values(),
        "average_order_value": average_order_value(person.facts),
        "custom": person.custom,
        "recent_orders": [
            {**order, "created_at": iso_utc(order["created_at"])} for order in person.recent_orders
        ],
        "segments": person.segments,
    }
    if explained is not None:
        data["explain"] = {
            "segment": explained.segment,
            "member": explained.member,
            "criteria": [
                {"depth": n.depth, "criterion": n.text, "actual": n.actual, "passed": n.passed}
                for n in explained.nodes
            ],
        }
    return data


def _tables(key: str, as_of: date, person: Person, explained: Explained | None) -> list[Table]:
    """The person for people: fields and segments, recent orders, the explained segment."""
    table = new_table("", "", title=f"{key} as of {as_of.isoformat()}")
    table.show_header = False
    for name in F.SHOWN:
        table.add_row(name, Text(_shown(person.facts, name)))
    for name, value in person.custom.items():
        table.add_row(f"{F.CUSTOM_PREFIX}{name}", Text(str(value)))
    table.add_row("segments", Text(", ".join(person.segments)))
    tables = [table]
    orders = person.recent_orders
    if orders:
        order_table = new_table(
            "order",
            "created at (UTC)",
            "status",
            "total",
            "counted",
            numeric=("total",),
            title="Recent orders",
        )
        for order in orders:
            order_table.add_row(
                Text(order["order_id"]),
                order["created_at"],
                Text(order["status"] or ""),
                money_for_people(order["total"]),
                "yes" if order["counted"] else "no",
            )
        tables.append(order_table)
    if explained is not None:
        verdict = "is a member" if explained.member else "is not a member"
        explain_table = new_table(
            "criterion", "actual", "result", title=f"{explained.segment}: {key} {verdict}"
        )
        for node in explained.nodes:
            explain_table.add_row(
                Text("  " * node.depth + node.text),
                Text(node.actual),
                Text("pass" if node.passed else "fail", style="green" if node.passed else "red"),
            )
        tables.append(explain_table)
    return tables


def _shown(facts: dict, name: str) -> str:
    """A field in the person's table: money to the cent, as every table shows it."""
    if name == "total_spent":
        return money_for_people(to_decimal(facts["total_spent"]))
    if name == "average_order_value" and facts["orders_count"]:
        # From the exact quotient: rounding the four-decimal figure again could round twice.
        return money_for_people(to_decimal(facts["total_spent"]) / facts["orders_count"])
    return show_field(facts, name)
