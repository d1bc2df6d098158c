"""Member lists written by DuckDB (SPEC 4, issue 17): every CSV/TSV cell and JSON value is
made in SQL, one finished line per member, and Python writes the lines a batch at a time.

The bytes are exactly those ``segcli.segments.export.write_segment`` writes for the same
members, fields, format and ``--raw`` (tests/test_duckdb_export.py compares them): money
with its exact digits, dates as ISO-8601 UTC, booleans as true/false, text cells that a
spreadsheet would run as a formula prefixed with ``'``, cells quoted as
``output.delimited_line`` quotes them, and JSON strings escaped as ``json.dumps(...,
ensure_ascii=False)`` escapes them.
"""

from __future__ import annotations

import codecs
import io
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any

from segcli.output import delimited_line
from segcli.rules import fields as F
from segcli.segments import export as python_export

if TYPE_CHECKING:
    import duckdb

# Lines fetched from DuckDB, and written, at a time: a few megabytes of text. Exporting
# 500,000 members with every field as JSON took 130 MB more at 65,536 lines a batch, and
# no less time.
_LINES_PER_BATCH = 16_384

# Parameters this module adds to the members query's own.
_PARAMETER_PREFIX = "export_"


def _literal(text: str) -> str:
    """A SQL string literal of segcli's own text (never a user's: those are parameters)."""
    return "'" + text.replace("'", "''") + "'"


# A field's value as text, NULL when unset, by the registry's type; {x} is its column.
# Money as format_money writes it: the sign, the whole units, and the four decimals
# without their trailing zeros but at least two, zero-padded by adding 10000 and leaving
# out the 1 (printf() took twice as long). Whole cents and not negative, as most amounts
# are, take the first branch. Integer division and remainder truncate toward zero, so
# the smallest BIGINT needs no abs() of its own, which would overflow.
_MONEY_SQL = (
    "CASE WHEN {x} >= 0 AND {x} % 100 = 0 THEN concat(CAST({x} // 10000 AS VARCHAR), '.', "
    "substr(CAST({x} % 10000 // 100 + 100 AS VARCHAR), 2)) "
    "WHEN {x} IS NOT NULL THEN concat(CASE WHEN {x} < 0 THEN '-' END, "
    "CAST(abs({x} // 10000) AS VARCHAR), '.', substr(CAST(abs({x} % 10000) + 10000 AS VARCHAR), "
    "2, CASE WHEN {x} % 100 = 0 THEN 2 WHEN {x} % 10 = 0 THEN 3 ELSE 4 END)) END"
)
_VALUE_SQL = {
    F.MONEY: _MONEY_SQL,
    F.DATE: "replace({x}, ' ', 'T') || 'Z'",
    F.BOOLEAN: "CASE CAST({x} AS BOOLEAN) WHEN true THEN 'true' WHEN false THEN 'false' END",
    F.INTEGER: "CAST({x} AS VARCHAR)",
}
# A person's tags (a JSON array of text) as a list; no tags, as most people have, need no
# JSON read.
_TAG_LIST_SQL = """json_transform({x}, '["VARCHAR"]')"""
_TAGS_TEXT_SQL = f"CASE WHEN {{x}} = '[]' THEN '' ELSE array_to_string({_TAG_LIST_SQL}, ', ') END"
# A custom field's text, NULL when absent or JSON null; {path} is its JSON pointer.
_CUSTOM_SQL = "json_extract_string(nullif(f.custom, ''), {path})"

# The code of the first character decides.
_ESCAPED_SQL = (
    "CASE WHEN ascii({x}) IN ("
    + ", ".join(str(ord(start)) for start in python_export._FORMULA_STARTS)
    + ") THEN chr(39) || {x} ELSE {x} END"
)

# to_json escapes a string as json.dumps(ensure_ascii=False) does, but for the hex digits
# of these control characters, which it writes in upper case. An escaped backslash is set
# aside first (as chr(1), which to_json never writes as it is), so that text that only
# reads like such an escape is left alone.
_UPPER_ESCAPES = [f"\\u{code:04X}" for code in range(0x20) if f"{code:04X}" != f"{code:04x}"]


def _json_escaped(value: str) -> str:
    """SQL for text ``value`` (or NULL) as to_json escapes it; ``_json_fixed`` finishes it."""
    return f"CAST(to_json({value}) AS VARCHAR)"


def _json_fixed(escaped: str) -> str:
    """SQL for to_json's string ``escaped`` as json.dumps writes it, or null for NULL."""
    fixed = f"replace({escaped}, '\\\\', chr(1))"
    for upper in _UPPER_ESCAPES:
        fixed = f"replace({fixed}, {_literal(upper)}, {_literal(upper.lower())})"
    fixed = f"replace({fixed}, chr(1), '\\\\')"
    checked = f"CASE WHEN contains({escaped}, '\\u00') THEN {fixed} ELSE {escaped} END"
    return f"coalesce({checked}, 'null')"


def _json_string_sql(value: str) -> str:
    """SQL for ``value`` (text, or NULL) in JSON: a string as json.dumps writes it, or null."""
    return _json_fixed(_json_escaped(value))


class _Parameters:
    """The members query's parameters, and those the export adds (custom fields' paths,
    JSON keys): every text from the user reaches SQL as one of them."""

    def __init__(self, params: Mapping[str, object]):
        self.values: dict[str, object] = dict(params)

    def add(self, value: object) -> str:
        """A placeholder for ``value``, named apart from every other."""
        number = len(self.values)
        while f"{_PARAMETER_PREFIX}{number}" in self.values:
            number += 1
        self.values[f"{_PARAMETER_PREFIX}{number}"] = value
        return f"${_PARAMETER_PREFIX}{number}"

    def custom(self, name: str) -> str:
        """SQL for the text of custom field ``custom.NAME``."""
        return _CUSTOM_SQL.format(path=self.add(_pointer(name)))


def _pointer(name: str) -> str:
    """The JSON pointer of custom field ``custom.NAME`` inside ``custom``."""
    # Looked up as value_of looks it up: lower-cased, not trimmed.
    key = name[len(F.CUSTOM_PREFIX) :].lower()
    return "/" + key.replace("~", "~0").replace("/", "~1")


def _kind(name: str) -> str:
    """How a field's value is written: its registry type, or CUSTOM."""
    if name.startswith(F.CUSTOM_PREFIX) and len(name) > len(F.CUSTOM_PREFIX):
        return F.CUSTOM
    if name not in F.EXPORT_FIELDS:
        raise ValueError(f"{name!r} is not a field exports write")
    return F.PERSON_FIELDS[name].type


def _cell_sql(name: str, params: _Parameters, raw: bool) -> tuple[str, bool]:
    """SQL for a field's CSV/TSV cell, NULL when unset, and whether it may need quotes."""
    kind = _kind(name)
    if kind in _VALUE_SQL and kind != F.DATE:
        # Digits, a sign, a point or a word: never escaped, never quoted.
        return _VALUE_SQL[kind].format(x=F.PERSON_FIELDS[name].sql), False
    escape = "{x}" if raw else _ESCAPED_SQL
    if kind == F.CUSTOM:
        return escape.format(x=params.custom(name)), True
    column = F.PERSON_FIELDS[name].sql
    if kind == F.DATE:
        return _VALUE_SQL[kind].format(x=column), True
    if kind == F.TAGS:
        return escape.format(x=_TAGS_TEXT_SQL.format(x=column)), True
    return escape.format(x=column), True


def _quoted(cell: str, delimiter: str) -> str:
    """SQL for a cell quoted as delimited_line quotes it ('' for NULL)."""
    # contains() finds a character faster than a regular expression does.
    special = " OR ".join(f"contains({cell}, chr({ord(c)}))" for c in (delimiter, '"', "\n", "\r"))
    return (
        f"coalesce(CASE WHEN {special} "
        f"""THEN '"' || replace({cell}, '"', '""') || '"' ELSE {cell} END, '')"""
    )


def _json_sql(name: str, params: _Parameters) -> tuple[str, bool]:
    """SQL for a field's value in a JSON object, NULL when unset, and whether it is
    to_json's string, which ``_json_fixed`` finishes."""
    kind = _kind(name)
    if kind == F.CUSTOM:
        return _json_escaped(params.custom(name)), True
    column = F.PERSON_FIELDS[name].sql
    if kind == F.DATE:
        return _json_escaped(_VALUE_SQL[kind].format(x=column)), True
    if kind in _VALUE_SQL:
        return _VALUE_SQL[kind].format(x=column), False
    if kind == F.TAGS:
        each = f"list_transform({_TAG_LIST_SQL.format(x=column)}, lambda tag: "
        each += f"{_json_string_sql('tag')})"
        return (
            f"CASE WHEN {column} = '[]' THEN '[]' "
            f"ELSE '[' || array_to_string({each}, ', ') || ']' END"
        ), False
    return _json_escaped(column), True


def lines_sql(
    members_sql: str,
    params: Mapping[str, object],
    fields: list[str],
    output_format: str,
    *,
    raw: bool,
) -> tuple[str, dict[str, object]]:
    """A query of one column, each member's finished line in position order, and its
    parameters. ``members_sql`` selects the members' facts, position included, in any
    order: the lines are sorted once, as they are made.

    CSV, TSV and JSON Lines lines end with a newline; a JSON array's begin with the
    ``,\\n  `` that comes before every object but the first."""
    if not fields:
        raise ValueError("an export needs at least one field")
    parameters = _Parameters(params)
    # Each field's value is made in an inner query and finished (quoted, its JSON escapes
    # corrected) in the outer one over its column: written in one query, each value's SQL
    # was repeated in its finishing, and planning took longer than writing small exports.
    values: list[str] = []
    parts: list[str] = []
    if output_format in ("csv", "tsv"):
        delimiter = "," if output_format == "csv" else "\t"
        for index, name in enumerate(fields):
            value, quotable = _cell_sql(name, parameters, raw)
            values.append(value)
            column = f"v{index}"
            parts += [_literal(delimiter)] if index else []
            parts.append(_quoted(column, delimiter) if quotable else f"coalesce({column}, '')")
        parts.append("chr(10)")
    elif output_format in ("json", "jsonl"):
        parts += [_literal(",\n  ")] if output_format == "json" else []
        # A field named twice is one key, as in the dict json_text writes.
        for index, name in enumerate(dict.fromkeys(fields)):
            value, escaped = _json_sql(name, parameters)
            values.append(value)
            column = f"v{index}"
            key = ("{" if index == 0 else ", ") + json.dumps(name, ensure_ascii=False) + ": "
            parts.append(parameters.add(key))
            parts.append(_json_fixed(column) if escaped else f"coalesce({column}, 'null')")
        parts += ["'}'"] if output_format == "json" else ["'}'", "chr(10)"]
    else:
        raise ValueError(f"unknown export format {output_format!r}")
    inner = ", ".join(f"{value} AS v{index}" for index, value in enumerate(values))
    # One concat() of every part: a chain of || copies the line so far at each step.
    sql = (
        f"SELECT concat({', '.join(parts)}) AS line "
        f"FROM (SELECT {inner}, f.position FROM ({members_sql}) AS f) ORDER BY position"
    )
    return sql, parameters.values


def write_members(
    con: duckdb.DuckDBPyConnection,
    members_sql: str,
    params: Mapping[str, object],
    fields: list[str],
    output_format: str,
    out: IO[str],
    *,
    raw: bool,
) -> int:
    """Write the members ``members_sql`` selects (every column of ``facts f``, in any
    order) to ``out`` in position order, as segment export writes them; returns how many
    were written."""
    if _non_text_custom(con, members_sql, params, fields):
        # The importer stores custom fields as text only; a store written by another tool
        # may hold any JSON value, which the Python writers write as Python reads it.
        ordered = f"SELECT * FROM ({members_sql}) ORDER BY position"
        with con.sql(ordered, params=dict(params)).to_arrow_reader(_LINES_PER_BATCH) as read:
            members = (member for batch in read for member in batch.to_pylist())
            return python_export.write_members(members, fields, output_format, out, raw=raw)
    sql, all_params = lines_sql(members_sql, params, fields, output_format, raw=raw)
    count = 0
    if output_format in ("csv", "tsv"):
        out.write(delimited_line(fields, "," if output_format == "csv" else "\t"))
    elif output_format == "json":
        out.write("[")
    # Closed when the writing stops, a reader gone away (`| head`) included: an open reader
    # holds the connection.
    binary = _binary(out)
    with con.sql(sql, params=all_params).to_arrow_reader(_LINES_PER_BATCH) as reader:
        for lines, text in _blocks(reader):
            # The first object of a JSON array has no comma before it.
            text = text[1:] if output_format == "json" and count == 0 else text
            if binary is None:
                out.write(str(text, "utf-8"))
            else:
                binary.write(text)
            count += lines
    if output_format == "json":
        out.write("\n]\n" if count else "]\n")
    return count


def _binary(out: IO[str]) -> IO[bytes] | None:
    """The bytes under ``out`` when writing the lines' UTF-8 there is what writing them to
    ``out`` would do (stdout and the export file are such): no text is decoded and encoded
    again (a fifth of a large export's writing). ``out`` is flushed first."""
    if not isinstance(out, io.TextIOWrapper) or os.linesep != "\n":
        return None
    if codecs.lookup(out.encoding).name != "utf-8":
        return None
    out.flush()
    return out.buffer


def _blocks(reader: Iterable[Any]) -> Iterator[tuple[int, memoryview]]:
    """Each Arrow batch's number of lines, and its lines as one block of UTF-8."""
    import pyarrow as pa  # type: ignore[import-untyped]

    for batch in reader:
        lines = batch.column(0)
        if len(lines) == 0:
            continue
        if lines.null_count:
            raise ValueError("an export line is NULL")
        if pa.types.is_string(lines.type):
            width = 4
        else:
            # Strings with 64-bit offsets; string views (other settings of DuckDB's)
            # become such strings first, which loads pyarrow.compute (60 ms).
            if not pa.types.is_large_string(lines.type):
                lines = lines.cast(pa.large_string())
            width = 8
        # A string array keeps its values one after the other in one buffer: the lines
        # are read from there whole, with no Python object made per line.
        _, offsets, data = lines.buffers()
        start, end = (
            int.from_bytes(
                offsets[width * at : width * (at + 1)].to_pybytes(), "little", signed=True
            )
            for at in (lines.offset, lines.offset + len(lines))
        )
        yield len(lines), memoryview(data)[start:end]


def _non_text_custom(
    con: duckdb.DuckDBPyConnection,
    members_sql: str,
    params: Mapping[str, object],
    fields: list[str],
) -> bool:
    """Whether a member has a custom field of ``fields`` that is a JSON number, boolean,
    list or object, not text."""
    custom = [name for name in dict.fromkeys(fields) if _kind(name) == F.CUSTOM]
    if not custom:
        return False
    parameters = _Parameters(params)
    found = " OR ".join(
        f"json_type(nullif(f.custom, ''), {parameters.add(_pointer(name))}) "
        "NOT IN ('VARCHAR', 'NULL')"
        for name in custom
    )
    sql = f"SELECT count(*) FROM ({members_sql}) AS f WHERE {found}"
    [(members,)] = con.sql(sql, params=parameters.values).fetchall()
    return bool(members)
