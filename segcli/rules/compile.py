"""Compiling a segment's condition to one SQL expression over the per-person facts.

Identifiers come only from the field registry, the operator and predicate tables and this
module's own text; every value from a segment file goes through ``Params.add`` and
reaches SQL as a bound parameter. Relative dates are resolved here, in Python, against
the as-of date. Every leaf is wrapped so that it is 0 or 1, never NULL: ``not`` is then
the exact complement. What differs between engines is asked of the context's dialect.

``compile_condition`` gives the SQL with everything in it (``segment sql`` prints it);
``compile_segment`` gives a ``Compiled`` value in which each set of people that costs a
pass over records (who purchased, reviewed, ordered, left a cart) is a ``PeopleSet`` of
its own, with its own parameters, that the evaluation computes once and keeps.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any, cast

from segcli.money import units
from segcli.rules import ast
from segcli.rules import fields as F
from segcli.rules.dates import (
    AS_OF,
    AS_OF_END,
    DateValue,
    Duration,
    day_start,
    instant_text,
    next_day_start,
)
from segcli.rules.dialect import SQLITE, Dialect
from segcli.rules.operators import (
    CUSTOM_PRIMITIVES,
    OPERATORS,
    PRIMITIVES,
    Primitive,
    as_number,
    fold,
    fold_list,
    joined,
)
from segcli.rules.predicates import PREDICATES, predicate_sql

__all__ = [
    "AS_OF",
    "AS_OF_END",
    "LONG_LIST",
    "Compiled",
    "Context",
    "Params",
    "PeopleSet",
    "as_of_params",
    "compile_condition",
    "compile_segment",
    "normalize",
]

# A list of more values than this reaches SQL as one parameter, a JSON array that the
# dialect reads. SQLite finds a named parameter by walking the names before it, so
# preparing a list of n parameters takes time in n squared (40,000 values: 9 s). Lists
# in real segments are shorter, and keep a placeholder per value.
LONG_LIST = 64

# Where a kept set of people stands in a compiled condition until it is placed.
_SET_MARK = "\x00"


class Params:
    """Collects bound values and hands out their placeholders (``:p1``, ``:p2``, ...)."""

    def __init__(self, dialect: Dialect = SQLITE) -> None:
        self.values: dict[str, object] = {}
        self.dialect = dialect
        # The names of the as-of parameters the SQL refers to (bound by the evaluation).
        self.named: set[str] = set()

    def add(self, value: object) -> str:
        name = f"p{len(self.values) + 1}"
        self.values[name] = value
        return self.dialect.placeholder(name)

    def name(self, name: str) -> str:
        """The placeholder of a parameter bound under its own name (the as-of bounds)."""
        self.named.add(name)
        return self.dialect.placeholder(name)

    def as_set(self, values: tuple[object, ...]) -> str | None:
        """A long list of values as the SQL of a set: a SELECT of ``value`` from one
        placeholder. None for a short list, to be bound value by value."""
        # json_each() ends a text at a NUL: such a list is bound value by value too.
        if len(values) <= LONG_LIST or any("\x00" in str(value) for value in values):
            return None
        return self.dialect.json_values(self.add(self.dialect.bound_list(values)))

    def listed(self, values: tuple[object, ...]) -> str:
        """What goes inside ``IN (...)`` for ``values``."""
        return self.as_set(values) or ", ".join(self.add(value) for value in values)


def as_of_params(as_of: date) -> dict[str, object]:
    """The bounds of the as-of day: records dated before ``as_of_end`` count."""
    return {AS_OF: as_of.isoformat(), AS_OF_END: next_day_start(as_of)}


@dataclass(frozen=True)
class PeopleSet:
    """A set of people (a SELECT of ``person_id``) that costs a pass over records, with
    its own parameters: the same set, in any segment, is the same SQL and values."""

    sql: str
    params: dict[str, object]
    # How the SQL is made, for an evaluation that finds many sets in one pass (SetParts).
    records: tuple[str, str] | None = None
    lines: str | None = None

    @property
    def digest(self) -> str:
        values = [repr(value) for value in self.params.values()]
        text = json.dumps([self.sql, sorted(self.params), values])
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class SetParts:
    """What a set of people's SQL is made of, noted while its predicate compiles it."""

    # The set is the people of the records that meet a condition: the table (with its
    # alias) and the condition.
    records: tuple[str, str] | None = None
    # Conditions on line items: the set's orders are those with a line that meets one,
    # and its SQL holds it once, as ``predicates.lines_clause`` writes it.
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Compiled:
    """A condition compiled: SQL over facts ``f`` that is 1 for members, its parameters,
    and the sets of people it reads, each to be placed as the evaluation keeps it."""

    parts: tuple[str, ...]  # text, then a set's index, then text, ...
    params: dict[str, object]
    sets: tuple[PeopleSet, ...] = ()

    def sql(self, place: Callable[[PeopleSet], str]) -> str:
        """The SQL, each set read as ``place`` says (a SELECT of its person ids)."""
        return "".join(
            text if n % 2 == 0 else place(self.sets[int(text)]) for n, text in enumerate(self.parts)
        )


@dataclass
class Context:
    as_of: date
    segments: dict[str, ast.Segment] = field(default_factory=dict)
    params: Params = field(default_factory=Params)
    # Asking about one person: predicates look up that person's records by index
    # instead of computing the set of every matching person.
    one_person: bool = False
    dialect: Dialect = SQLITE
    # Sets of people compiled apart (compile_segment), or None to write them in place.
    sets: list[PeopleSet] | None = None
    # Compiling one such set: what it is made of.
    parts: SetParts | None = None

    def __post_init__(self) -> None:
        self.params.dialect = self.dialect

    def add(self, value: object) -> str:
        return self.params.add(value)

    def name(self, name: str) -> str:
        return self.params.name(name)

    def kept(self, build: Callable[[Context], str]) -> str:
        """The SQL of a set of people that ``build`` writes: in place, or (compiling a
        segment for the evaluation) as a mark for a set compiled with its own parameters."""
        if self.sets is None or self.one_person:
            return build(self)
        parts = SetParts()
        own = replace(self, params=Params(self.dialect), sets=None, parts=parts)
        sql = build(own)
        named = {name: as_of_params(self.as_of)[name] for name in sorted(own.params.named)}
        lines = parts.lines[0] if len(parts.lines) == 1 else None
        self.sets.append(PeopleSet(sql, {**own.params.values, **named}, parts.records, lines))
        return f"{_SET_MARK}{len(self.sets) - 1}{_SET_MARK}"


def compile_segment(condition: ast.Condition, context: Context) -> Compiled:
    """The condition compiled with each costly set of people apart (``Compiled``)."""
    context.sets = []
    sql = compile_condition(condition, context)
    return Compiled(tuple(sql.split(_SET_MARK)), dict(context.params.values), tuple(context.sets))


# ---------------------------------------------------------------------------------
# Normalising a comparison: (field, op, value) → a primitive on plain values


@dataclass(frozen=True)
class Normalized:
    """A comparison ready for SQL or Python: the primitive, its values, and the operand."""

    primitive: Primitive
    values: tuple[object, ...]
    operand: str  # the SQL expression compared
    read: Callable[[Any], object]  # the same operand, from a person's raw value, in Python


def _identity(value: object) -> object:
    return value


def normalize(compare: ast.Compare, as_of: date, dialect: Dialect = SQLITE) -> Normalized:
    """The primitive comparison a condition stands for, on the field's plain values."""
    # The parser builds a comparison only of a known field, with an operator that applies
    # to the field's type and a value of the shape they call for: the checks and casts
    # below say so to mypy.
    field_ = F.lookup(compare.field)
    assert field_ is not None
    op, value = compare.op, compare.value
    operator = OPERATORS[op]
    kind = field_.type
    if op == "is_set":
        flag = int(cast(bool, value))
        if kind == F.TAGS:
            return Normalized(PRIMITIVES["has_tags"], (flag,), field_.sql, _tags)
        if kind == F.CUSTOM:
            return Normalized(PRIMITIVES["is_set"], (flag,), _custom_sql(dialect), _custom(compare))
        if compare.field == "average_order_value":
            return Normalized(PRIMITIVES["is_set"], (flag,), "nullif(f.orders_count, 0)", _identity)
        return Normalized(PRIMITIVES["is_set"], (flag,), field_.sql, _identity)

    values: tuple[object, ...]
    if kind in (F.TEXT, F.LIFECYCLE):
        values = fold_list(value) if isinstance(value, tuple) else (fold(value),)
        name = operator.compare or op
        return Normalized(PRIMITIVES[name], values, dialect.fold(field_.sql), fold)
    if kind == F.CUSTOM:
        if operator.compare is None:
            return Normalized(
                PRIMITIVES[op],
                (fold(value),),
                dialect.fold(_custom_sql(dialect), numbers=True),
                lambda raw: fold(_custom(compare)(raw)),
            )
        values = value if isinstance(value, tuple) else (value,)
        if not any(as_number(str(v)) is not None for v in values):
            # Against text, segcli_compare() compares the field as text ignoring case,
            # whatever it holds: the plain text comparison says the same, in SQLite's C
            # for ASCII text instead of a call into Python for every person.
            texts = fold_list(str(v) for v in values)
            return Normalized(
                PRIMITIVES[operator.compare],
                texts if op in ("in", "not_in") else tuple(fold(str(v)) for v in values),
                dialect.fold(_custom_sql(dialect), numbers=True),
                lambda raw: fold(_custom(compare)(raw)),
            )
        return Normalized(
            CUSTOM_PRIMITIVES[operator.compare],
            tuple(str(v) for v in values),
            _custom_sql(dialect),
            _custom(compare),
        )
    if kind == F.TAGS:
        values = fold_list(value) if isinstance(value, tuple) else (fold(value),)
        assert operator.on_tags is not None
        return Normalized(PRIMITIVES[operator.on_tags], values, field_.sql, _tags)
    if kind == F.BOOLEAN:
        flag = int(cast(bool, value))
        assert operator.compare is not None
        return Normalized(PRIMITIVES[operator.compare], (flag,), field_.sql, _identity)
    if kind in (F.MONEY, F.INTEGER):
        convert: Callable[[Decimal | int], int] = units if kind == F.MONEY else int
        numbers = cast("Decimal | int | tuple[Decimal | int, ...]", value)
        values = (
            tuple(convert(v) for v in numbers)
            if isinstance(numbers, tuple)
            else (convert(numbers),)
        )
        assert operator.compare is not None
        return Normalized(PRIMITIVES[operator.compare], values, field_.sql, _identity)
    if kind == F.DATE:
        name, values = _date_comparison(op, value, as_of)
        return Normalized(PRIMITIVES[name], values, field_.sql, _identity)
    raise TypeError(f"no comparison for fields of type {kind!r}")


def _date_comparison(op: str, value: ast.Value, as_of: date) -> tuple[str, tuple[object, ...]]:
    """A date condition as a comparison of stored UTC timestamps (SPEC 3.6)."""
    # The parser gives within a duration, between two dates, every other operator a date
    # and only those operators of a date that have its bounds (the others are date words).
    if op == "within":
        return ">=", (next_day_start(cast(Duration, value).back_from(as_of)),)
    if op == "between":
        low, high = cast("tuple[DateValue, DateValue]", value)
        start = (
            instant_text(low.instant)
            if low.instant is not None
            else day_start(low.resolve_day(as_of))
        )
        if high.instant is not None:
            return "range_closed", (start, instant_text(high.instant))
        return "range", (start, next_day_start(high.resolve_day(as_of)))
    operator = OPERATORS[op]
    day_value = cast(DateValue, value)
    moment: str | None
    if day_value.instant is not None:
        day = day_value.instant.date()
        assert operator.on_instant is not None
        name, bounds = operator.on_instant
        moment = instant_text(day_value.instant)
    else:
        day = day_value.resolve_day(as_of)
        assert operator.on_day is not None
        name, bounds = operator.on_day
        moment = None
    sides = {
        "moment": moment,
        "start": day_start(day),
        "end": next_day_start(day),
        "day_start": day_start(day),
        "day_end": next_day_start(day),
    }
    return name, tuple(sides[bound] for bound in bounds)


def _custom_sql(dialect: Dialect) -> str:
    # {path} becomes the placeholder of the field's JSON path: even a validated name from
    # a segment file reaches SQL only as a bound parameter.
    return dialect.custom_field("f.custom", "{path}")


def _custom(compare: ast.Compare) -> Callable[[dict[str, object] | None], object]:
    name = F.custom_path(compare.field)[3:-1]

    def read(custom: dict[str, object] | None) -> object:
        return None if custom is None else custom.get(name)

    return read


def _tags(tags: Iterable[object] | None) -> tuple[str | None, ...]:
    return tuple(fold(tag) for tag in (tags or ()))


# ---------------------------------------------------------------------------------
# SQL


def compile_condition(condition: ast.Condition, context: Context) -> str:
    """SQL that is 1 for members and 0 for everyone else, over facts ``f``."""
    handler = _HANDLERS.get(type(condition))
    if handler is None:
        if type(condition) in PREDICATES:
            return predicate_sql(condition, context)
        raise TypeError(f"cannot compile a {type(condition).__name__}")
    return handler(condition, context)


def _compare_sql(compare: ast.Compare, context: Context) -> str:
    dialect = context.dialect
    normalized = normalize(compare, context.as_of, dialect)
    params = context.params
    operand = normalized.operand
    if "{path}" in operand:
        operand = operand.format(path=params.add(F.custom_path(compare.field)))
    primitive = normalized.primitive
    # average_order_value scales each value by the person's orders, below.
    if primitive.set_template is not None and compare.field != "average_order_value":
        values = params.as_set(normalized.values)
        if values is not None:
            return f"coalesce(({primitive.set_sql(operand, values, dialect)}), 0)"
    placeholders = [params.add(value) for value in normalized.values]
    if compare.field == "average_order_value" and compare.op != "is_set":
        # total_spent / orders_count compared exactly: total_spent OP value × orders_count.
        placeholders = [f"({p} * f.orders_count)" for p in placeholders]
        sql = primitive.sql(operand, placeholders, dialect)
        return f"coalesce((f.orders_count > 0 AND {sql}), 0)"
    return f"coalesce(({primitive.sql(operand, placeholders, dialect)}), 0)"


def _all(node: ast.All, context: Context) -> str:
    return joined([compile_condition(item, context) for item in node.items], "AND")


def _any(node: ast.Any, context: Context) -> str:
    return joined([compile_condition(item, context) for item in node.items], "OR")


def _not(node: ast.Not, context: Context) -> str:
    return f"(NOT {compile_condition(node.item, context)})"


def _constant(node: ast.Constant, context: Context) -> str:
    return "1" if node.value else "0"


def _in_segment(node: ast.InSegment, context: Context) -> str:
    segment = context.segments[node.name]
    return compile_condition(segment.criteria, context)


# Each handler takes the node of its type.
_HANDLERS: dict[type, Callable[[Any, Context], str]] = {
    ast.Compare: _compare_sql,
    ast.All: _all,
    ast.Any: _any,
    ast.Not: _not,
    ast.Constant: _constant,
    ast.InSegment: _in_segment,
}
