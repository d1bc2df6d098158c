"""DuckDB SQL macros that give segcli's text its exact meaning, with no Python per row.

``segcli_fold(text)`` is Python's ``str.casefold()`` (``operators.fold``) and
``segcli_compare(stored, value)`` is ``operators.compare_custom``: what SQLite gets from
Python functions, DuckDB gets as SQL. Both take text (VARCHAR). The tables they need
(which characters DuckDB's ``lower()`` leaves for case folding to finish, which
characters Python's regular expressions call space, how far Python's ``Decimal`` reaches)
are read from the running Python when this module is imported, never written by hand.
Every literal in the macros is segcli's own; a user's text only ever reaches them as an
argument.

The fold rests on one fact, checked at every code point by tests/test_duckdb_macros.py:
DuckDB's ``lower()`` lowers each character as Python's ``lower()`` does, but for the
dotted capital I (true of DuckDB 2.0.1 with Python 3.11, 3.12 and 3.13).

``install(con)`` creates the macros on a connection (``MACROS`` are their statements).
"""

from __future__ import annotations

import decimal
import re
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from segcli.rules.operators import _NUMBER

if TYPE_CHECKING:
    import duckdb

# ---------------------------------------------------------------------------------
# What the running Python says


def _every_code_point() -> str:
    """Every code point in order; the surrogates as NUL (no UTF-8 text holds one)."""
    count = sys.maxunicode + 1
    # The UTF-32 bytes of 0, 1, 2, ... built a byte column at a time: a Python loop over
    # a million code points, or decoding surrogates, costs five times as long.
    encoded = bytearray(4 * count)
    encoded[0::4] = bytes(range(256)) * (count // 256)
    encoded[1::4] = b"".join(bytes([byte]) * 256 for byte in range(256)) * (count // 65536)
    encoded[2::4] = b"".join(bytes([byte]) * 65536 for byte in range(count // 65536))
    encoded[4 * 0xD800 : 4 * 0xE000] = bytes(4 * 0x800)
    return encoded.decode("utf-32-le")


_EVERY_CODE_POINT = _every_code_point()
# Code points compared at once: only a few blocks hold any case folding at all.
_BLOCK = 1024


def _fold_tables() -> tuple[dict[str, str], frozenset[str]]:
    """What case folding adds to ``lower()``: for each character that ``lower()`` leaves
    as it is but ``casefold()`` changes, its folding (``ß`` → ``ss``, ``ς`` → ``σ``);
    and the characters whose folding is not their lowercase (those, and the capitals
    that lower to them: ``ẞ``, Cherokee)."""
    mapping: dict[str, str] = {}
    differing: set[str] = set()
    # A block whose folding is its lowercase has no character whose folding differs: the
    # first such character would show (tests/test_duckdb_macros.py checks the tables
    # against each character's own folding).
    for start in range(0, len(_EVERY_CODE_POINT), _BLOCK):
        block = _EVERY_CODE_POINT[start : start + _BLOCK]
        if block.casefold() == block.lower():
            continue
        for char in block:
            folded, lowered = char.casefold(), char.lower()
            if folded != lowered:
                differing.add(char)
                if lowered == char:
                    mapping[char] = folded
    return mapping, frozenset(differing)


FOLDING, FOLDING_DIFFERS = _fold_tables()

# What `\s` matches in a str pattern such as operators._NUMBER's (str.isspace(): the
# Unicode spaces, and the file, group, record and unit separators \x1c-\x1f).
SPACES = frozenset(re.findall(r"\s", _EVERY_CODE_POINT))

# The dotted capital I (Turkish): DuckDB's lower() gives it its simple lowercase, `i`,
# where Python's lower() and casefold() give the full one, `i` and a combining dot.
_DOTTED_CAPITAL_I = "\u0130"

# Decimal(text) converts exactly, in the widest context there is: a number whose leading
# digit lies beyond MAX_EMAX, or whose last digit lies below Etiny (MIN_EMIN - MAX_PREC
# + 1), raises InvalidOperation, and compare_custom compares it as text.
_MAX_MAGNITUDE = decimal.MAX_EMAX
_MIN_EXPONENT = decimal.MIN_EMIN - decimal.MAX_PREC + 1
# An exponent written with more digits than this (after its leading zeros) is beyond
# both bounds whatever its mantissa: a text's digits cannot move it back by 10**20.
_EXPONENT_DIGITS = 20


# ---------------------------------------------------------------------------------
# SQL pieces of segcli's own making


def _literal(text: str) -> str:
    """A SQL string literal of segcli's own text (never a user's)."""
    return "'" + text.replace("'", "''") + "'"


def character_class(chars: Iterable[str]) -> str:
    """An RE2 character class of ``chars``, in ranges of consecutive code points."""
    ranges: list[list[int]] = []
    for point in sorted(map(ord, chars)):
        if ranges and point == ranges[-1][1] + 1:
            ranges[-1][1] = point
        else:
            ranges.append([point, point])
    return (
        "["
        + "".join(
            f"\\x{{{low:x}}}" if low == high else f"\\x{{{low:x}}}-\\x{{{high:x}}}"
            for low, high in ranges
        )
        + "]"
    )


_SPACE = character_class(SPACES)
# operators._NUMBER in RE2's words: the same pattern, with Python's spaces spelt out
# (RE2's own \s is ASCII only).
_NUMBER_SQL = _NUMBER.pattern.replace(r"\s", _SPACE)
# The same numbers, cut into sign, whole digits, fraction digits, and the exponent's sign
# and digits without their leading zeros.
_NUMBER_PARTS = rf"^{_SPACE}*([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?)0*([0-9]+))?{_SPACE}*$"
# Most numbers in custom fields: DECIMAL(38, 18) holds them exactly.
_PLAIN_NUMBER = r"[+-]?[0-9]{1,18}(?:\.[0-9]{0,18})?"

_KEYS = "".join(sorted(FOLDING))
# The foldings, in the keys' order, as one literal split once per query: a list literal
# of 183 texts took about a millisecond to plan at each use.
_FOLDINGS = ",".join(FOLDING[key] for key in sorted(FOLDING))
assert _FOLDINGS.count(",") == len(FOLDING) - 1


def _macro(signature: str, body: str) -> str:
    # TEMP: a macro lives with its connection, never in a database file that a later
    # segcli, on another Python with other Unicode tables, would read.
    return f"CREATE OR REPLACE TEMP MACRO {signature} AS {body}"


def _once(name: str, values: dict[str, str], body: str) -> str:
    """``body`` with ``values`` computed once, as the fields of the struct ``name``.

    A macro's argument is copied wherever the macro uses it, and every copy is planned
    again (a regular expression compiled, a literal list built): nested macros that use
    their arguments more than once took tens of milliseconds to plan. A lambda over a
    one-element list binds them once, for about a hundredth of a second per million rows.
    """
    fields = ", ".join(f"{_literal(field)}: {sql}" for field, sql in values.items())
    return f"list_transform([{{{fields}}}], lambda {name}: {body})[1]"


MACROS: tuple[str, ...] = (
    # -1, 0 or 1 as `one` sorts before, with or after `other` (NULL when either is).
    _macro("segcli_order(one, other)", "(one > other)::INTEGER - (one < other)::INTEGER"),
    # The same, for values that are costly to plan twice (keys, folded text).
    _macro(
        "segcli_order_once(one, other)",
        _once(
            "segcli_pair",
            {"one": "one", "other": "other"},
            "segcli_order(segcli_pair.one, segcli_pair.other)",
        ),
    ),
    # Each character of lowercased text, folded: instr() finds it among the keys (a
    # MAP's lookup took three times as long).
    _macro(
        "segcli_fold_lowered(lowered)",
        "array_to_string(list_transform(string_split(lowered, ''), lambda segcli_char: "
        f"coalesce(string_split({_literal(_FOLDINGS)}, ',')"
        f"[instr({_literal(_KEYS)}, segcli_char)], segcli_char)), '')",
    ),
    # ASCII text (as many bytes as characters) folds with lower(); other text without a
    # character whose folding is not its lowercase folds with lower() too, once the
    # dotted capital I is spelt as Python lowers it; only the rest is taken apart (at a
    # million rows of names, a fifth non-ASCII: 0.2-0.3 s against 0.09 s for lower()).
    _macro(
        "segcli_fold(text)",
        "CASE WHEN strlen(text) = length(text) THEN lower(text) "
        f"WHEN regexp_matches(text, {_literal(character_class(FOLDING_DIFFERS))}) "
        "THEN segcli_fold_lowered(lower(replace(text, "
        f"{_literal(_DOTTED_CAPITAL_I)}, {_literal(_DOTTED_CAPITAL_I.lower())}))) "
        f"ELSE lower(replace(text, {_literal(_DOTTED_CAPITAL_I)}, "
        f"{_literal(_DOTTED_CAPITAL_I.lower())})) END",
    ),
    # A number's key, ordered as the numbers are (DuckDB orders a STRUCT field by field):
    # its sign; the power of ten of its leading digit, negated for a negative number; its
    # digits without zeros at either end, for a negative number each taken from nine and
    # followed by a colon, which sorts after every digit (-0.12 is more than -0.123).
    # NULL beyond Decimal's reach. `significant`: the digits from the first that is not
    # zero; `exponent`: the power of ten of the last digit.
    _macro(
        "segcli_number_key(negative, significant, exponent)",
        _once(
            "segcli_number",
            {
                "negative": "negative",
                "digits": "rtrim(significant, '0')",
                "exponent": "exponent",
                "magnitude": "exponent + length(significant) - 1",
            },
            "CASE WHEN segcli_number.exponent IS NULL THEN NULL "
            "WHEN segcli_number.digits = '' THEN CASE WHEN segcli_number.exponent "
            f"BETWEEN {_MIN_EXPONENT} AND {_MAX_MAGNITUDE} "
            "THEN {'sign': 0, 'magnitude': 0::HUGEINT, 'digits': ''} END "
            f"WHEN segcli_number.magnitude > {_MAX_MAGNITUDE} "
            f"OR segcli_number.exponent < {_MIN_EXPONENT} THEN NULL "
            "WHEN segcli_number.negative THEN {'sign': -1, "
            "'magnitude': -segcli_number.magnitude, 'digits': "
            "translate(segcli_number.digits, '0123456789', '9876543210') || ':'} "
            "ELSE {'sign': 1, 'magnitude': segcli_number.magnitude, "
            "'digits': segcli_number.digits} END",
        ),
    ),
    # The key of text that is a number as operators.as_number reads one, else NULL.
    _macro(
        "segcli_number(text)",
        f"CASE WHEN regexp_full_match(text, {_literal(_NUMBER_SQL)}) THEN "
        + _once(
            "segcli_parts",
            {
                "parts": f"regexp_extract(text, {_literal(_NUMBER_PARTS)}, "
                "['sign', 'whole', 'fraction', 'exponent_sign', 'exponent'])"
            },
            "segcli_number_key(segcli_parts.parts.sign = '-', "
            "ltrim(segcli_parts.parts.whole || segcli_parts.parts.fraction, '0'), "
            f"CASE WHEN length(segcli_parts.parts.exponent) <= {_EXPONENT_DIGITS} "
            "THEN CAST('0' || segcli_parts.parts.exponent AS HUGEINT) "
            "* CASE segcli_parts.parts.exponent_sign WHEN '-' THEN -1 ELSE 1 END END "
            "- length(segcli_parts.parts.fraction))",
        )
        + " END",
    ),
    # operators.compare_custom. Plain numbers on both sides compare as DECIMAL(38, 18)
    # (most custom numbers: 0.2 s a million rows, where cutting them into their parts
    # took 1.2 s); other numbers by their keys; anything else (a key is NULL) as folded
    # text, in code point order (UTF-8's byte order). NULL when either side is NULL.
    _macro(
        "segcli_compare(stored, value)",
        f"CASE WHEN regexp_full_match(stored, {_literal(_PLAIN_NUMBER)}) "
        f"AND regexp_full_match(value, {_literal(_PLAIN_NUMBER)}) "
        "THEN segcli_order(TRY_CAST(stored AS DECIMAL(38, 18)), "
        "TRY_CAST(value AS DECIMAL(38, 18))) "
        "ELSE coalesce(segcli_order_once(segcli_number(stored), segcli_number(value)), "
        "segcli_order_once(segcli_fold(stored), segcli_fold(value))) END",
    ),
)


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Create segcli's macros (segcli_fold, segcli_compare and their helpers) on ``con``."""
    for statement in MACROS:
        con.execute(statement)
