"""One currency per store: orders in another currency are converted with the merchant's rates.

A store's amounts are added together (a person's total spent), so they must all be in
one currency: the store's. An order whose ``currency`` is empty or the store's is kept as
it is. One in another currency is converted with a rate the merchant gives, ``--rate
USD=0.92`` (one USD is 0.92 of the store's currency) or a ``--rates`` file (a rate per
currency, or per currency and day), and rounded half away from zero to the store
currency's smallest unit (the cent; the yen for JPY). Without a rate the order is
rejected, with the currency and the fix in the reason. The order keeps its original
total, currency and the rate used.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from segcli.errors import BadValue, ImportRefused
from segcli.importer.reader import CsvFile
from segcli.money import SCALE, to_decimal

# ISO 4217 currencies whose smallest unit is not the hundredth (all others: 2 decimals).
_DECIMALS = {
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}

_CODE = re.compile(r"[A-Z]{3}")


def currency_code(text: str, where: str) -> str:
    """A three-letter ISO 4217 code, upper-cased (``eur`` is EUR)."""
    code = text.strip().upper()
    if not _CODE.fullmatch(code):
        raise BadValue(f"{where}: {text.strip()!r} is not a currency code such as EUR or USD")
    return code


def rate_value(text: str, where: str) -> Decimal:
    """A conversion rate: a positive decimal number."""
    try:
        rate = Decimal(text.strip())
    except InvalidOperation:
        rate = None
    if rate is None or not rate.is_finite() or rate <= 0:
        raise BadValue(f"{where}: {text.strip()!r} is not a rate (a positive number such as 0.92)")
    return rate


def smallest_unit(currency: str | None) -> int:
    """The currency's smallest unit in ten-thousandths (100 for the cent, 10,000 for a yen)."""
    return 10 ** (4 - _DECIMALS.get(currency or "", 2))


@dataclass
class Rates:
    """The merchant's rates: one per currency (``fixed``), or dated ones (``dated``: for
    each currency its days, sorted, and the rate from each day on)."""

    fixed: dict[str, Decimal] = field(default_factory=dict)
    dated: dict[str, tuple[list[str], list[Decimal]]] = field(default_factory=dict)
    # Where the rates come from, for messages: "--rate", "rates.csv".
    sources: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.fixed or self.dated)

    def with_fixed(self, fixed: dict[str, Decimal]) -> Rates:
        """These rates and those given one by one (``--rate``); a currency given by both
        is an error."""
        both = sorted(set(fixed) & (set(self.fixed) | set(self.dated)))
        if both:
            raise BadValue(f"{', '.join(both)}: a rate is given by --rate and by --rates")
        self.fixed.update(fixed)
        self.sources.update(dict.fromkeys(fixed, "--rate"))
        return self

    def rate(self, currency: str, day: str) -> Decimal | None:
        """The rate of ``currency`` on ``day`` (YYYY-MM-DD): the fixed one, or the one of the
        latest date on or before the day."""
        if currency in self.fixed:
            return self.fixed[currency]
        if currency not in self.dated:
            return None
        days, rates = self.dated[currency]
        index = bisect.bisect_right(days, day) - 1
        return rates[index] if index >= 0 else None


def parse_rate_options(options: tuple[str, ...]) -> dict[str, Decimal]:
    """``--rate USD=0.92`` options as {currency: rate}; a currency given twice is an error."""
    rates: dict[str, Decimal] = {}
    for option in options:
        currency, equals, rate = option.partition("=")
        if not equals:
            raise BadValue(f"{option!r} is not CURRENCY=RATE (such as USD=0.92)")
        code = currency_code(currency, "--rate")
        if code in rates:
            raise BadValue(f"--rate gives {code} twice")
        rates[code] = rate_value(rate, f"--rate {code}")
    return rates


def read_rates_file(path: Path) -> Rates:
    """A rates file: CSV with ``currency`` and ``rate``, and optionally ``date`` (from
    that day on, until the next date of the same currency)."""
    rates = Rates()
    dated: dict[str, dict[str, Decimal]] = {}
    with CsvFile(path) as source:
        header = [name.strip().lower() for name in source.header]
        missing = [name for name in ("currency", "rate") if name not in header]
        if missing:
            raise ImportRefused(
                path,
                f"is not a rates file: it has no column {' or '.join(missing)}",
                hint="a rates file has the columns currency,rate (and date, for rates that "
                "change: each from its date on)",
            )
        position = {
            name: header.index(name) for name in ("currency", "rate", "date") if name in header
        }
        for record in source.records():
            cells = record.fields + [""] * (len(header) - len(record.fields))
            try:
                code = currency_code(cells[position["currency"]], "currency")
                rate = rate_value(cells[position["rate"]], "rate")
                day = _day(cells[position["date"]]) if "date" in position else None
            except BadValue as error:
                raise ImportRefused(path, error.reason, line=record.line) from None
            if day is None:
                if code in rates.fixed or code in dated:
                    raise ImportRefused(
                        path, f"{code} has more than one rate and no date", line=record.line
                    )
                rates.fixed[code] = rate
            else:
                if code in rates.fixed or day in dated.get(code, {}):
                    raise ImportRefused(path, f"{code} has two rates for {day}", line=record.line)
                dated.setdefault(code, {})[day] = rate
            rates.sources[code] = str(path)
    for code, by_day in dated.items():
        days = sorted(by_day)
        rates.dated[code] = (days, [by_day[day] for day in days])
    return rates


def _day(text: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise BadValue(f"date: {text!r} is not a date (YYYY-MM-DD)") from None


@dataclass
class Conversion:
    """How an import turns each order's total into the store's currency."""

    store_currency: str | None
    rates: Rates = field(default_factory=Rates)
    # The store's currency when this file gives it (the store had none).
    adopted: str | None = None
    # Orders converted, by currency.
    converted: dict[str, int] = field(default_factory=dict)

    def foreign(self, currency: str | None) -> bool:
        """Whether an order in ``currency`` is in another currency than the store's."""
        return (
            currency is not None
            and self.store_currency is not None
            and (currency != self.store_currency)
        )

    def convert(self, total: int, currency: str, created_at: str) -> tuple[int, str]:
        """The total in the store's currency, and the rate used (as text)."""
        day = created_at[:10]
        rate = self.rates.rate(currency, day)
        if rate is None:
            raise BadValue(self._no_rate(currency, day))
        unit = Decimal(smallest_unit(self.store_currency)) / SCALE
        converted = (to_decimal(total) * rate).quantize(unit, rounding=ROUND_HALF_UP)
        self.converted[currency] = self.converted.get(currency, 0) + 1
        return int(converted * SCALE), format(rate, "f")

    def _no_rate(self, currency: str, day: str) -> str:
        store = self.store_currency
        if currency in self.rates.dated:
            first = self.rates.dated[currency][0][0]
            return (
                f"currency: the order is in {currency}, not the store's {store}, and "
                f"{self.rates.sources[currency]} has no rate for {currency} on or before "
                f"{day} (its first is from {first})"
            )
        return (
            f"currency: the order is in {currency}, not the store's {store}, and no rate "
            f"was given for {currency}: add --rate {currency}=RATE (what one {currency} is in "
            f"{store}) or a line to a --rates file"
        )
