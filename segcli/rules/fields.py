"""The field registry: every field of a person (SPEC 3.2), its type, its SQL expression,
and where else it appears: exports, ``segment show --sort``, ``customer show``.

A name outside this registry is a validation error, never SQL. Expressions read the
per-person facts table (alias ``f``), built once per as-of date. A field's type also
says how its value is written: money exactly, dates as ISO-8601 UTC, booleans as
true/false, tags as a list, everything else as stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TEXT = "text"
MONEY = "money"
INTEGER = "integer"
DATE = "date"
BOOLEAN = "boolean"
TAGS = "tags"
CUSTOM = "custom"
LIFECYCLE = "lifecycle"


@dataclass(frozen=True)
class Field:
    """A field of a person: its name, type and SQL over the facts ``f``, and where it shows.

    ``export``, ``default_export`` and ``sort`` are the field's place (1, 2, ...) in the
    fields ``segment export --fields`` takes, those it writes by default, and those
    ``segment show --sort`` takes; None where it is not one of them.
    """

    name: str
    type: str
    sql: str
    # False for a field a segment's criteria cannot name (the person key, for exports).
    condition: bool = True
    export: int | None = None
    default_export: int | None = None
    sort: int | None = None
    # A row of ``customer show``'s table, in the registry's order.
    shown: bool = False


def _fields(*fields: Field) -> dict[str, Field]:
    return {field.name: field for field in fields}


# In the order of the segment-language reference, which customer show follows too.
PERSON_FIELDS: dict[str, Field] = _fields(
    # segcli's own key for a person, c:CUSTOMER_ID or e:EMAIL, as customer show takes it.
    Field("person_key", TEXT, "f.person_key", condition=False, export=1),
    Field("customer_id", TEXT, "f.customer_id", export=2, default_export=1, sort=6, shown=True),
    Field("email", TEXT, "f.email", export=3, default_export=2, sort=7, shown=True),
    Field("first_name", TEXT, "f.first_name", export=5, default_export=3, sort=9, shown=True),
    Field("last_name", TEXT, "f.last_name", export=6, default_export=4, sort=8, shown=True),
    Field("email_domain", TEXT, "f.email_domain", export=4),
    Field("created_at", DATE, "f.created_at", export=7, sort=5, shown=True),
    Field(
        "accepts_marketing", BOOLEAN, "f.accepts_marketing", export=8, default_export=9, shown=True
    ),
    Field("country", TEXT, "f.country", export=9, shown=True),
    Field("region", TEXT, "f.region", export=10, shown=True),
    Field("city", TEXT, "f.city", export=11, shown=True),
    Field("customer_group", TEXT, "f.customer_group", export=13, shown=True),
    Field("channel", TEXT, "f.channel", export=14, shown=True),
    Field("tags", TAGS, "f.tags", export=12, shown=True),
    Field(
        "orders_count", INTEGER, "f.orders_count", export=15, default_export=5, sort=2, shown=True
    ),
    Field("total_spent", MONEY, "f.total_spent", export=16, default_export=6, sort=1, shown=True),
    # Compared as total_spent against value × orders_count; no column holds it.
    Field("average_order_value", MONEY, "f.total_spent", shown=True),
    Field("first_order_at", DATE, "f.first_order_at", export=17, sort=4, shown=True),
    Field(
        "last_order_at", DATE, "f.last_order_at", export=18, default_export=7, sort=3, shown=True
    ),
    Field(
        "days_since_last_order", INTEGER, "f.days_since_last_order", export=19, sort=10, shown=True
    ),
    Field("lifecycle", LIFECYCLE, "f.lifecycle", export=20, default_export=8, shown=True),
)

# The names a segment's criteria may use (custom.NAME aside).
FIELDS: dict[str, Field] = {name: field for name, field in PERSON_FIELDS.items() if field.condition}


def _placed(place: str) -> tuple[str, ...]:
    """The names of the fields that have a ``place`` (export, sort, ...), in its order."""
    placed = {
        getattr(field, place): name
        for name, field in PERSON_FIELDS.items()
        if getattr(field, place) is not None
    }
    return tuple(placed[number] for number in sorted(placed))


# The fields segment export --fields takes besides custom.NAME, and those it writes when
# --fields is not given (as segment show --format does).
EXPORT_FIELDS = _placed("export")
DEFAULT_EXPORT_FIELDS = _placed("default_export")
# What segment show --sort takes.
SORTABLE = _placed("sort")
# The rows of customer show's table (custom fields and segments follow them).
SHOWN = tuple(name for name, field in PERSON_FIELDS.items() if field.shown)


def sort_sql(name: str, *, descending: bool = False) -> str:
    """ORDER BY SQL for the sortable field ``name``: unset values last, ties by person key."""
    if name not in SORTABLE:
        raise ValueError(f"{name!r} is not sortable")
    sql = PERSON_FIELDS[name].sql
    return f"{sql} IS NULL, {sql} {'DESC' if descending else 'ASC'}, f.person_key"


@dataclass(frozen=True)
class Stage:
    """A lifecycle stage (SPEC 3.5): the value of ``lifecycle``, and the built-in segment
    of that name with its title and description."""

    name: str
    title: str
    description: str


# In the order they are decided: a person is in the first whose rule holds. The facts'
# SQL decides them in this order too (a test checks its CASE against this list).
STAGES = (
    Stage("first-time-buyers", "First-time buyers", "Exactly 1 counted order."),
    Stage(
        "active-repeat",
        "Active repeat customers",
        "2+ counted orders, the last one less than A days ago "
        "(A: the store's average repeat-purchase time).",
    ),
    Stage(
        "at-risk-repeat",
        "At-risk repeat customers",
        "2+ counted orders, the last one between A and 3A days ago.",
    ),
    Stage(
        "inactive-repeat",
        "Inactive repeat customers",
        "2+ counted orders, the last one 3A or more days ago.",
    ),
    Stage("prospects", "Prospects", "No counted order, and accepts marketing."),
    Stage(
        "potential-customers",
        "Potential customers",
        "No counted order, does not accept marketing, and has an abandoned cart.",
    ),
    Stage("unengaged", "Unengaged", "Everyone in no other lifecycle stage."),
)
LIFECYCLE_STAGES = tuple(stage.name for stage in STAGES)

CUSTOM_PREFIX = "custom."
_CUSTOM_NAME = re.compile(r"[^\"\\\x00-\x1f]+")


def lookup(name: str) -> Field | None:
    """The field called ``name`` (``custom.NAME`` included), or None."""
    if name in FIELDS:
        return FIELDS[name]
    if name.startswith(CUSTOM_PREFIX):
        custom = custom_name(name)
        if custom and _CUSTOM_NAME.fullmatch(custom):
            return Field(name, CUSTOM, "f.custom")
    return None


def custom_name(name: str) -> str:
    """The name of ``custom.NAME`` as custom fields are stored: trimmed, lower-cased."""
    return name[len(CUSTOM_PREFIX) :].strip().lower()


def custom_path(name: str) -> str:
    """The JSON path of a custom field inside ``custom`` (bound as a parameter)."""
    return '$."' + custom_name(name) + '"'
