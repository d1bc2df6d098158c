"""segcli info: what the database holds."""

from __future__ import annotations

import click

from segcli.output import new_table, show_table, write_json
from segcli.store.info import store_info


def render_info(info: dict) -> None:
    """The info summary as tables on stderr."""
    table = new_table("", "", title="segcli database")
    table.show_header = False
    table.add_row("database", info["database"])
    table.add_row("schema version", str(info["schema_version"]))
    table.add_row("people", f"{info['people']:,} ({info['guests']:,} without a customer id)")
    span = "no orders"
    if info["first_order_at"]:
        span = f"{info['first_order_at']} … {info['last_order_at']} (UTC)"
    table.add_row("orders dated", span)
    table.add_row("anonymous orders", f"{info['anonymous_orders']:,} (no customer: in no segment)")
    show_table(table)
    kinds = new_table("kind", "rows", "last imported (UTC)", numeric=("rows",))
    for kind, rows in info["rows"].items():
        kinds.add_row(kind, f"{rows:,}", info["last_imported_at"][kind] or "never")
    show_table(kinds)


@click.command("info")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table for people (on stderr), json for scripts (on stdout).",
)
@click.pass_obj
def info_command(app, output_format):
    """Show the database's path, schema version, row counts, people and last imports."""
    with app.open_store(create=False) as store:
        info = store_info(store)
    if output_format == "json":
        write_json(info)
    else:
        render_info(info)
