"""segcli customer show KEY [--explain SEGMENT]."""

from __future__ import annotations

import json

import click
from rich.text import Text

from segcli.commands.options import as_of_option, format_option
from segcli.commands.segment import warn_unmatched
from segcli.errors import SegcliError
from segcli.money import to_decimal
from segcli.output import iso_utc, money_for_people, new_table, show_table, write_json
from segcli.rules import fields as F
from segcli.rules.compile import AS_OF_END
from segcli.segments.catalog import is_path, load_catalog, resolve
from segcli.segments.evaluate import Evaluation
from segcli.segments.export import value_of
from segcli.segments.people import (
    average_order_value,
    explain,
    find_person,
    recent_orders,
    show_field,
)


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
    from pathlib import Path

    extra = [Path(explain_segment)] if explain_segment and is_path(explain_segment) else []
    catalog = load_catalog(app.segments_dir, extra)
    explained_segment = resolve(catalog, [explain_segment])[0] if explain_segment else None
    store = app.open_store(create=False)
    if explained_segment is not None:
        warn_unmatched(store, [explained_segment], catalog.segments)
    person_id = find_person(store, key)
    evaluation = Evaluation(store, as_of, catalog.segments, person=person_id)
    facts = evaluation.person(person_id)
    if facts is None:
        raise SegcliError(f"{key} was not yet known on {as_of.isoformat()} (see --as-of)")
    custom = json.loads(facts["custom"] or "{}")
    memberships = [
        name
        for name, segment in catalog.usable().items()
        if evaluation.is_member(segment.criteria, person_id)
    ]
    orders = recent_orders(store, person_id, evaluation.base_params[AS_OF_END])
    explained = explain(evaluation, explained_segment, person_id) if explained_segment else None

    if output_format == "json":
        data = {
            "person_key": facts["person_key"],
            "as_of": as_of.isoformat(),
            # The fields exports write, as they write them; then what only this gives.
            **{name: value_of(facts, name) for name in F.SHOWN if name in F.EXPORT_FIELDS},
            "average_order_value": average_order_value(facts),
            "custom": custom,
            "recent_orders": [
                {**order, "created_at": iso_utc(order["created_at"])} for order in orders
            ],
            "segments": memberships,
        }
        if explained is not None:
            data["explain"] = {
                "segment": explained_segment.name,
                "member": explained[0].passed,
                "criteria": [
                    {"depth": n.depth, "criterion": n.text, "actual": n.actual, "passed": n.passed}
                    for n in explained
                ],
            }
        write_json(data)
        return

    table = new_table("", "", title=f"{key} as of {as_of.isoformat()}")
    table.show_header = False
    for name in F.SHOWN:
        table.add_row(name, Text(_shown(facts, name)))
    for name, value in custom.items():
        table.add_row(f"{F.CUSTOM_PREFIX}{name}", Text(str(value)))
    table.add_row("segments", Text(", ".join(memberships)))
    tables = [table]
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
        verdict = "is a member" if explained[0].passed else "is not a member"
        explain_table = new_table(
            "criterion",
            "actual",
            "result",
            title=f"{explained_segment.name}: {key} {verdict}",
        )
        for node in explained:
            explain_table.add_row(
                Text("  " * node.depth + node.text),
                Text(node.actual),
                Text("pass" if node.passed else "fail", style="green" if node.passed else "red"),
            )
        tables.append(explain_table)
    show_table(*tables)


def _shown(facts: dict, name: str) -> str:
    """A field in the person's table: money to the cent, as every table shows it."""
    if name == "total_spent":
        return money_for_people(to_decimal(facts["total_spent"]))
    if name == "average_order_value" and facts["orders_count"]:
        # From the exact quotient: rounding the four-decimal figure again could round twice.
        return money_for_people(to_decimal(facts["total_spent"]) / facts["orders_count"])
    return show_field(facts, name)
