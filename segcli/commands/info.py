"""segcli info: what the database holds."""

from __future__ import annotations

import click
from rich.table import Table

from segcli.commands.options import format_option
from segcli.output import ANSWER_FORMATS, counted, iso_utc, new_table, write_answer
from segcli.store.info import store_info

# csv and tsv hold one row per figure: its name (as in the JSON, `rows.orders` for a
# nested one) and its value.
INFO_FIELDS = ("field", "value")


def info_tables(info: dict) -> tuple[Table, Table]:
    """The info summary as tables for people: the store, then each kind's rows."""
    table = new_table("", "", title="segcli database")
    table.show_header = False
    table.add_row("database", info["database"])
    table.add_row("schema version", str(info["schema_version"]))
    table.add_row("people", f"{info['people']:,} ({info['guests']:,} without a customer id)")
    span = "no orders"
    if info["first_order_at"]:
        span = f"{info['first_order_at']} to {info['last_order_at']} (UTC)"
    table.add_row("orders dated", span)
    table.add_row("currency", _currency(info))
    if info["unconverted_orders"]:
        table.add_row(
            "not converted",
            f"{counted(info['unconverted_orders'], 'order')} in another currency than the "
            "store's, added as they are (imported before segcli converted currencies): "
            "import their files again with --currency and --rate or --rates",
        )
    table.add_row(
        "anonymous orders",
        f"{info['anonymous_orders']:,} (no customer id or email: they count for no one)",
    )
    for file in info["files_without_customer_column"]:
        table.add_row(
            "no customer column",
            f"{file['file']}: its {counted(file['orders'], 'order')} belong to no one "
            "(the file has no customer id or email column)",
        )
    copy = info["analytic_copy"]
    state = (
        f"{copy['bytes'] / 1_000_000:,.1f} MB in {counted(copy['files'], 'file')}"
        if copy["files"]
        else "not built yet"
    )
    if copy["files"] and copy["stale_tables"]:
        state += f"; {', '.join(copy['stale_tables'])} to be read again by the next evaluation"
    table.add_row("analytic copy", f"{copy['path']} ({state})")
    kinds = new_table("kind", "rows", "last imported (UTC)", numeric=("rows",))
    for kind, rows in info["rows"].items():
        kinds.add_row(kind, f"{rows:,}", info["last_imported_at"][kind] or "never")
    return table, kinds


def _currency(info: dict) -> str:
    if info["currency"] is None:
        return "none yet (no orders file has named one; see import --currency)"
    converted = info["converted_orders"]
    if not converted:
        return info["currency"]
    return f"{info['currency']} ({counted(converted, 'order')} converted from other currencies)"


def info_for_scripts(info: dict) -> dict:
    """The summary with its dates written as exports write them (ISO-8601 UTC)."""
    return {
        **info,
        "first_order_at": iso_utc(info["first_order_at"]),
        "last_order_at": iso_utc(info["last_order_at"]),
        "last_imported_at": {
            kind: iso_utc(finished_at) for kind, finished_at in info["last_imported_at"].items()
        },
        "files_without_customer_column": [
            {**file, "imported_at": iso_utc(file["imported_at"])}
            for file in info["files_without_customer_column"]
        ],
    }


def _flat(data: dict | list, prefix: str = "") -> list[dict]:
    """One row per figure, named by its path: ``rows.orders``, ``files.0.file``."""
    rows = []
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for name, value in items:
        if isinstance(value, dict | list):
            rows += _flat(value, f"{prefix}{name}.")
        else:
            rows.append({"field": f"{prefix}{name}", "value": value})
    return rows


@click.command("info")
@format_option(*ANSWER_FORMATS)
@click.pass_obj
def info_command(app, output_format):
    """Show the database's path, schema version, row counts, people and last imports."""
    with app.open_store(create=False) as store:
        info = store_info(store)
    for_scripts = info_for_scripts(info)
    write_answer(
        output_format,
        info_tables(info),
        fields=INFO_FIELDS,
        records=_flat(for_scripts),
        document=for_scripts,
    )
