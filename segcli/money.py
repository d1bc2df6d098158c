"""Money kept exactly: stored as an integer number of ten-thousandths of the currency unit.

Four decimals is the most any supported file carries, so every stored amount is an exact
integer and sums and comparisons in SQLite never touch binary floating point.
"""

from __future__ import annotations

from decimal import Decimal

SCALE = 10_000
_SCALE_DECIMAL = Decimal(SCALE)


def units(amount: Decimal | int) -> int:
    """An exact amount (at most four decimals) as stored: in ten-thousandths."""
    return int(amount * SCALE)


def to_decimal(units: int) -> Decimal:
    """Return the stored amount as an exact Decimal."""
    return Decimal(units) / _SCALE_DECIMAL


def format_money(units: int | None) -> str:
    """Show an amount exactly, with at least two decimals (``12.5`` → ``12.50``)."""
    if units is None:
        return ""
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), SCALE)
    digits = f"{fraction:04d}".rstrip("0").ljust(2, "0")
    return f"{sign}{whole}.{digits}"
