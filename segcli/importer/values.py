"""Value parsing at the door: every cell becomes its stored, normalised form or a BadValue.

Dates become ``YYYY-MM-DD HH:MM:SS[.ffffff]`` in UTC (text that sorts in time order and
that SQLite's date functions read), money an integer of ten-thousandths (see money.py),
booleans 0/1, emails trimmed and lower-cased.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation

from segcli.errors import BadValue
from segcli.importer.dates import DateReader
from segcli.money import SCALE

# Larger amounts are typing mistakes, and the limit keeps sums of millions of orders
# inside SQLite's 64-bit integers.
MONEY_LIMIT = Decimal(10) ** 12
QUANTITY_LIMIT = 10**9

TRUE_WORDS = frozenset({"true", "yes", "1", "y", "t"})
FALSE_WORDS = frozenset({"false", "no", "0", "n", "f"})

# Orders with these statuses are not counted as purchases (SPEC 3.2).
UNCOUNTED_STATUSES = frozenset({"cancelled", "canceled", "refunded", "voided", "failed"})


def text(raw: str) -> str | None:
    """Trimmed text; empty means unset."""
    value = raw.strip()
    return value or None


# A whole number written as a decimal, as spreadsheets and data tools write ids: 17850.0
_DECIMAL_ID = re.compile(r"[0-9]+\.0+")


def identifier(raw: str) -> str | None:
    """An id as text, trimmed; ``17850.0`` is the id ``17850`` (a number saved as a decimal)."""
    value = raw.strip()
    if "." in value and _DECIMAL_ID.fullmatch(value):
        value = value.partition(".")[0]
    return value or None


# Whitespace or control characters never belong in an address.
_NOT_IN_EMAIL = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


def email(raw: str) -> str | None:
    """An email trimmed and lower-cased, so that the same address always matches."""
    value = raw.strip().lower()
    if not value:
        return None
    local, at, domain = value.partition("@")
    if not at or not local or not domain or "@" in domain or _NOT_IN_EMAIL.search(value):
        raise BadValue(f"{raw.strip()!r} is not an email address")
    return value


# Dates are read by a DateReader; this one is for files whose day/month order is not given.
timestamp = DateReader()


# A decimal number as files write it: ASCII digits, a dot, an optional exponent. Decimal()
# alone would also take Python's "1_000", "NaN" and digits of other scripts.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _decimal(raw: str, what: str) -> Decimal | None:
    value = raw.strip()
    if not value:
        return None
    if not _NUMBER.fullmatch(value):
        hint = " (use a dot for decimals and no thousands separators)" if "," in value else ""
        raise BadValue(f"{value!r} is not {what}{hint}")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise BadValue(f"{value!r} is not {what}") from None


# The plain form nearly every file writes (12, 12.5, 12.3456): read without Decimal.
_PLAIN_AMOUNT = re.compile(r"([0-9]{1,12})(?:\.([0-9]{0,4}))?")


def money(raw: str) -> int | None:
    """A decimal amount with up to four decimals, as an exact integer of ten-thousandths."""
    plain = _PLAIN_AMOUNT.fullmatch(raw)
    if plain is not None:
        whole, fraction = plain.groups()
        return int(whole) * SCALE + (int(fraction.ljust(4, "0")) if fraction else 0)
    number = _decimal(raw, "an amount of money")
    if number is None:
        return None
    if abs(number) >= MONEY_LIMIT:
        raise BadValue(f"{raw.strip()!r} is too large for an amount of money")
    units = number * SCALE
    if units != units.to_integral_value():
        raise BadValue(f"{raw.strip()!r} has more than four decimals")
    return int(units)


_PLAIN_INTEGER = re.compile(r"[0-9]{1,9}")


def integer(raw: str) -> int | None:
    """A whole number (``2`` or ``2.0``; ``2.5`` is rejected)."""
    if _PLAIN_INTEGER.fullmatch(raw):
        return int(raw)
    number = _decimal(raw, "a whole number")
    if number is None:
        return None
    if number != number.to_integral_value():
        raise BadValue(f"{raw.strip()!r} is not a whole number")
    if abs(number) >= QUANTITY_LIMIT:
        raise BadValue(f"{raw.strip()!r} is too large")
    return int(number)


def boolean(raw: str) -> int | None:
    """true/false, yes/no, 1/0, y/n, t/f in any case; empty means unknown."""
    value = raw.strip().lower()
    if not value:
        return None
    if value in TRUE_WORDS:
        return 1
    if value in FALSE_WORDS:
        return 0
    raise BadValue(f"{raw.strip()!r} is not a yes/no value (use true/false, yes/no or 1/0)")


def _split(raw: str, separator: str) -> list[str]:
    seen: dict[str, None] = {}
    for part in raw.split(separator):
        part = part.strip()
        if part:
            seen.setdefault(part, None)
    return list(seen)


def tags(raw: str) -> str:
    """A comma-separated list, trimmed, as a JSON array (never unset: no tags is ``[]``)."""
    return json.dumps(_split(raw, ","), ensure_ascii=False)


def collections(raw: str) -> str:
    """A ``;``-separated list of collection names, as a JSON array."""
    return json.dumps(_split(raw, ";"), ensure_ascii=False)


def status(raw: str) -> str | None:
    """An order status, trimmed and lower-cased so that ``Cancelled`` and ``cancelled`` agree."""
    value = raw.strip().lower()
    return value or None


def currency(raw: str) -> str | None:
    value = raw.strip().upper()
    return value or None


def subscription_status(raw: str) -> str:
    """``subscribed`` (the default when empty) or ``unsubscribed``."""
    value = raw.strip().lower()
    if not value:
        return "subscribed"
    if value in ("subscribed", "unsubscribed"):
        return value
    raise BadValue(f"{raw.strip()!r} is not a subscription status (subscribed or unsubscribed)")


def rating(raw: str) -> int | None:
    value = integer(raw)
    if value is not None and not 1 <= value <= 5:
        raise BadValue(f"{raw.strip()!r} is not a rating from 1 to 5")
    return value


def is_counted(status_value: str | None) -> int:
    """1 when an order with this status counts as a purchase."""
    return 0 if status_value in UNCOUNTED_STATUSES else 1
