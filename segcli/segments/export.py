"""Writing member lists (SPEC 4): CSV, TSV, JSON and JSON Lines, streamed row by row.

Money is written exactly as stored; CSV and TSV text cells that a spreadsheet would run
as a formula are prefixed with ``'``; files are created owner-only under a temporary
name and renamed only when complete.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

from segcli.errors import SegcliError
from segcli.files import atomic_write
from segcli.money import format_money, to_decimal
from segcli.output import cell_text, delimited_line, iso_utc, json_text
from segcli.rules import fields as F
from segcli.rules.fields import EXPORT_FIELDS
from segcli.rules.parse import did_you_mean

if TYPE_CHECKING:
    from segcli.rules import ast
    from segcli.segments.evaluate import AnyEvaluation, Evaluation

FORMATS = ("csv", "tsv", "json", "jsonl")
# The format a file name asks for, by its extension (any case).
EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
FORMAT_NAMES = {"csv": "CSV", "tsv": "TSV", "json": "JSON", "jsonl": "JSON Lines"}
# Files merchants save member lists as that segcli does not write. Named, so that
# `-o members.xlsx` is refused instead of leaving CSV under a name Excel will not open.
UNWRITABLE = {
    **dict.fromkeys((".xlsx", ".xlsm", ".xls"), "Excel workbooks"),
    **dict.fromkeys((".ods", ".numbers"), "spreadsheet workbooks"),
    **dict.fromkeys((".parquet", ".feather", ".arrow", ".avro", ".orc"), "columnar files"),
    **dict.fromkeys((".gz", ".zip", ".bz2", ".xz", ".zst"), "compressed files"),
    **dict.fromkeys((".xml", ".html", ".htm", ".pdf"), "documents"),
    **dict.fromkeys((".db", ".sqlite", ".sqlite3"), "databases"),
}
# Cells starting with these are run as formulas by spreadsheets (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def check_fields(text: str) -> list[str]:
    """The --fields list, each an exported field of the registry or custom.NAME."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise SegcliError("--fields needs at least one field name")
    for name in names:
        if name not in EXPORT_FIELDS and not _is_custom(name):
            raise SegcliError(
                f"--fields: unknown field {name!r}",
                hint=did_you_mean(name, EXPORT_FIELDS)
                or f"fields are {', '.join(EXPORT_FIELDS)} and custom.NAME",
            )
    return names


def output_format(output: str, given: str | None) -> str:
    """The format of ``-o output``: the file's extension decides, ``--format`` (``given``)
    may only agree with it; for stdout (``-``) or a name segcli has no format for
    (``members.txt``), ``--format``, else CSV."""
    extension = Path(output).suffix.lower() if output != "-" else ""
    if extension in EXTENSIONS:
        implied = EXTENSIONS[extension]
        if given is not None and given != implied:
            raise SegcliError(
                f"{output} is a {FORMAT_NAMES[implied]} file name but --format is {given}",
                hint=f"leave out --format, or name the file {Path(output).stem}.{given}",
            )
        return implied
    if extension in UNWRITABLE:
        what = UNWRITABLE[extension]
        hint = f"write {Path(output).stem}.csv, which spreadsheets open (or .tsv, .json, .jsonl)"
        if what == "compressed files":
            hint = f"write to stdout and compress that: -o - | gzip > {Path(output).name}"
        raise SegcliError(
            f"{output}: segcli cannot write {what} ({Path(output).suffix})", hint=hint
        )
    return given or "csv"


def check_output_path(path: Path) -> None:
    """Refuse an output file that cannot be written, before anything is evaluated."""
    if path.is_dir():
        raise SegcliError(f"-o {path} is a directory; give a file name")
    directory = path.parent
    if not directory.is_dir():
        raise SegcliError(f"-o {path}: directory {directory} does not exist")


def _is_custom(name: str) -> bool:
    return name.startswith(F.CUSTOM_PREFIX) and len(name) > len(F.CUSTOM_PREFIX)


def _type(name: str) -> str | None:
    """The registry's type of a field, which says how its value is written; a figure at
    one of two dates (``total_spent_from``, ``total_spent_to``: segment changes) has its
    field's type."""
    field = F.PERSON_FIELDS.get(name)
    if field is None and name.endswith(("_from", "_to")):
        field = F.PERSON_FIELDS.get(name.rsplit("_", 1)[0])
    return None if field is None else field.type


# A value of these types for scripts; a value of any other type, or of a field outside the
# registry (type None), is written as stored.
_PLAIN_VALUES: dict[str | None, Callable] = {
    F.MONEY: to_decimal,
    F.DATE: iso_utc,
    F.BOOLEAN: bool,
    F.TAGS: json.loads,
}


def value_of(member: dict, name: str):
    """A member's field as a plain value: Decimal for money, ISO text for dates, bool, list."""
    if name.startswith(F.CUSTOM_PREFIX):
        # Not trimmed as a condition's custom.NAME is: --fields names the column as given.
        return custom_fields(member).get(name[len(F.CUSTOM_PREFIX) :].lower())
    value = member.get(name)
    if value is None:
        return None
    plain = _PLAIN_VALUES.get(_type(name))
    return value if plain is None else plain(value)


def custom_fields(facts: dict) -> dict[str, object]:
    """A person's custom fields by their stored name (lower-cased and trimmed)."""
    return json.loads(facts.get("custom") or "{}")


def _cell(value, raw: bool) -> str:
    text = cell_text(value)
    # Only text is escaped: a negative amount or number is a number to a spreadsheet too.
    if raw or not isinstance(value, str | list):
        return text
    return _escape_formula(text)


def _cell_writer(name: str, raw: bool) -> Callable[[dict], str]:
    """A field's cell text from a member, decided once per field rather than per row.

    The same text as ``_cell(value_of(member, name), raw)``, which the tests check.
    """
    escape = (lambda text: text) if raw else _escape_formula
    kind = _type(name)
    if name.startswith(F.CUSTOM_PREFIX):
        return lambda member: _cell(value_of(member, name), raw)
    if kind == F.MONEY:
        return lambda member: format_money(member.get(name))
    if kind == F.DATE:
        return lambda member: iso_utc(member.get(name)) or ""
    if kind == F.BOOLEAN:
        return lambda member: "" if (v := member.get(name)) is None else "true" if v else "false"
    if kind == F.TAGS:
        return lambda member: (
            "" if (v := member.get(name)) is None else escape(", ".join(json.loads(v)))
        )

    def text(member: dict) -> str:
        value = member.get(name)
        if value is None:
            return ""
        if isinstance(value, int):
            return str(value)
        return escape(value)

    return text


def _escape_formula(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


# The same cells made by SQLite, so that Python only joins them: over a million members,
# making the cells in Python took most of the time. {x} is the column; each template gives
# exactly the cell of the writers above (a test checks). A text column may hold a number,
# which the writers show as it is: hence the typeof test before the formula check.
_MONEY_SQL = (
    # Whole cents and not negative, as most amounts are, in one printf().
    "CASE WHEN {x} >= 0 AND {x} % 100 = 0 THEN printf('%d.%02d', {x} / 10000, {x} % 10000 / 100) "
    "WHEN {x} IS NULL THEN '' ELSE (CASE WHEN {x} < 0 THEN '-' ELSE '' END) "
    "|| (abs({x}) / 10000) || '.' || CASE "
    "WHEN abs({x}) % 100 = 0 THEN printf('%02d', abs({x}) % 10000 / 100) "
    "WHEN abs({x}) % 10 = 0 THEN printf('%03d', abs({x}) % 10000 / 10) "
    "ELSE printf('%04d', abs({x}) % 10000) END END"
)
_DATE_SQL = "ifnull(replace({x}, ' ', 'T') || 'Z', '')"
_BOOLEAN_SQL = "CASE WHEN {x} IS NULL THEN '' WHEN {x} THEN 'true' ELSE 'false' END"
_TEXT_SQL = "ifnull({x} || '', '')"
# unicode() is the code of the first character: those of _FORMULA_STARTS are escaped.
# Text from the character after the greatest of them up ('A'; text sorts below any blob,
# X'') starts with none, as names, emails and ids mostly do: it skips the function calls.
_PLAIN_FROM = chr(max(map(ord, _FORMULA_STARTS)) + 1).replace("'", "''")
_ESCAPED_SQL = (
    f"CASE WHEN {{x}} >= '{_PLAIN_FROM}' AND {{x}} < X'' THEN {{x}} "
    "WHEN unicode({x}) IN ("
    + ", ".join(str(ord(start)) for start in _FORMULA_STARTS)
    + ") AND typeof({x}) = 'text' THEN char(39) || {x} ELSE ifnull({x} || '', '') END"
)
# The cell of a value of these types; a value of any other type is text.
_CELL_SQL = {F.MONEY: _MONEY_SQL, F.BOOLEAN: _BOOLEAN_SQL, F.DATE: _DATE_SQL}


def cells_sql(fields: list[str], raw: bool) -> list[str] | None:
    """SQL for each field's CSV/TSV cell over facts ``f``, or None when a field is
    written by Python only (tags, custom.NAME)."""
    cells = []
    for name in fields:
        if name not in EXPORT_FIELDS or _type(name) == F.TAGS:
            return None
        # The column's SQL comes from the registry, never from the user's text.
        field = F.PERSON_FIELDS[name]
        text = _TEXT_SQL if raw else _ESCAPED_SQL
        cells.append(_CELL_SQL.get(field.type, text).format(x=field.sql))
    return cells


def write_cells(
    fields: list[str], delimiter: str, rows: Iterable[Sequence[str]], out: IO[str]
) -> int:
    """The header, then a CSV/TSV line of each row of cells; returns how many rows were
    written."""
    out.write(delimited_line(fields, delimiter))
    needs_quotes = re.compile('["\n\r]').search
    separators = len(fields) - 1
    count = 0
    lines: list[str] = []
    for cells in rows:
        line = delimiter.join(cells)
        if line.count(delimiter) != separators or needs_quotes(line):
            line = delimited_line(cells, delimiter)[:-1]
        lines.append(line)
        if len(lines) == _LINES_PER_WRITE:
            out.write("\n".join(lines) + "\n")
            count += len(lines)
            lines.clear()
    if lines:
        out.write("\n".join(lines) + "\n")
        count += len(lines)
    return count


def _json_object(member: dict, fields: list[str]) -> str:
    return json_text({name: value_of(member, name) for name in fields}, indent=None)


# Lines are written in blocks: one write per member cost more than building the line.
_LINES_PER_WRITE = 1_000


def write_members(
    members: Iterable[dict], fields: list[str], output_format: str, out: IO[str], *, raw: bool
) -> int:
    """Write members to ``out``; returns how many were written."""
    if output_format in ("csv", "tsv"):
        writers = [_cell_writer(name, raw) for name in fields]
        rows = ([write(member) for write in writers] for member in members)
        return write_cells(fields, "," if output_format == "csv" else "\t", rows, out)
    count = 0
    if output_format == "jsonl":
        for member in members:
            out.write(_json_object(member, fields) + "\n")
            count += 1
    else:
        out.write("[")
        for member in members:
            out.write(("\n  " if count == 0 else ",\n  ") + _json_object(member, fields))
            count += 1
        out.write("\n]\n" if count else "]\n")
    return count


def write_segment(
    evaluation: AnyEvaluation,
    segment: ast.Segment,
    fields: list[str],
    output_format: str,
    out: IO[str],
    *,
    raw: bool,
    subscribed_only: bool = False,
) -> int:
    """Write the segment's members to ``out``, as the evaluation's engine writes them;
    returns how many were written."""
    return evaluation.export(
        segment, fields, output_format, out, raw=raw, subscribed_only=subscribed_only
    )


def write_sqlite_segment(
    evaluation: Evaluation,
    segment: ast.Segment,
    fields: list[str],
    output_format: str,
    out: IO[str],
    *,
    raw: bool,
    subscribed_only: bool = False,
) -> int:
    """The SQLite engine's export: CSV and TSV cells made by SQLite where every field
    allows it (``cells_sql``); JSON, tags and custom fields by the Python writers."""
    cells = cells_sql(fields, raw) if output_format in ("csv", "tsv") else None
    if cells is not None:
        rows = evaluation.rows(segment, cells, subscribed_only=subscribed_only)
        return write_cells(fields, "," if output_format == "csv" else "\t", rows, out)
    members = evaluation.members(segment)
    if subscribed_only:
        members = (member for member in members if member["accepts_marketing"])
    return write_members(members, fields, output_format, out, raw=raw)


@contextmanager
def private_output(path: Path) -> Iterator[IO[str]]:
    """A file created readable by its owner only, renamed into place only when complete."""
    check_output_path(path)
    with ExitStack() as stack:
        try:
            out = stack.enter_context(atomic_write(path))
        except OSError as error:
            raise SegcliError(f"cannot write {path}: {error.strerror}") from error
        yield out
