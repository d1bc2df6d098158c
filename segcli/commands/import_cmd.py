"""segcli import KIND FILE...: translate options, call the importer, report each file."""

from __future__ import annotations

import shlex
from datetime import datetime
from pathlib import Path

import click

from segcli.errors import BadValue, ImportRefused, SegcliError
from segcli.importer.currencies import (
    Rates,
    currency_code,
    parse_rate_options,
    read_rates_file,
)
from segcli.importer.dates import DAY_FIRST, MONTH_FIRST
from segcli.importer.decisions import header_of
from segcli.importer.dialects import DIALECTS, NATIVE
from segcli.importer.headers import likely_column
from segcli.importer.kinds import KINDS, known_columns
from segcli.importer.load import ImportOptions, ImportResult, import_file
from segcli.importer.rejects import RejectsFile
from segcli.output import counted, file_progress, say, warn

EXIT_REJECTED = 3


def _parse_mapping(kind: str, mappings: tuple[str, ...]) -> dict[str, str]:
    known = known_columns(KINDS[kind])
    mapping: dict[str, str] = {}
    for item in mappings:
        written, equals, target = item.rpartition("=")
        source, target = written.strip().lower(), target.strip().lower()
        if not equals or not source or not target:
            raise click.BadParameter(f"{item!r} is not SOURCE=TARGET", param_hint="--map")
        if target not in known:
            meant = likely_column(target, known)
            if meant is not None:
                # A custom field named like a known column is a slip, not a choice.
                fix = shlex.quote(f"{written.strip()}={meant}")
                raise click.BadParameter(
                    f"{target!r} is not a column of {kind} files; did you mean {meant!r}? "
                    f"(--map {fix})",
                    param_hint="--map",
                )
            if not KINDS[kind].keeps_unknown_columns:
                raise click.BadParameter(
                    f"{target!r} is not a column of {kind} files; "
                    f"expected one of: {', '.join(sorted(known))}",
                    param_hint="--map",
                )
        mapping[source] = target
    return mapping


def _currency(value: str) -> str:
    try:
        return currency_code(value, "--currency")
    except BadValue as error:
        raise click.BadParameter(error.reason, param_hint="--currency") from None


def _rates(kind: str, currency, rate_options: tuple[str, ...], rates_path: Path | None) -> Rates:
    """The rates given with --rate and --rates (files of kinds with amounts in a currency)."""
    if not KINDS[kind].converts_currency and (currency or rate_options or rates_path):
        raise click.UsageError("--currency, --rate and --rates go with orders files")
    try:
        fixed = parse_rate_options(rate_options)
    except BadValue as error:
        raise click.BadParameter(error.reason, param_hint="--rate") from None
    rates = read_rates_file(rates_path) if rates_path is not None else Rates()
    try:
        return rates.with_fixed(fixed)
    except BadValue as error:
        raise click.UsageError(error.reason) from None


def _delimiter(value: str) -> str:
    value = {"\\t": "\t", "tab": "\t"}.get(value, value)
    if len(value) != 1:
        raise click.BadParameter("give one character (or 'tab')", param_hint="--delimiter")
    return value


def _date_format(value: str | None) -> str | None:
    """A strftime format that can read back what it writes."""
    if value is None:
        return None
    sample = datetime(2010, 12, 31, 23, 59, 58)
    try:
        datetime.strptime(sample.strftime(value), value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date format segcli can read (use codes such as %d, %m, %Y, "
            "%H, %M, %S)",
            param_hint="--date-format",
        ) from None
    if "%" not in value:
        raise click.BadParameter(
            f"{value!r} has no date codes (%d, %m, %Y, ...)", param_hint="--date-format"
        )
    return value


def report(shown_path: str, result: ImportResult) -> None:
    """The summary of one file's import, and its first rejected rows, on stderr."""
    would = "would be " if result.dry_run else ""
    counts = (
        f"{counted(result.rows_read, 'row')} read: {would}{result.inserted:,} inserted, "
        f"{result.updated:,} updated, {result.unchanged:,} unchanged, "
        f"{result.rejected:,} rejected"
    )
    read_as = f"{shown_path}: read as {result.read_as}, {counted(result.columns, 'column')}"
    say(read_as + (f"; {result.dates}" if result.dates else ""))
    if result.delimiter_note:
        say(f"{shown_path}: {result.delimiter_note}")
    for message in result.warnings:
        warn(f"{shown_path}: {message}")
    if result.ignored:
        say(
            f"{shown_path}: ignoring {counted(len(result.ignored), 'column')} segcli has no "
            f"place for: {', '.join(result.ignored)}"
        )
    for reject in result.rejects:
        say(f"{shown_path}, line {reject.line}: rejected: {reject.reason}")
    hidden = result.rejected - len(result.rejects)
    if hidden > 0:
        say(
            f"{shown_path}: ... and {counted(hidden, 'more rejected row')} "
            "(--rejects FILE saves them all)"
        )
    if result.replaced:
        say(
            f"{shown_path}: {counted(result.replaced, 'row')} replaced by a later row with the "
            "same key (each counted with the row that replaced it)"
        )
    if result.refused:
        say(f"{shown_path}: refused: {result.refused}")
        return
    if result.dry_run:
        say(f"{shown_path}: dry run, nothing written; {counts}")
    else:
        say(f"{shown_path}: {counts}")
    if result.orders is not None:
        inserted, updated, unchanged = result.orders
        say(
            f"{shown_path}: {counted(sum(result.orders), 'order')} with "
            f"{counted(result.line_items, 'line item')}: {would}{inserted:,} inserted, "
            f"{updated:,} updated, {unchanged:,} unchanged"
        )
    if result.new_currency:
        say(
            f"{shown_path}: the store's currency is {result.currency}: orders in another "
            "currency are converted with --rate or --rates, or rejected"
        )
    if result.converted:
        by_currency = ", ".join(f"{code} ({count:,})" for code, count in result.converted.items())
        say(
            f"{shown_path}: {counted(sum(result.converted.values()), 'order')} "
            f"{would}converted into {result.currency}: {by_currency}"
        )
    if result.anonymous:
        one = result.anonymous == 1
        counts = (
            ("it would count" if one else "they would count")
            if result.dry_run
            else ("it counts" if one else "they count")
        )
        say(
            f"{shown_path}: {counted(result.anonymous, 'order')} {'has' if one else 'have'} "
            f"no customer id or email: {counts} for no one"
        )


@click.command("import")
@click.argument("kind", type=click.Choice(sorted(KINDS)), metavar="KIND")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--from",
    "dialect",
    type=click.Choice(DIALECTS),
    default=NATIVE,
    show_default=True,
    help="Where the file comes from: segcli's own columns, or a platform's export "
    "(shopify and woocommerce: orders, customers and products).",
)
@click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar="SOURCE=TARGET",
    help="Read the file's column SOURCE as segcli's column TARGET (repeatable).",
)
@click.option(
    "--delimiter",
    help="Field separator ('tab' for TSV). Default: a comma, or the one of ';', tab and '|' "
    "that the header shows.",
)
@click.option(
    "--keep-unknown",
    is_flag=True,
    help="Import a file whose unknown columns look like misspelt known ones: keep them as "
    "custom fields (customers) or ignore them (other kinds).",
)
@click.option("--encoding", default="utf-8", show_default=True, help="Text encoding of the file.")
@click.option(
    "--dayfirst", is_flag=True, help="Read numeric dates day first: 1/12/2010 is 1 December 2010."
)
@click.option(
    "--monthfirst",
    is_flag=True,
    help="Read numeric dates month first: 1/12/2010 is 12 January 2010.",
)
@click.option(
    "--date-format",
    metavar="FORMAT",
    help="The file's date format in strftime codes, e.g. '%d.%m.%Y %H:%M' (ISO dates are "
    "still read).",
)
@click.option(
    "--currency",
    metavar="CODE",
    help="The store's currency (orders), e.g. EUR; kept for the store. Default: the one "
    "currency of the first orders file that names one.",
)
@click.option(
    "--rate",
    "rate_options",
    multiple=True,
    metavar="CUR=RATE",
    help="Convert orders in CUR at RATE (what one CUR is in the store's currency), e.g. "
    "--rate USD=0.92 (repeatable).",
)
@click.option(
    "--rates",
    "rates_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A CSV file of rates: currency,rate (and date, for rates from that day on).",
)
@click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(path_type=Path, dir_okay=True),
    help="Write rejected rows here as CSV, with their line number and reason.",
)
@click.option("--strict", is_flag=True, help="Refuse a file whole if any row is rejected.")
@click.pass_obj
def import_command(
    app,
    kind,
    files,
    dialect,
    mappings,
    delimiter,
    keep_unknown,
    encoding,
    dayfirst,
    monthfirst,
    date_format,
    currency,
    rate_options,
    rates_path,
    dry_run,
    rejects_path,
    strict,
):
    """Import CSV FILES of KIND into the database.

    KIND is one of customers, orders, items, products, reviews, subscribers, carts.
    Each file is imported in one transaction: all of it or, when it is refused, none.
    Exit status: 0 all rows imported, 3 some rows rejected, 1 a file refused.
    """
    if dayfirst and monthfirst:
        raise click.UsageError("give --dayfirst or --monthfirst, not both")
    date_order = DAY_FIRST if dayfirst else MONTH_FIRST if monthfirst else None
    if mappings and dialect != NATIVE:
        raise click.UsageError(
            f"--map renames the columns of a native file; --from {dialect} already knows "
            "its columns"
        )
    options = ImportOptions(
        currency=None if currency is None else _currency(currency),
        rates=_rates(kind, currency, rate_options, rates_path),
        encoding=encoding,
        delimiter=None if delimiter is None else _delimiter(delimiter),
        keep_unknown=keep_unknown,
        mapping=_parse_mapping(kind, mappings),
        dry_run=dry_run,
        strict=strict,
        dialect=dialect,
        date_order=date_order,
        date_format=_date_format(date_format),
    )
    store = app.open_store(dry_run=dry_run)
    rejects_file = None
    if rejects_path is not None:
        rejects_file = _open_rejects(rejects_path, files, options)
    exit_code = 0
    try:
        for path in files:
            try:
                with file_progress(f"{kind} {path.name}") as (on_start, on_progress, on_phase):
                    result = import_file(
                        store,
                        kind,
                        path,
                        options,
                        rejects_file=rejects_file,
                        on_start=on_start,
                        on_progress=on_progress,
                        on_phase=on_phase,
                    )
            except ImportRefused as error:
                say(f"Error: {error}")
                exit_code = 1
                continue
            report(str(path), result)
            if result.refused:
                exit_code = 1
            elif result.rejected and exit_code == 0:
                exit_code = EXIT_REJECTED
    except BaseException:
        if rejects_file is not None:
            rejects_file.discard()
        raise
    if rejects_file is not None:
        rejects_file.commit()
        say(f"{counted(rejects_file.rows, 'rejected row')} written to {rejects_path}")
    click.get_current_context().exit(exit_code)


def _open_rejects(rejects_path: Path, files: tuple[Path, ...], options: ImportOptions):
    columns: list[str] = []
    for path in files:
        try:
            header = header_of(path, options)
        except SegcliError:
            continue  # reported when the file itself is imported
        columns.extend(name for name in header if name not in columns)
    return RejectsFile(rejects_path, columns, with_file_column=len(files) > 1)
