"""The field registry: every field of a person (SPEC 3.2), its type and its SQL expression.

A name outside this registry is a validation error, never SQL. Expressions read the
per-person facts table (alias ``f``), built once per as-of date.
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
    name: str
    type: str
    sql: str
    meaning: str


FIELDS: dict[str, Field] = {
    field.name: field
    for field in (
        Field("customer_id", TEXT, "f.customer_id", "the store's customer id"),
        Field("email", TEXT, "f.email", "email address"),
        Field("first_name", TEXT, "f.first_name", "first name"),
        Field("last_name", TEXT, "f.last_name", "last name"),
        Field("email_domain", TEXT, "f.email_domain", "the part of the email after @"),
        Field("created_at", DATE, "f.created_at", "when the person was first known"),
        Field("accepts_marketing", BOOLEAN, "f.accepts_marketing", "email-marketing consent"),
        Field("country", TEXT, "f.country", "country"),
        Field("region", TEXT, "f.region", "region, state or province"),
        Field("city", TEXT, "f.city", "city"),
        Field("customer_group", TEXT, "f.customer_group", "customer group"),
        Field("channel", TEXT, "f.channel", "sales channel"),
        Field("tags", TAGS, "f.tags", "tags of the customer row"),
        Field("orders_count", INTEGER, "f.orders_count", "number of counted orders"),
        Field("total_spent", MONEY, "f.total_spent", "sum of counted orders' totals"),
        Field(
            "average_order_value",
            MONEY,
            "f.total_spent",  # compared as total_spent against value × orders_count
            "total_spent / orders_count",
        ),
        Field("first_order_at", DATE, "f.first_order_at", "date of the first counted order"),
        Field("last_order_at", DATE, "f.last_order_at", "date of the last counted order"),
        Field(
            "days_since_last_order",
            INTEGER,
            "f.days_since_last_order",
            "whole days from the last counted order to the as-of date",
        ),
        Field("lifecycle", LIFECYCLE, "f.lifecycle", "lifecycle stage"),
    )
}

CUSTOM_PREFIX = "custom."
_CUSTOM_NAME = re.compile(r"[^\"\\\x00-\x1f]+")


def lookup(name: str) -> Field | None:
    """The field called ``name`` (``custom.NAME`` included), or None."""
    if name in FIELDS:
        return FIELDS[name]
    if name.startswith(CUSTOM_PREFIX):
        custom = name[len(CUSTOM_PREFIX) :].strip().lower()
        if custom and _CUSTOM_NAME.fullmatch(custom):
            return Field(name, CUSTOM, "f.custom", f"custom field {custom!r}")
    return None


def custom_path(name: str) -> str:
    """The JSON path of a custom field inside ``custom`` (bound as a parameter)."""
    return '$."' + name[len(CUSTOM_PREFIX) :].strip().lower() + '"'
