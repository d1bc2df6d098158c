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


# A decimal number without an exponent, as values._NUMBER reads it; its sign, whole digits
# and decimals. Its edges are never whitespace, so Python's strip() and trim() agree on it.
_DECIMAL_FORM = "[+-]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)"
_DECIMAL_PARTS = "^([+-]?)([0-9]*)\\.?([0-9]*)$"


def _part(group: int) -> str:
    return f"regexp_extract({_TRIMMED}, '{_DECIMAL_PARTS}', {group})"


_NEGATIVE = f"starts_with({_TRIMMED}, '-')"
_WHOLE = _part(2)
_DECIMALS = _part(3)
# The whole part's significant digits: the limits are counted in them (10^12, 10^9).
_SIGNIFICANT = f"length(ltrim({_WHOLE}, '0'))"
_WHOLE_NUMBER = f"coalesce(TRY_CAST(nullif({_WHOLE}, '') AS BIGINT), 0)"


def _signed(magnitude: str) -> str:
    return f"(CASE WHEN {_NEGATIVE} THEN -1 ELSE 1 END) * ({magnitude})"


def _exact_number(whole_digits: int, decimals: int) -> str:
    """True for an empty cell, or a plain decimal inside the limits and the decimals."""
    return (
        f"({_TRIMMED} = '' OR (regexp_full_match({_TRIMMED}, '{_DECIMAL_FORM}') "
        f"AND {_SIGNIFICANT} <= {whole_digits} "
        f"AND regexp_full_match(substr({_DECIMALS}, {decimals + 1}), '0*')))"
    )


_MONEY_DIGITS = len(str(values.MONEY_LIMIT)) - 1
_SCALE_DIGITS = len(str(values.SCALE)) - 1
MONEY = Fast(
    value=(
        # Only amounts inside the limit are computed: a longer one would overflow BIGINT.
        f"CASE WHEN {_TRIMMED} <> '' AND {_SIGNIFICANT} <= {_MONEY_DIGITS} THEN "
        + _signed(
            f"{_WHOLE_NUMBER} * {values.SCALE} + "
            f"coalesce(TRY_CAST(rpad({_DECIMALS}, {_SCALE_DIGITS}, '0') AS BIGINT), 0)"
        )
        + " END"
    ),
    python=f"NOT {_exact_number(_MONEY_DIGITS, _SCALE_DIGITS)}",
)

_QUANTITY_DIGITS = len(str(values.QUANTITY_LIMIT)) - 1
_INTEGER_VALUE = f"CASE WHEN {_TRIMMED} <> '' THEN {_signed(_WHOLE_NUMBER)} END"
INTEGER = Fast(
    value=_INTEGER_VALUE,
    python=f"NOT {_exact_number(_QUANTITY_DIGITS, 0)}",
)
RATING = Fast(
    value=_INTEGER_VALUE,
    python=(
        f"NOT ({_exact_number(_QUANTITY_DIGITS, 0)} "
        f"AND coalesce({_INTEGER_VALUE} BETWEEN 1 AND 5, true))"
    ),
)


# The ISO forms DateReader reads with datetime.fromisoformat and no offset arithmetic
# beyond whole minutes: a date, or a date and a time to the minute, the second or a
# fraction of up to six digits, after a T or a space, with Z or an offset +HH:MM.
_ISO = (
    "^(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    "(?:[T ](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})"
    "(?:\\.(?P<fraction>[0-9]{1,6}))?)?(?P<offset>Z|[+-][0-9]{2}:[0-9]{2})?)?$"
)
_ISO_GROUPS = ("date", "hour", "minute", "second", "fraction", "offset")
_ISO_PARTS = f"regexp_extract({_TRIMMED}, '{_ISO}', {list(_ISO_GROUPS)})"


def _iso(group: str, default: str = "") -> str:
    part = f"struct_extract({_ISO_PARTS}, '{group}')"
    return f"coalesce(nullif({part}, ''), '{default}')" if default else part


# The date and time to the second, as stored: the fraction and the offset apart.
_WALL = (
    f"{_iso('date')} || ' ' || {_iso('hour', '00')} || ':' || {_iso('minute', '00')} "
    f"|| ':' || {_iso('second', '00')}"
)
_MOMENT = f"TRY_CAST({_WALL} AS TIMESTAMP)"
_MICROSECONDS = f"rpad({_iso('fraction')}, 6, '0')"
# Microseconds only when there are some, as datetime.isoformat writes them.
_FRACTION = (
    f"CASE WHEN ltrim({_iso('fraction')}, '0') <> '' THEN '.' || {_MICROSECONDS} ELSE '' END"
)
_OFFSET = _iso("offset")
_OFFSET_MINUTES = (
    f"(CASE WHEN starts_with({_OFFSET}, '-') THEN -1 ELSE 1 END) * "
    f"(TRY_CAST(substr({_OFFSET}, 2, 2) AS INTEGER) * 60 "
    f"+ TRY_CAST(substr({_OFFSET}, 5, 2) AS INTEGER))"
)
_UTC = f"({_OFFSET} IN ('', 'Z') OR {_OFFSET_MINUTES} = 0)"
_IN_UTC = f"{_MOMENT} - to_minutes({_OFFSET_MINUTES})"

TIMESTAMP = Fast(
    value=(
        f"CASE WHEN {_TRIMMED} = '' THEN NULL WHEN {_UTC} THEN {_WALL} || {_FRACTION} "
        f"ELSE strftime({_IN_UTC}, '%Y-%m-%d %H:%M:%S') || {_FRACTION} END"
    ),
    python=(
        f"NOT coalesce({_TRIMMED} = '' OR (regexp_full_match({_TRIMMED}, '{_ISO}') "
        # A round trip, since a cast may accept what is no date (30 February, hour 24).
        f"AND NOT starts_with({_WALL}, '0000') "
        f"AND strftime({_MOMENT}, '%Y-%m-%d %H:%M:%S') = {_WALL} "
        f"AND ({_UTC} OR (substr({_OFFSET}, 2, 2) <= '23' AND substr({_OFFSET}, 5, 2) <= '59' "
        # Python refuses a moment that its offset takes out of years 1 to 9999.
        f"AND year({_IN_UTC}) BETWEEN 1 AND 9999))), false)"
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
