"""The operator table (SPEC 3.4): each operator is one row, read by the compiler, the
explainer and the tests' reference evaluator alike.

A condition ``FIELD: {OP: VALUE}`` is first *normalised* for the field's type into a
primitive comparison on plain values (text folded for case, money in ten-thousandths,
dates as UTC instants in stored text form); each primitive then has exactly one SQL
template and one Python check, so the SQL and the Python meaning cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, cast, overload

from segcli.rules import fields as F
from segcli.rules.dialect import SQLITE, Dialect

# ---------------------------------------------------------------------------------
# User-facing operators


@dataclass(frozen=True)
class Operator:
    """One operator: how it is written, what it says, what it applies to, and what it
    means on each type of field (the primitive comparisons below)."""

    name: str
    symbol: str | None
    phrase: str
    types: frozenset[str]
    shape: str  # scalar | list | pair | bool | duration
    # The primitive it is on text, numbers, money, booleans and custom fields.
    compare: str | None = None
    # The primitive it is on a person's set of tags.
    on_tags: str | None = None
    # On a date field: the primitive, and the bounds it compares with, for a day value
    # (its start or the next day's start) and for a date-time value (the instant, or
    # the start of its day and of the next).
    on_day: tuple[str, tuple[str, ...]] | None = None
    on_instant: tuple[str, tuple[str, ...]] | None = None
    # On date fields the operator is the same as this date word (SPEC 3.6: lt is before).
    date_word: str | None = None
    # Allowed in a predicate's comparisons of a number (times, rating, total).
    counts: bool = False


_ORDERED = frozenset({F.MONEY, F.INTEGER, F.DATE, F.CUSTOM})
_TEXTUAL = frozenset({F.TEXT, F.CUSTOM})
_ALL = frozenset({F.TEXT, F.MONEY, F.INTEGER, F.DATE, F.BOOLEAN, F.TAGS, F.CUSTOM, F.LIFECYCLE})
_LISTABLE = frozenset({F.TEXT, F.MONEY, F.INTEGER, F.CUSTOM, F.LIFECYCLE})
_DAY = ("start", "end")
_WHOLE_DAY = ("day_start", "day_end")

OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator("eq", "=", "is", _ALL, "scalar", "=", "same_tags", date_word="on", counts=True),
        Operator(
            "ne",
            "!=",
            "is not",
            _ALL,
            "scalar",
            "!=",
            "other_tags",
            on_day=("outside", _DAY),
            on_instant=("outside", _WHOLE_DAY),
            counts=True,
        ),
        Operator("in", None, "is one of", _LISTABLE, "list", "in", counts=True),
        Operator("not_in", None, "is none of", _LISTABLE, "list", "not_in", counts=True),
        Operator(
            "gt", ">", "is more than", _ORDERED, "scalar", ">", date_word="after", counts=True
        ),
        Operator(
            "gte",
            ">=",
            "is at least",
            _ORDERED,
            "scalar",
            ">=",
            on_day=(">=", ("start",)),
            on_instant=(">=", ("moment",)),
            counts=True,
        ),
        Operator(
            "lt", "<", "is less than", _ORDERED, "scalar", "<", date_word="before", counts=True
        ),
        Operator(
            "lte",
            "<=",
            "is at most",
            _ORDERED,
            "scalar",
            "<=",
            on_day=("<", ("end",)),
            on_instant=("<=", ("moment",)),
            counts=True,
        ),
        Operator("between", None, "is between", _ORDERED, "pair", "between", counts=True),
        Operator("contains", None, "contains", _TEXTUAL | {F.TAGS}, "scalar", on_tags="has_any"),
        Operator(
            "not_contains",
            None,
            "does not contain",
            _TEXTUAL | {F.TAGS},
            "scalar",
            on_tags="has_none",
        ),
        Operator("starts_with", None, "starts with", _TEXTUAL, "scalar"),
        Operator("ends_with", None, "ends with", _TEXTUAL, "scalar"),
        Operator(
            "contains_any", None, "contains any of", frozenset({F.TAGS}), "list", on_tags="has_any"
        ),
        Operator(
            "contains_all", None, "contains all of", frozenset({F.TAGS}), "list", on_tags="has_all"
        ),
        Operator("is_set", None, "is set", _ALL, "bool"),
        Operator(
            "before",
            None,
            "is before",
            frozenset({F.DATE}),
            "scalar",
            on_day=("<", ("start",)),
            on_instant=("<", ("moment",)),
        ),
        Operator(
            "after",
            None,
            "is after",
            frozenset({F.DATE}),
            "scalar",
            on_day=(">=", ("end",)),
            on_instant=(">", ("moment",)),
        ),
        Operator(
            "on",
            None,
            "is on",
            frozenset({F.DATE}),
            "scalar",
            on_day=("range", _DAY),
            on_instant=("range", _WHOLE_DAY),
        ),
        Operator("within", None, "is within the last", frozenset({F.DATE}), "duration"),
    )
}

SYMBOLS = {op.symbol: op.name for op in OPERATORS.values() if op.symbol}

# On date fields these are the same as the date words (SPEC 3.6).
DATE_SYNONYMS = {op.name: op.date_word for op in OPERATORS.values() if op.date_word}

# The operators of a predicate's number comparisons (times, rating, total): those of
# one value first, then between, then the lists.
COUNT_OPERATORS = tuple(
    op.name
    for op in sorted(
        (op for op in OPERATORS.values() if op.counts),
        key=lambda op: ("scalar", "pair", "list").index(op.shape),
    )
)


def canonical(name: str) -> str | None:
    """The operator's name for a spelling (``>=`` → ``gte``), or None if unknown."""
    if name in OPERATORS:
        return name
    return SYMBOLS.get(name)


# ---------------------------------------------------------------------------------
# Primitive comparisons: one SQL template and one Python check each


# Text folds to text; only None stays None.
@overload
def fold(text: str) -> str: ...
@overload
def fold(text: object) -> str | None: ...
def fold(text: object) -> str | None:
    """Text compared ignoring case (Unicode case folding); registered as segcli_fold()."""
    if text is None:
        return None
    return str(text).casefold()


def fold_list(values: Iterable[object]) -> tuple[str | None, ...]:
    """Values folded for case, each once, in their first order."""
    return tuple(dict.fromkeys(fold(value) for value in values))


def fold_sql(expression: str, *, numbers: bool = False) -> str:
    """SQL folding ``expression`` as ``fold`` does, in SQLite (the dialect's fold)."""
    return SQLITE.fold(expression, numbers=numbers)


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
    if left is not None and right is not None:
        return (left > right) - (left < right)
    # Neither text is None: ``stored`` is set, and a condition's value always is.
    left_text, right_text = cast(str, fold(stored)), cast(str, fold(value))
    return (left_text > right_text) - (left_text < right_text)


# SQL of a primitive: from the dialect, the operand expression and the values' SQL.
Template = Callable[[Dialect, str, list[str]], str]


@dataclass(frozen=True)
class Primitive:
    name: str
    # SQL from the dialect, the operand expression and the values' placeholders.
    template: Template
    # The same test in Python, on the operand's value (None when unset): text, a number,
    # a person's tags, as the primitive takes them.
    check: Callable[[Any, list[Any]], bool]
    # For a test against a list of values, the SQL from the dialect, the operand
    # expression and the SQL of the values as a set (a one-column SELECT of ``value``):
    # a long list reaches the engine as one parameter (compile's LONG_LIST).
    set_template: Callable[[Dialect, str, str], str] | None = None

    def sql(self, expression: str, values: list[str], dialect: Dialect = SQLITE) -> str:
        return self.template(dialect, expression, values)

    def set_sql(self, expression: str, values: str, dialect: Dialect = SQLITE) -> str | None:
        if self.set_template is None:
            return None
        return self.set_template(dialect, expression, values)


def _listing(name: str, sql: Template, check: Callable[[Any, list[Any]], bool]) -> Primitive:
    """A primitive whose SQL reads its values only as the list inside ``IN (...)``: a
    set's SELECT takes the list's place."""
    return Primitive(name, sql, check, set_template=lambda d, x, values: sql(d, x, [values]))


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


def _tags_test(
    name: str, check: Callable[[Any, list[Any]], bool], *, listing: bool = False
) -> Primitive:
    """A test of a person's folded tags, whose SQL is the dialect's ``tags_test``;
    ``listing``: its values are only what follows IN (a long list may be a set)."""

    def sql(d: Dialect, x: str, v: list[str]) -> str:
        return d.tags_test(name, x, v)

    return _listing(name, sql, check) if listing else Primitive(name, sql, check)


def _set(x: object) -> bool:
    return x is not None


PRIMITIVES: dict[str, Primitive] = {
    p.name: p
    for p in (
        Primitive("=", lambda d, x, v: f"{x} = {v[0]}", lambda a, v: _set(a) and a == v[0]),
        Primitive("!=", lambda d, x, v: f"{x} != {v[0]}", lambda a, v: _set(a) and a != v[0]),
        Primitive("<", lambda d, x, v: f"{x} < {v[0]}", lambda a, v: _set(a) and a < v[0]),
        Primitive("<=", lambda d, x, v: f"{x} <= {v[0]}", lambda a, v: _set(a) and a <= v[0]),
        Primitive(">", lambda d, x, v: f"{x} > {v[0]}", lambda a, v: _set(a) and a > v[0]),
        Primitive(">=", lambda d, x, v: f"{x} >= {v[0]}", lambda a, v: _set(a) and a >= v[0]),
        _listing("in", lambda d, x, v: f"{x} IN ({', '.join(v)})", lambda a, v: _set(a) and a in v),
        _listing(
            "not_in",
            lambda d, x, v: f"{x} NOT IN ({', '.join(v)})",
            lambda a, v: _set(a) and a not in v,
        ),
        Primitive(
            "between",
            lambda d, x, v: f"{x} BETWEEN {v[0]} AND {v[1]}",
            lambda a, v: _set(a) and v[0] <= a <= v[1],
        ),
        # Half-open [low, high): a whole day, or a range of days.
        Primitive(
            "range",
            lambda d, x, v: f"({x} >= {v[0]} AND {x} < {v[1]})",
            lambda a, v: _set(a) and v[0] <= a < v[1],
        ),
        Primitive(
            "outside",
            lambda d, x, v: f"({x} < {v[0]} OR {x} >= {v[1]})",
            lambda a, v: _set(a) and not v[0] <= a < v[1],
        ),
        # [low, high] where the high end is an instant (date-time), inclusive.
        Primitive(
            "range_closed",
            lambda d, x, v: f"({x} >= {v[0]} AND {x} <= {v[1]})",
            lambda a, v: _set(a) and v[0] <= a <= v[1],
        ),
        Primitive(
            "contains",
            lambda d, x, v: f"instr({x}, {v[0]}) > 0",
            lambda a, v: _set(a) and v[0] in a,
        ),
        Primitive(
            "not_contains",
            lambda d, x, v: f"instr({x}, {v[0]}) = 0",
            lambda a, v: _set(a) and v[0] not in a,
        ),
        Primitive(
            "starts_with",
            lambda d, x, v: f"instr({x}, {v[0]}) = 1",
            lambda a, v: _set(a) and a.startswith(v[0]),
        ),
        Primitive(
            "ends_with",
            lambda d, x, v: f"substr({x}, -length({v[0]})) = {v[0]}",
            lambda a, v: _set(a) and a.endswith(v[0]),
        ),
        Primitive(
            "is_set",
            lambda d, x, v: f"({x} IS NOT NULL) = {v[0]}",
            lambda a, v: (a is not None) == bool(v[0]),
        ),
        # Tags: the operand is the person's tags (never unset), compared folded; the SQL
        # is the dialect's (Dialect.tags_test).
        _tags_test("has_any", lambda a, v: any(tag in v for tag in a), listing=True),
        _tags_test("has_none", lambda a, v: not any(tag in v for tag in a), listing=True),
        _tags_test("has_all", lambda a, v: all(tag in a for tag in v)),
        _tags_test("same_tags", lambda a, v: set(a) == set(v)),
        _tags_test("other_tags", lambda a, v: set(a) != set(v)),
        Primitive(
            "has_tags",
            lambda d, x, v: f"({d.tag_count(x)} > 0) = {v[0]}",
            lambda a, v: (len(a) > 0) == bool(v[0]),
        ),
    )
}

# Custom fields compare through the dialect's compare_custom() (segcli_compare() in
# SQLite): the same primitives, on its result.
CUSTOM_PRIMITIVES: dict[str, Primitive] = {
    "=": Primitive(
        "=",
        lambda d, x, v: f"{d.compare_custom(x, v[0])} = 0",
        lambda a, v: compare_custom(a, v[0]) == 0,
    ),
    "!=": Primitive(
        "!=",
        lambda d, x, v: f"{d.compare_custom(x, v[0])} != 0",
        lambda a, v: compare_custom(a, v[0]) not in (0, None),
    ),
    "<": Primitive(
        "<",
        lambda d, x, v: f"{d.compare_custom(x, v[0])} < 0",
        lambda a, v: (c := compare_custom(a, v[0])) is not None and c < 0,
    ),
    "<=": Primitive(
        "<=",
        lambda d, x, v: f"{d.compare_custom(x, v[0])} <= 0",
        lambda a, v: (c := compare_custom(a, v[0])) is not None and c <= 0,
    ),
    ">": Primitive(
        ">",
        lambda d, x, v: f"{d.compare_custom(x, v[0])} > 0",
        lambda a, v: (c := compare_custom(a, v[0])) is not None and c > 0,
    ),
    ">=": Primitive(
        ">=",
        lambda d, x, v: f"{d.compare_custom(x, v[0])} >= 0",
        lambda a, v: (c := compare_custom(a, v[0])) is not None and c >= 0,
    ),
    "in": Primitive(
        "in",
        lambda d, x, v: joined([f"{d.compare_custom(x, p)} = 0" for p in v], "OR"),
        lambda a, v: any(compare_custom(a, p) == 0 for p in v),
        set_template=lambda d, x, s: (
            f"EXISTS (SELECT 1 FROM ({s}) WHERE {d.compare_custom(x, 'value')} = 0)"
        ),
    ),
    "not_in": Primitive(
        "not_in",
        lambda d, x, v: (
            f"({x} IS NOT NULL AND NOT "
            + joined([f"{d.compare_custom(x, p)} = 0" for p in v], "OR")
            + ")"
        ),
        lambda a, v: a is not None and not any(compare_custom(a, p) == 0 for p in v),
        set_template=lambda d, x, s: (
            f"({x} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM ({s}) WHERE {d.compare_custom(x, 'value')} = 0))"
        ),
    ),
    "between": Primitive(
        "between",
        lambda d, x, v: f"({d.compare_custom(x, v[0])} >= 0 AND {d.compare_custom(x, v[1])} <= 0)",
        lambda a, v: (
            (low := compare_custom(a, v[0])) is not None
            and low >= 0
            and (high := compare_custom(a, v[1])) is not None
            and high <= 0
        ),
    ),
}
