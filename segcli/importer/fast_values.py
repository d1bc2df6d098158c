"""The value parsers of values.py as DuckDB SQL over whole columns (issue 18).

Each parser has a ``Fast``: two SQL templates over a VARCHAR column ``{x}``. ``value``
gives what the parser gives; ``python`` is true when the cell is not in a form the SQL
reads exactly, and the importer then calls the Python parser on that cell alone (which
returns a value or raises the reject's message). The contract, checked by
tests/test_fast_values.py: wherever ``python`` is false, the parser does not raise and
``value`` equals what it returns (None as NULL). A NULL cell is read as the empty string.

What goes to Python is what is rare in files: other spellings of dates, amounts with
exponents or commas, and text whose trimming or case folding would differ between Python
and DuckDB (DuckDB's ``trim`` strips the Unicode space separators, Python's ``str.strip``
also tabs, line breaks and a few more; DuckDB lowers U+0130 to ``i``, Python to ``i`` and
a combining dot).
Every template is made by segcli: a user's value reaches it only as a column's data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from segcli.importer import values
from segcli.importer.dates import DateReader

if TYPE_CHECKING:
    import duckdb
    import pyarrow


# A cell's parser, as kinds.Parser (not imported: kinds imports the loading machinery).
Parser = Callable[[str], object]


@dataclass(frozen=True)
class Fast:
    """A parser's fast path: SQL templates over the VARCHAR column ``{x}``."""

    value: str
    python: str

    def over(self, column: str) -> tuple[str, str]:
        """The two expressions over ``column`` (a name of segcli's own making)."""
        name = quote(column)
        return self.value.replace("{x}", name), self.python.replace("{x}", name)


def quote(name: str) -> str:
    """An identifier for DuckDB SQL, quoted."""
    return '"' + name.replace('"', '""') + '"'


# The characters Python's str.isspace() calls whitespace (str.strip() strips them), as
# ranges of code points; the tests check this list against Python at every code point.
PYTHON_SPACE = (
    (0x09, 0x0D),
    (0x1C, 0x20),
    (0x85, 0x85),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
)


def _class(ranges: Sequence[tuple[int, int]], *, without_space: bool = False) -> str:
    """An RE2 character class of code point ranges."""
    parts: list[str] = []
    for first, last in ranges:
        if without_space and first <= 0x20 <= last:
            parts.extend(_class_part(a, b) for a, b in ((first, 0x1F), (0x21, last)) if a <= b)
        else:
            parts.append(_class_part(first, last))
    return "[" + "".join(parts) + "]"


def _class_part(first: int, last: int) -> str:
    return f"\\x{{{first:x}}}" if first == last else f"\\x{{{first:x}}}-\\x{{{last:x}}}"


# DuckDB's trim() strips a subset of these (the space separators, Zs): a trimmed cell
# that still starts or ends with one of them is trimmed further by Python.
_OTHER_SPACE = _class(PYTHON_SPACE, without_space=True)
_CELL = "coalesce({x}, '')"
_TRIMMED = f"trim({_CELL})"
# Python's strip() and DuckDB's trim() agree on the cell.
_TRIMS_ALIKE = f"NOT regexp_matches({_TRIMMED}, '^{_OTHER_SPACE}|{_OTHER_SPACE}$')"
# Only ASCII: Python's lower()/upper() and DuckDB's agree (strlen counts bytes).
_ASCII = f"strlen({_CELL}) = length({_CELL})"


def _sql_words(words: Iterable[str]) -> str:
    return ", ".join(f"'{word}'" for word in sorted(words))


def _cased(function: str) -> Fast:
    """Trimmed and lower- or upper-cased; empty is NULL."""
    return Fast(
        value=f"nullif({function}({_TRIMMED}), '')",
        python=f"NOT ({_ASCII} AND {_TRIMS_ALIKE})",
    )


TEXT = Fast(value=f"nullif({_TRIMMED}, '')", python=f"NOT {_TRIMS_ALIKE}")

IDENTIFIER = Fast(
    value=(
        f"nullif(CASE WHEN regexp_full_match({_TRIMMED}, '[0-9]+\\.0+') "
        f"THEN split_part({_TRIMMED}, '.', 1) ELSE {_TRIMMED} END, '')"
    ),
    python=f"NOT {_TRIMS_ALIKE}",
)

# Printable ASCII without a space or an @ on either side of one @: what values.email
# keeps as it is, lower-cased. Anything else (a reject, or non-ASCII) is Python's.
EMAIL = Fast(
    value=f"nullif(lower({_TRIMMED}), '')",
    python=f"NOT regexp_full_match({_TRIMMED}, '([!-?A-~]+@[!-?A-~]+)?')",
)

STATUS = _cased("lower")
CURRENCY = _cased("upper")

BOOLEAN = Fast(
    value=(
        f"CASE WHEN lower({_TRIMMED}) IN ({_sql_words(values.TRUE_WORDS)}) THEN 1 "
        f"WHEN lower({_TRIMMED}) IN ({_sql_words(values.FALSE_WORDS)}) THEN 0 END"
    ),
    python=(
        f"NOT ({_ASCII} AND lower({_TRIMMED}) IN "
        f"('', {_sql_words(values.TRUE_WORDS | values.FALSE_WORDS)}))"
    ),
)

_SUBSCRIPTION_WORDS = ("subscribed", "unsubscribed")
SUBSCRIPTION_STATUS = Fast(
    value=f"coalesce(nullif(lower({_TRIMMED}), ''), 'subscribed')",
    python=f"NOT ({_ASCII} AND lower({_TRIMMED}) IN ('', {_sql_words(_SUBSCRIPTION_WORDS)}))",
)


def _list(separator: str) -> Fast:
    """A separated list, each part trimmed, empty parts and repeats dropped, as JSON text."""
    parts = f"list_transform(string_split({_CELL}, '{separator}'), lambda part: trim(part))"
    kept = f"list_filter({parts}, lambda part, i: part <> '' AND list_position({parts}, part) = i)"
    quoted = f"list_transform({kept}, lambda part: '\"' || part || '\"')"
    # JSON escapes quotes, backslashes and control characters, and Python strips Unicode
    # whitespace from each part: such cells are Python's.
    escaped = '[\\x00-\\x1f"\\\\' + _OTHER_SPACE[1:-1] + "]"
    return Fast(
        value=f"'[' || array_to_string({quoted}, ', ') || ']'",
        python=f"regexp_matches({_CELL}, '{escaped}')",
    )


TAGS = _list(",")
COLLECTIONS = _list(";")


# The amounts nearly every file writes, inside the limits, read exactly by DuckDB's
# DECIMAL cast (integer arithmetic, never DOUBLE). Longer decimals, leading zeros past the
# limit's digits and exponents are Python's: they are rare, and Python reads them.
_MONEY_DIGITS = len(str(values.MONEY_LIMIT)) - 1
_SCALE_DIGITS = len(str(values.SCALE)) - 1
_PLAIN_MONEY = (
    f"[+-]?(?:[0-9]{{1,{_MONEY_DIGITS}}}(?:\\.[0-9]{{0,{_SCALE_DIGITS}}})?"
    f"|\\.[0-9]{{1,{_SCALE_DIGITS}}})"
)
# Spaces around a number are matched, not trimmed (trim() costs as much as the rest), and
# DuckDB's casts skip them.
_MONEY_READ = f"regexp_full_match({_CELL}, ' *(?:{_PLAIN_MONEY})? *')"
MONEY = Fast(
    value=(
        f"CAST(TRY_CAST(CASE WHEN {_MONEY_READ} THEN {_CELL} END "
        f"AS DECIMAL(38, {_SCALE_DIGITS})) * {values.SCALE} AS BIGINT)"
    ),
    python=f"NOT {_MONEY_READ}",
)

# A whole number, or one written with zero decimals (2.0), under the quantity limit.
_QUANTITY_DIGITS = len(str(values.QUANTITY_LIMIT)) - 1
_PLAIN_INTEGER = f"[+-]?[0-9]{{1,{_QUANTITY_DIGITS}}}(?:\\.0*)?"
_INTEGER_READ = f"regexp_full_match({_CELL}, ' *(?:{_PLAIN_INTEGER})? *')"
_INTEGER_VALUE = (
    f"TRY_CAST(CASE WHEN {_INTEGER_READ} THEN split_part({_CELL}, '.', 1) END AS INTEGER)"
)
INTEGER = Fast(value=_INTEGER_VALUE, python=f"NOT {_INTEGER_READ}")
RATING = Fast(
    value=_INTEGER_VALUE,
    python=f"NOT ({_INTEGER_READ} AND coalesce({_INTEGER_VALUE} BETWEEN 1 AND 5, true))",
)


# The ISO forms DateReader reads with datetime.fromisoformat: a date, or a date and a time
# to the minute, the second or a fraction of up to six digits, after a T or a space, then
# Z or an offset +HH:MM. Once a cell has this shape, every part is at a known place. A date
# with whitespace around it is Python's: it is rare, and trim() costs as much as the rest.
_ISO = (
    "[0-9]{4}-[0-9]{2}-[0-9]{2}"
    "(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?"
)
_LENGTH = f"length({_CELL})"
_HAS_OFFSET = f"({_LENGTH} > 16 AND substr({_CELL}, -6, 1) IN ('+', '-'))"
# The date and the time without the zone.
_LOCAL_LENGTH = (
    f"({_LENGTH} - CASE WHEN ends_with({_CELL}, 'Z') THEN 1 WHEN {_HAS_OFFSET} THEN 6 ELSE 0 END)"
)
# The date and time to the second, as stored; the fraction apart.
_WALL = (
    f"left({_CELL}, 10) || ' ' || CASE {_LOCAL_LENGTH} WHEN 10 THEN '00:00:00' "
    f"WHEN 16 THEN substr({_CELL}, 12, 5) || ':00' ELSE substr({_CELL}, 12, 8) END"
)
_DIGITS = f"CASE WHEN {_LOCAL_LENGTH} > 20 THEN substr({_CELL}, 21, {_LOCAL_LENGTH} - 20) END"
# Microseconds only when there are some, as datetime.isoformat writes them.
_FRACTION = f"CASE WHEN ltrim({_DIGITS}, '0') <> '' THEN '.' || rpad({_DIGITS}, 6, '0') ELSE '' END"
_OFFSET_HOURS = f"substr({_CELL}, -5, 2)"
_OFFSET_MINUTES = f"substr({_CELL}, -2, 2)"
_MINUTES_EAST = (
    f"(CASE WHEN substr({_CELL}, -6, 1) = '-' THEN -1 ELSE 1 END) * "
    f"(TRY_CAST({_OFFSET_HOURS} AS INTEGER) * 60 + TRY_CAST({_OFFSET_MINUTES} AS INTEGER))"
)
_MOMENT = f"TRY_CAST({_WALL} AS TIMESTAMP)"
# A timestamp without a fraction is written as the stored form is, in years 1 to 9999
# (others are written with five digits or "(BC)").
_STORED_SECONDS = (
    "(?:000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})-[0-9]{2}-[0-9]{2} [0-9:]{8}"
)
_IN_UTC = f"CAST({_MOMENT} - to_minutes({_MINUTES_EAST}) AS VARCHAR)"

# Each test in a CASE of its own: DuckDB evaluates a CASE's branches only for the rows
# that reach them, so a plain date in UTC costs no offset arithmetic.
TIMESTAMP = Fast(
    value=(
        f"CASE WHEN {_CELL} = '' THEN NULL "
        f"WHEN NOT {_HAS_OFFSET} THEN {_WALL} || {_FRACTION} "
        f"ELSE {_IN_UTC} || {_FRACTION} END"
    ),
    python=(
        f"CASE WHEN {_CELL} = '' THEN false "
        f"WHEN NOT regexp_full_match({_CELL}, '{_ISO}') THEN true "
        f"WHEN starts_with({_CELL}, '0000') THEN true "
        # A round trip, since the cast takes what is no date: it reads 24:00 as midnight.
        f"WHEN CAST({_MOMENT} AS VARCHAR) IS DISTINCT FROM {_WALL} THEN true "
        f"WHEN NOT {_HAS_OFFSET} THEN false "
        f"WHEN {_OFFSET_HOURS} > '23' OR {_OFFSET_MINUTES} > '59' THEN true "
        # Python refuses a moment that its offset takes out of years 1 to 9999.
        f"ELSE NOT coalesce(regexp_full_match({_IN_UTC}, '{_STORED_SECONDS}'), false) END"
    ),
)
_NO_DATE = Fast(value="NULL", python="true")


def reads_dates_fast(reader: DateReader) -> bool:
    """True when the reader reads ISO dates first, as TIMESTAMP does (no date format).

    The day/month order is asked only of what is not ISO, which the fast path sends to
    Python anyway.
    """
    return reader.date_format is None


FAST: dict[Parser, Fast] = {
    values.text: TEXT,
    values.identifier: IDENTIFIER,
    values.email: EMAIL,
    values.money: MONEY,
    values.integer: INTEGER,
    values.boolean: BOOLEAN,
    values.tags: TAGS,
    values.collections: COLLECTIONS,
    values.status: STATUS,
    values.currency: CURRENCY,
    values.rating: RATING,
    values.subscription_status: SUBSCRIPTION_STATUS,
}


def fast_for(parser: Parser) -> Fast | None:
    """The fast path of a column's parser, or None when it has none.

    A DateReader is a dataclass and so not hashable: it is looked up by what it is.
    """
    if isinstance(parser, DateReader):
        return TIMESTAMP if reads_dates_fast(parser) else None
    return FAST.get(parser)


def fast_query(
    relation: str, columns: Sequence[tuple[str, Parser]], keep: Sequence[str] = ()
) -> str:
    """One query over ``relation``: ``keep`` as they are, then ``v_<column>`` (the fast
    value) and ``py_<column>`` (true: the cell is Python's) for each column."""
    selected = [quote(name) for name in keep]
    for column, parser in columns:
        fast = fast_for(parser) or _NO_DATE
        value, python = fast.over(column)
        selected += [f"{value} AS {quote('v_' + column)}", f"{python} AS {quote('py_' + column)}"]
    return f"SELECT {', '.join(selected)} FROM {quote(relation)}"


def fast_batches(
    connection: duckdb.DuckDBPyConnection,
    relation: str,
    columns: Sequence[tuple[str, Parser]],
    keep: Sequence[str] = (),
    rows_per_batch: int = 1_000_000,
) -> pyarrow.RecordBatchReader:
    """Each column's fast values and Python flags, streamed as Arrow batches (see fast_query)."""
    query = fast_query(relation, columns, keep)
    return connection.sql(query).to_arrow_reader(rows_per_batch)
