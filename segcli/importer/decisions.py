"""What segcli settles about a file before its rows are loaded, or refuses it over.

Its separator (given, or the one its header shows), the platform layout it is read
through (--from), how its dates read (the order given, or the one its values prove), and
the store's currency for its orders (the one stored, given, or the one the file's orders
name). Where a file leaves a choice open segcli refuses it and names the option that
settles it: it never picks one reading silently.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from segcli.errors import ImportRefused
from segcli.importer import dialects, headers
from segcli.importer.currencies import Conversion
from segcli.importer.dates import DAY_FIRST, DateReader, collect_evidence, describe
from segcli.importer.kinds import Kind, missing_columns
from segcli.importer.options import ImportOptions, ImportResult
from segcli.importer.reader import CsvFile
from segcli.importer.staging import loaded_rows
from segcli.store.db import Store
from segcli.store.settings import store_currency

if TYPE_CHECKING:
    from segcli.importer.plan import ColumnPlan


# Separators a header may show when it was not read as comma-separated (tab: TSV).
OTHER_DELIMITERS = (";", "\t", "|")


def _delimiter_words(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else delimiter


def _delimiter_option(delimiter: str) -> str:
    return "--delimiter tab" if delimiter == "\t" else f"--delimiter {shlex.quote(delimiter)}"


def _header(path: Path, options: ImportOptions, delimiter: str) -> list[str]:
    with CsvFile(path, encoding=options.encoding, delimiter=delimiter) as source:
        return source.header


def file_delimiter(
    path: Path, options: ImportOptions, kind: Kind | None = None
) -> tuple[str, str | None]:
    """The file's separator, and a note when it was detected rather than given.

    Without --delimiter a header read with commas that is one column and splits into
    several at exactly one of ``;``, tab and ``|`` is read with that one. A header that
    splits at more than one is refused, naming the --delimiter options (the one that gives
    ``kind`` its columns first).
    """
    if options.delimiter is not None:
        return options.delimiter, None
    if len(_header(path, options, ",")) != 1:
        return ",", None
    splits = [d for d in OTHER_DELIMITERS if len(_header(path, options, d)) > 1]
    if not splits:
        return ",", None
    if len(splits) == 1:
        [delimiter] = splits
        words = _delimiter_words(delimiter)
        return delimiter, f"read as {words}-separated (detected from its header)"
    fitting = [] if kind is None else _fitting_delimiters(kind, path, options, splits)
    choices = [*fitting, *(d for d in splits if d not in fitting)]
    hint = "give the separator with " + " or ".join(_delimiter_option(d) for d in choices)
    if fitting:
        assert kind is not None  # delimiters fit the columns of a kind only
        hint = f"{_delimiter_option(fitting[0])} gives it the columns of {kind.name}; {hint}"
    raise ImportRefused(
        path,
        "its header line splits into columns at "
        + " and at ".join(repr(_delimiter_words(d)) for d in splits)
        + ": segcli cannot tell which separates its columns",
        hint=hint,
    )


def _fitting_delimiters(
    kind: Kind, path: Path, options: ImportOptions, candidates: Iterable[str]
) -> list[str]:
    """The separators with which the file's header has the columns ``kind`` needs."""
    fitting = []
    for delimiter in candidates:
        try:
            header = _header(path, options, delimiter)
        except ImportRefused:
            continue
        if options.dialect != dialects.NATIVE:
            layout = dialects.LAYOUTS.get((options.dialect, kind.name))
            names = {name.strip().lower() for name in header}
            fits = layout is not None and all(
                any(c in names for c in group) for group in layout.required
            )
        else:
            names = {options.mapping.get(n, n) for n in (h.strip().lower() for h in header)}
            fits = not missing_columns(kind, names)
        if fits:
            fitting.append(delimiter)
    return fitting


def delimiter_hint(kind: Kind, path: Path, options: ImportOptions) -> str | None:
    """For a header that lacks needed columns: the --delimiter with which it has them."""
    others = [d for d in (",", *OTHER_DELIMITERS) if d != options.delimiter]
    fitting = _fitting_delimiters(kind, path, options, others)
    if not fitting:
        return None
    return f"read with {_delimiter_option(fitting[0])}, its header has the columns {kind.name} need"


def header_of(path: Path, options: ImportOptions) -> list[str]:
    """The trimmed header of a file (used to lay out the --rejects file)."""
    delimiter, _ = file_delimiter(path, options)
    return [name.strip() for name in _header(path, options, delimiter)]


def layout_translation(
    kind: Kind, path: Path, options: ImportOptions, header: list[str]
) -> dialects.Translation | None:
    """The platform layout's reading of the file (--from), or None for a native file."""
    headers.check_layout(path, kind, header, options.dialect, mapped=bool(options.mapping))
    if options.dialect == dialects.NATIVE:
        return None
    layout = dialects.LAYOUTS.get((options.dialect, kind.name))
    if layout is None:
        raise ImportRefused(
            path,
            f"--from {options.dialect} reads {dialects.kinds_in_words(options.dialect)} "
            f"exports, not {kind.name}",
            hint=f"import {kind.name} files in segcli's own columns (--from native, with --map)",
        )
    try:
        return dialects.Translation(layout, path, header)
    except ImportRefused as error:
        error.hint = delimiter_hint(kind, path, options) or error.hint
        raise


def date_reader(
    kind: Kind, path: Path, options: ImportOptions, plan: ColumnPlan, result: ImportResult
) -> DateReader:
    """How this file's dates are read: the order given, or the one its values prove.

    A file whose numeric dates all read both ways (1/12/2010) and for which no order was
    given is refused: segcli never picks one reading silently.
    """
    if options.date_format is not None:
        result.dates = f"dates in the format {options.date_format} (--date-format)"
        return DateReader(options.date_order, options.date_format)
    if options.date_order is not None:
        result.dates = f"dates {_order_words(options.date_order)} (--{options.date_order})"
        return DateReader(options.date_order)
    positions = plan.date_positions()
    if not positions:
        return DateReader()
    evidence = collect_evidence(_cells(kind, path, options, positions))
    if evidence.decided is not None:
        result.dates = (
            f"dates {_order_words(evidence.decided)}, as {evidence.proof!r} shows "
            f"(line {evidence.proof_line})"
        )
        return DateReader(evidence.decided)
    if evidence.ambiguous:
        assert evidence.example is not None  # an ambiguous file has its example
        raise ImportRefused(
            path,
            f"its dates do not show whether the day or the month comes first: "
            f"{describe(evidence.example)}",
            line=evidence.example_line,
            hint="give the file's order with --dayfirst or --monthfirst "
            "(or its exact format, e.g. --date-format '%d/%m/%Y %H:%M')",
        )
    return DateReader()


def _cells(
    kind: Kind, path: Path, options: ImportOptions, positions: list[int]
) -> Iterator[tuple[int, str]]:
    """The file's cells at ``positions`` (of native columns), read again from the start,
    each with its line."""
    assert options.delimiter is not None  # decided before the file is read (file_delimiter)
    with CsvFile(path, encoding=options.encoding, delimiter=options.delimiter) as scan:
        records = scan.records()
        translation = layout_translation(kind, path, options, scan.header)
        if translation is not None:
            records = translation.records(records)
        for record in records:
            for position in positions:
                if position < len(record.fields):
                    yield record.line, record.fields[position]


def _order_words(order: str) -> str:
    return "day first" if order == DAY_FIRST else "month first"


def currency_conversion(store: Store, kind: Kind, path: Path, options: ImportOptions) -> Conversion:
    """The store's currency for this file's orders, and the merchant's rates.

    The store's currency is the one stored, else ``--currency``; else it is settled once
    the file is loaded (``settle_currency``).
    """
    if not kind.converts_currency:
        return Conversion(None)
    stored = store_currency(store)
    given = options.currency
    if stored is not None and given is not None and given != stored:
        raise ImportRefused(
            path,
            f"--currency {given}: the store's currency is {stored}, and a store has one",
            hint=f"orders in {given} are converted into {stored} with --rate {given}=RATE "
            "or --rates FILE",
        )
    currency = stored or given
    return Conversion(currency, options.rates, adopted=currency if currency != stored else None)


def settle_currency(store: Store, kind: Kind, path: Path, conversion: Conversion) -> None:
    """For a store with no currency yet, the one currency this file's orders name becomes
    the store's; orders in several refuse the file (segcli never picks one). Called once
    the file is loaded (``staging.loaded_rows`` holds its orders)."""
    if not kind.converts_currency or conversion.store_currency is not None:
        return
    found = store.execute(
        f"SELECT currency, count(*) FROM {loaded_rows(store, kind)} WHERE currency IS NOT NULL "
        "GROUP BY currency ORDER BY count(*) DESC, currency"
    ).fetchall()
    if len(found) > 1:
        shown = ", ".join(f"{code} ({count:,})" for code, count in found)
        raise ImportRefused(
            path,
            f"its orders are in {len(found)} currencies ({shown}) and the store has no "
            "currency yet: segcli adds amounts in one currency only",
            hint=f"give the store's currency and rates for the others, e.g. --currency "
            f"{found[0][0]} --rate {found[1][0]}=RATE (or --rates FILE)",
        )
    if found:
        conversion.store_currency = conversion.adopted = found[0][0]
