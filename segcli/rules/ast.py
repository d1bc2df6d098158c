"""The segment tree: small frozen dataclasses, each with the position it came from."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from segcli.rules.dates import DateValue, Duration
from segcli.rules.problems import Pos

# A condition's value after validation: text, an exact number (a whole number for a
# field of whole numbers), a boolean, a date, a duration, or a tuple of those (for in /
# not_in / between / contains_any / contains_all).
OneValue = str | Decimal | int | bool | DateValue | Duration
Value = OneValue | tuple[OneValue, ...]


@dataclass(frozen=True)
class Compare:
    """``FIELD: {OP: VALUE}`` for one operator."""

    field: str
    op: str
    value: Value
    pos: Pos


@dataclass(frozen=True)
class All:
    items: tuple[Condition, ...]
    pos: Pos


@dataclass(frozen=True)
class Any:
    items: tuple[Condition, ...]
    pos: Pos


@dataclass(frozen=True)
class Not:
    item: Condition
    pos: Pos


@dataclass(frozen=True)
class Constant:
    """Always true or always false (the built-in ``everyone``)."""

    value: bool
    pos: Pos


@dataclass(frozen=True)
class Window:
    """The date window of a predicate: ``after`` and ``before`` as in SPEC 3.6."""

    after: DateValue | None = None
    before: DateValue | None = None


@dataclass(frozen=True)
class Count:
    """One comparison of a number in a predicate (``times``, ``rating``, ``total``)."""

    op: str
    value: Decimal | int | tuple[Decimal | int, ...]


@dataclass(frozen=True)
class Purchased:
    product: tuple[str, ...] = ()
    collection: tuple[str, ...] = ()
    product_type: tuple[str, ...] = ()
    vendor: tuple[str, ...] = ()
    window: Window = Window()
    times: tuple[Count, ...] = ()
    pos: Pos = Pos(0, 0)


@dataclass(frozen=True)
class Reviewed:
    product: tuple[str, ...] = ()
    rating: tuple[Count, ...] = ()
    window: Window = Window()
    pos: Pos = Pos(0, 0)


@dataclass(frozen=True)
class AbandonedCart:
    window: Window = Window()
    pos: Pos = Pos(0, 0)


@dataclass(frozen=True)
class HasOrder:
    status: tuple[str, ...] = ()
    total: tuple[Count, ...] = ()
    window: Window = Window()
    pos: Pos = Pos(0, 0)


@dataclass(frozen=True)
class InSegment:
    name: str
    pos: Pos


Condition = (
    Compare
    | All
    | Any
    | Not
    | Constant
    | Purchased
    | Reviewed
    | AbandonedCart
    | HasOrder
    | InSegment
)


@dataclass(frozen=True)
class Segment:
    """A segment: its name, title, description, condition and where it was defined."""

    name: str
    title: str
    description: str
    criteria: Condition
    source: str  # a file path, or "built-in"
    builtin: bool = False
