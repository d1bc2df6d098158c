"""The operator table (SPEC 3.4): each operator is one row, read by the compiler, the
explainer and the tests' reference evaluator alike.

A condition ``FIELD: {OP: VALUE}`` is first *normalised* for the field's type into a
primitive comparison on plain values (text folded for case, money in ten-thousandths,
dates as UTC instants in stored text form); each primitive then has exactly one SQL
template and one Python check, so the SQL and the Python meaning cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from segcli.rules import fields as F

# ---------------------------------------------------------------------------------
# User-facing operators


@dataclass(frozen=True)
class Operator:
    name: str
    symbol: str | None
    phrase: str
    types: frozenset[str]
    shape: str  # scalar | list | pair | bool | duration


_ORDERED = frozenset({F.MONEY, F.INTEGER, F.DATE, F.CUSTOM})
_TEXTUAL = frozenset({F.TEXT, F.CUSTOM})
_ALL = frozenset({F.TEXT, F.MONEY, F.INTEGER, F.DATE, F.BOOLEAN, F.TAGS, F.CUSTOM, F.LIFECYCLE})
_LISTABLE = frozenset({F.TEXT, F.MONEY, F.INTEGER, F.CUSTOM, F.LIFECYCLE})

OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator("eq", "=", "is", _ALL, "scalar"),
        Operator("ne", "!=", "is not", _ALL, "scalar"),
        Operator("in", None, "is one of", _LISTABLE, "list"),
        Operator("not_in", None, "is none of", _LISTABLE, "list"),
        Operator("gt", ">", "is more than", _ORDERED, "scalar"),
        Operator("gte", ">=", "is at least", _ORDERED, "scalar"),
        Operator("lt", "<", "is less than", _ORDERED, "scalar"),
        Operator("lte", "<=", "is at most", _ORDERED, "scalar"),
        Operator("between", None, "is between", _ORDERED, "pair"),
        Operator("contains", None, "contains", _TEXTUAL | {F.TAGS}, "scalar"),
        Operator("not_contains", None, "does not contain", _TEXTUAL | {F.TAGS}, "scalar"),
        Operator("starts_with", None, "starts with", _TEXTUAL, "scalar"),
        Operator("ends_with", None, "ends with", _TEXTUAL, "scalar"),
        Operator("contains_any", None, "contains any of", frozenset({F.TAGS}), "list"),
        Operator("contains_all", None, "contains all of", frozenset({F.TAGS}), "list"),
        Operator("is_set", None, "is set", _ALL, "bool"),
        Operator("before", None, "is before", frozenset({F.DATE}), "scalar"),
        Operator("after", None, "is after", frozenset({F.DATE}), "scalar"),
        Operator("on", None, "is on", frozenset({F.DATE}), "scalar"),
        Operator("within", None, "is within the last", frozenset({F.DATE}), "duration"),
    )
}

SYMBOLS = {op.symbol: op.name for op in OPERATORS.values() if op.symbol}

# On date fields these are the same as the date words (SPEC 3.6).
DATE_SYNONYMS = {"lt": "before", "gt": "after", "eq": "on"}


def canonical(name: str) -> str | None:
    """The operator's name for a spelling (``>=`` → ``gte``), or None if unknown."""
    if name in OPERATORS:
        return name
    return SYMBOLS.get(name)


# ---------------------------------------------------------------------------------
# Primitive comparisons: one SQL template and one Python check each


def fold(text: object) -> str | None:
    """Text compared ignoring case (Unicode case folding); registered as segcli_fold()."""
    if text is None:
        return None
    return str(text).casefold()


def fold_sql(expression: str, *, numbers: bool = False) -> str:
    """SQL folding ``expression`` as ``fold`` does, calling Python only for non-ASCII text.

    ASCII text (as many bytes as characters, and no NUL, where SQLite's length() stops)
    folds with SQLite's own lower(), in C; other text (accents, other scripts) goes to
    segcli_fold(). A call into Python for every row was most of the cost of a segment
    over many people. With ``numbers`` (a custom field's JSON may hold any number), only
    text takes the fast path (lower() returns text: the types match for text alone);
    numbers go to segcli_fold(), since SQLite writes -0.0 as 0.0 and 1e20 as 1.0e+20.
    """
    text = f"typeof({expression}) = typeof(lower({expression})) AND " if numbers else ""
    return (
        f"CASE WHEN {expression} IS NULL THEN NULL "
        f"WHEN {text}length(CAST({expression} AS BLOB)) = length({expression}) "
        f"THEN lower({expression}) ELSE segcli_fold({expression}) END"
    )


_NUMBER = re.compile(r"\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*")


def as_number(text: object) -> Decimal | None:
    """A custom field's text as an exact number, or None when it is not one."""
    if text is None:
        return None
    value = str(text)
    if not _NUMBER.fullmatch(value):
        return None
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def compare_custom(stored: object, value: object) -> int | None:
    """-1/0/1 comparing a custom field with a condition's value: as numbers when both
    are numbers, else as text ignoring case. None when the field is unset.
    Registered as segcli_compare()."""
    if stored is None:
        return None
    left, right = as_number(stored), as_number(value)
    if left is None or right is None:
        left, right = fold(stored), fold(value)
    return (left > right) - (left < right)


@dataclass(frozen=True)
class Primitive:
    name: str
    # SQL from the operand expression and the values' placeholders.
    sql: Callable[[str, list[str]], str]
    # The same test in Python, on the operand's value (None when unset).
    check: Callable[[object, list], bool]
    # For a test against a list of values, the SQL from the operand expression and the
    # SQL of the values as a set (a one-column SELECT of ``value``): a long list reaches
    # SQLite as one parameter (compile's LONG_LIST).
    set_sql: Callable[[str, str], str] | None = None


def _listing(name: str, sql: Callable[[str, list[str]], str], check) -> Primitive:
    """A primitive whose SQL reads its values only as the list inside ``IN (...)``: a
    set's SELECT takes the list's place."""
    return Primitive(name, sql, check, set_sql=lambda x, values: sql(x, [values]))


# SQLite parses `a OR b OR c ...` into a chain as deep as it is long and refuses one
# deeper than 1,000; longer lists are joined in parenthesized groups of at most this many.
_JOINED_GROUP = 64


def joined(terms: list[str], word: str) -> str:
    """``(t1 WORD t2 WORD ...)``, grouped so that the expression stays shallow."""
    separator = f" {word} "
    while len(terms) > _JOINED_GROUP:
        terms = [
            "(" + separator.join(terms[start : start + _JOINED_GROUP]) + ")"
            for start in range(0, len(terms), _JOINED_GROUP)
        ]
    return "(" + separator.join(terms) + ")"


def _set(x):
    return x is not None


# A tag, folded (in the tag operators' SQL).
TAG = fold_sql("tag.value")

PRIMITIVES: dict[str, Primitive] = {
    p.name: p
    for p in (
        Primitive("=", lambda x, v: f"{x} = {v[0]}", lambda a, v: _set(a) and a == v[0]),
        Primitive("!=", lambda x, v: f"{x} != {v[0]}", lambda a, v: _set(a) and a != v[0]),
        Primitive("<", lambda x, v: f"{x} < {v[0]}", lambda a, v: _set(a) and a < v[0]),
        Primitive("<=", lambda x, v: f"{x} <= {v[0]}", lambda a, v: _set(a) and a <= v[0]),
        Primitive(">", lambda x, v: f"{x} > {v[0]}", lambda a, v: _set(a) and a > v[0]),
        Primitive(">=", lambda x, v: f"{x} >= {v[0]}", lambda a, v: _set(a) and a >= v[0]),
        _listing("in", lambda x, v: f"{x} IN ({', '.join(v)})", lambda a, v: _set(a) and a in v),
        _listing(
            "not_in",
            lambda x, v: f"{x} NOT IN ({', '.join(v)})",
            lambda a, v: _set(a) and a not in v,
        ),
        Primitive(
            "between",
            lambda x, v: f"{x} BETWEEN {v[0]} AND {v[1]}",
            lambda a, v: _set(a) and v[0] <= a <= v[1],
        ),
        # Half-open [low, high): a whole day, or a range of days.
        Primitive(
            "range",
            lambda x, v: f"({x} >= {v[0]} AND {x} < {v[1]})",
            lambda a, v: _set(a) and v[0] <= a < v[1],
        ),
        Primitive(
            "outside",
            lambda x, v: f"({x} < {v[0]} OR {x} >= {v[1]})",
            lambda a, v: _set(a) and not v[0] <= a < v[1],
        ),
        # [low, high] where the high end is an instant (date-time), inclusive.
        Primitive(
            "range_closed",
            lambda x, v: f"({x} >= {v[0]} AND {x} <= {v[1]})",
            lambda a, v: _set(a) and v[0] <= a <= v[1],
        ),
        Primitive(
            "contains", lambda x, v: f"instr({x}, {v[0]}) > 0", lambda a, v: _set(a) and v[0] in a
        ),
        Primitive(
            "not_contains",
            lambda x, v: f"instr({x}, {v[0]}) = 0",
            lambda a, v: _set(a) and v[0] not in a,
        ),
        Primitive(
            "starts_with",
            lambda x, v: f"instr({x}, {v[0]}) = 1",
            lambda a, v: _set(a) and a.startswith(v[0]),
        ),
        Primitive(
            "ends_with",
            lambda x, v: f"substr({x}, -length({v[0]})) = {v[0]}",
            lambda a, v: _set(a) and a.endswith(v[0]),
        ),
        Primitive(
            "is_set",
            lambda x, v: f"({x} IS NOT NULL) = {v[0]}",
            lambda a, v: (a is not None) == bool(v[0]),
        ),
        # Tags: the operand is the list of folded tags (never unset).
        _listing(
            "has_any",
            lambda x, v: (
                f"EXISTS (SELECT 1 FROM json_each({x}) AS tag WHERE {TAG} IN ({', '.join(v)}))"
            ),
            lambda a, v: any(tag in v for tag in a),
        ),
        _listing(
            "has_none",
            lambda x, v: (
                f"NOT EXISTS (SELECT 1 FROM json_each({x}) AS tag WHERE {TAG} IN ({', '.join(v)}))"
            ),
            lambda a, v: not any(tag in v for tag in a),
        ),
        Primitive(
            "has_all",
            lambda x, v: (
                f"(SELECT count(DISTINCT {TAG}) FROM json_each({x}) "
                f"AS tag WHERE {TAG} IN ({', '.join(v)})) = {len(v)}"
            ),
            lambda a, v: all(tag in a for tag in v),
        ),
        Primitive(
            "same_tags",
            lambda x, v: (
                f"(SELECT count(DISTINCT {TAG}) FROM json_each({x}) "
                f"AS tag) = {len(v)} AND (SELECT count(DISTINCT {TAG}) "
                f"FROM json_each({x}) AS tag WHERE {TAG} IN "
                f"({', '.join(v) or 'NULL'})) = {len(v)}"
            ),
            lambda a, v: set(a) == set(v),
        ),
        Primitive(
            "other_tags",
            lambda x, v: (
                f"NOT ((SELECT count(DISTINCT {TAG}) "
                f"FROM json_each({x}) AS tag) = {len(v)} AND (SELECT count(DISTINCT "
                f"{TAG}) FROM json_each({x}) AS tag WHERE {TAG} "
                f"IN ({', '.join(v) or 'NULL'})) = {len(v)})"
            ),
            lambda a, v: set(a) != set(v),
        ),
        Primitive(
            "has_tags",
            lambda x, v: f"(json_array_length({x}) > 0) = {v[0]}",
            lambda a, v: (len(a) > 0) == bool(v[0]),
        ),
    )
}

# Custom fields compare through segcli_compare(): the same primitives, on its result.
CUSTOM_PRIMITIVES: dict[str, Primitive] = {
    "=": Primitive(
        "=",
        lambda x, v: f"segcli_compare({x}, {v[0]}) = 0",
        lambda a, v: compare_custom(a, v[0]) == 0,
    ),
    "!=": Primitive(
        "!=",
        lambda x, v: f"segcli_compare({x}, {v[0]}) != 0",
        lambda a, v: compare_custom(a, v[0]) not in (0, None),
    ),
    "<": Primitive(
        "<",
        lambda x, v: f"segcli_compare({x}, {v[0]}) < 0",
        lambda a, v: (c := compare_custom(a, v[0])) is not None and c < 0,
    ),
    "<=": Primitive(
        "<=",
        lambda x, v: f"segcli_compare({x}, {v[0]}) <= 0",
        lambda a, v: (c := compare_custom(a, v[0])) is not None and c <= 0,
    ),
    ">": Primitive(
        ">",
        lambda x, v: f"segcli_compare({x}, {v[0]}) > 0",
        lambda a, v: (c := compare_custom(a, v[0])) is not None and c > 0,
    ),
    ">=": Primitive(
        ">=",
        lambda x, v: f"segcli_compare({x}, {v[0]}) >= 0",
        lambda a, v: (c := compare_custom(a, v[0])) is not None and c >= 0,
    ),
    "in": Primitive(
        "in",
        lambda x, v: joined([f"segcli_compare({x}, {p}) = 0" for p in v], "OR"),
        lambda a, v: any(compare_custom(a, p) == 0 for p in v),
        set_sql=lambda x, s: f"EXISTS (SELECT 1 FROM ({s}) WHERE segcli_compare({x}, value) = 0)",
    ),
    "not_in": Primitive(
        "not_in",
        lambda x, v: (
            f"({x} IS NOT NULL AND NOT "
            + joined([f"segcli_compare({x}, {p}) = 0" for p in v], "OR")
            + ")"
        ),
        lambda a, v: a is not None and not any(compare_custom(a, p) == 0 for p in v),
        set_sql=lambda x, s: (
            f"({x} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM ({s}) WHERE segcli_compare({x}, value) = 0))"
        ),
    ),
    "between": Primitive(
        "between",
        lambda x, v: f"(segcli_compare({x}, {v[0]}) >= 0 AND segcli_compare({x}, {v[1]}) <= 0)",
        lambda a, v: (
            a is not None and compare_custom(a, v[0]) >= 0 and compare_custom(a, v[1]) <= 0
        ),
    ),
}
