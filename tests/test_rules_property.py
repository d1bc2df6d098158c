"""Random stores and random segments: the SQL members equal the reference evaluator's.

Each example writes a small store as native CSV files, imports it through segcli, reads the
stored records back as plain dicts, and checks random condition trees (every field type,
every operator, every predicate, nested all/any/not) with values on the data's edges: a
stored total, one ten-thousandth either side, the days of stored dates and the days next
to them, date-times equal to stored instants.
"""

from __future__ import annotations

import csv
import json
import random
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from reference import Reference, months_back, read_records

from segcli.importer.load import ImportOptions, import_file
from segcli.rules import ast
from segcli.rules.compile import LONG_LIST
from segcli.rules.parse import LIFECYCLE_STAGES, parse_criteria_text
from segcli.rules.problems import Pos
from segcli.rules.validate import walk
from segcli.segments.builtins import BUILTINS
from segcli.segments.evaluate import Evaluation, Figures, open_evaluation
from segcli.store.db import Store, open_store
from tests.conftest import ENGINES
from tests.helpers import DATE_FIELDS, TEXT_FIELDS

if TYPE_CHECKING:
    from segcli.segments.evaluate import AnyEvaluation

# Days around the turns of a year and of months, a leap day among them, so that `1 month
# ago` from 2024-03-31 (2024-02-29) and day boundaries meet stored dates.
DAYS = [
    date(2023, 12, 31),
    date(2024, 1, 1),
    date(2024, 1, 2),
    date(2024, 1, 3),
    date(2024, 1, 31),
    date(2024, 2, 28),
    date(2024, 2, 29),
    date(2024, 3, 1),
    date(2024, 3, 30),
    date(2024, 3, 31),
]
AS_OF_DATES = [
    date(2023, 12, 31),
    date(2024, 1, 1),
    date(2024, 1, 2),
    date(2024, 1, 31),
    date(2024, 2, 29),
    date(2024, 3, 1),
    date(2024, 3, 30),
    date(2024, 3, 31),
    date(2024, 4, 1),
    date(2024, 12, 31),
]
TIMES = ["", "T00:00:00", "T12:30:00", "T23:59:59", "T01:00:00+02:00", "T22:30:00-03:00"]
AMOUNTS = ["10", "10.5", "0.0001", "-5.25", "99.9999", "0", "33.3333", "12.3456", "-0.0001"]
STATUSES = ["", "paid", "Cancelled", "REFUNDED", "voided", "failed", "pending", "canceled"]
COLLECTIONS = ["Summer", "summer", "Winter", "Sale", ""]
PRODUCT_TYPES = ["Shoes", "shoes", "Hats", ""]
VENDORS = ["Acme", "ACME", "Zed", ""]
NAMES = ["Ann", "ann", "Ünal", "STRASSE", "Straße", "Bob", "", "O'Brien", "50%_off"]
COUNTRIES = ["NO", "no", "DE", "", "yes", "on"]
TAG_LISTS = ["", "VIP", "vip, Gold", "gold,wholesale", "Gold, VIP, new"]
SIZES = ["", "10", "10.0", "9.5", "abc", "ABC", "-3", "1e1"]
PRODUCTS = [f"P{n}" for n in range(1, 5)]
# Product titles, in products.csv and on line items (the same title in other cases too, and
# one no product has): `product: NAME` matches either, with or without the line's ids.
TITLES = ["Teapot", "TEAPOT", "Blue Mug", "Odd Lamp", ""]

timestamps = st.builds(
    lambda day, clock: day.isoformat() + clock, st.sampled_from(DAYS), st.sampled_from(TIMES)
)
maybe_timestamp = st.one_of(st.just(""), timestamps)


@st.composite
def stores(draw):
    """CSV rows of every kind for a handful of people (some with no customer row, some
    with nothing but a subscription, some with no orders)."""
    count = draw(st.integers(1, 8))
    people = []
    for n in range(count):
        kind = draw(st.sampled_from(["id+email", "id", "email"]))
        customer_id = f"C{n}" if kind != "email" else ""
        email = f"p{n}@Shop{n % 3}.example" if kind != "id" else ""
        people.append((customer_id, email))

    def ref():
        customer_id, email = draw(st.sampled_from(people))
        if customer_id and email and draw(st.booleans()):
            return customer_id, email.upper()
        return customer_id, email

    files: dict[str, list[dict]] = {kind: [] for kind in ("customers", "products", "orders")}
    for customer_id, email in people:
        if not draw(st.booleans()):
            continue
        files["customers"].append(
            {
                "customer_id": customer_id,
                "email": email,
                "first_name": draw(st.sampled_from(NAMES)),
                "last_name": draw(st.sampled_from(NAMES)),
                "created_at": draw(maybe_timestamp),
                "accepts_marketing": draw(st.sampled_from(["yes", "no", "", "TRUE", "f"])),
                "country": draw(st.sampled_from(COUNTRIES)),
                "city": draw(st.sampled_from(["Oslo", "oslo", ""])),
                "tags": draw(st.sampled_from(TAG_LISTS)),
                "customer_group": draw(st.sampled_from(["Wholesale", ""])),
                "Size": draw(st.sampled_from(SIZES)),
                "Note": draw(st.sampled_from(["", "gift", "Gift wrap"])),
            }
        )
    for n, product in enumerate(PRODUCTS):
        files["products"].append(
            {
                "product_id": product,
                "sku": f"S{n + 1}",
                "collections": draw(st.sampled_from(["", "Summer", "Summer;Sale", "winter"])),
                "product_type": draw(st.sampled_from(PRODUCT_TYPES)),
                "vendor": draw(st.sampled_from(VENDORS)),
                "title": draw(st.sampled_from(TITLES)),
            }
        )
    files["items"] = []
    for n in range(draw(st.integers(0, 12))):
        customer_id, email = ref()
        order_id = f"O{n}"
        files["orders"].append(
            {
                "order_id": order_id,
                "customer_id": customer_id,
                "email": email,
                "created_at": draw(timestamps),
                "total": draw(st.sampled_from(AMOUNTS)),
                "status": draw(st.sampled_from(STATUSES)),
            }
        )
        for _ in range(draw(st.integers(0, 2))):
            product = draw(st.sampled_from([*PRODUCTS, "P9"]))
            # A line names its product by id, by SKU, or (as Shopify's lines do) by its
            # title alone, which then links it to the products of that title.
            named_by = draw(st.sampled_from(["id", "sku", "title"]))
            if product == "P9" and named_by == "sku":
                named_by = "id"
            title = draw(st.sampled_from(TITLES if named_by != "title" else TITLES[:-1]))
            files["items"].append(
                {
                    "order_id": order_id,
                    "product_id": product if named_by == "id" else "",
                    "sku": f"S{product[1:]}" if named_by == "sku" else "",
                    "title": title,
                    "collection": draw(st.sampled_from(COLLECTIONS)),
                    "quantity": "1",
                    "price": "1",
                }
            )
    files["reviews"] = []
    for n in range(draw(st.integers(0, 4))):
        customer_id, email = ref()
        files["reviews"].append(
            {
                "review_id": f"R{n}",
                "customer_id": customer_id,
                "email": email,
                "product_id": draw(st.sampled_from(PRODUCTS)),
                "rating": str(draw(st.integers(1, 5))),
                "created_at": draw(maybe_timestamp),
            }
        )
    files["subscribers"] = []
    emails = [email for _, email in people if email] + ["extra@example.com"]
    for _ in range(draw(st.integers(0, 5))):
        files["subscribers"].append(
            {
                "email": draw(st.sampled_from(emails)),
                # Few distinct dates, so that ties are common.
                "subscribed_at": draw(st.sampled_from(["", "2024-01-02", "2024-02-29T10:00:00"])),
                "status": draw(st.sampled_from(["subscribed", "unsubscribed", ""])),
            }
        )
    files["carts"] = []
    for n in range(draw(st.integers(0, 3))):
        customer_id, email = ref()
        files["carts"].append(
            {
                "cart_id": f"K{n}",
                "customer_id": customer_id,
                "email": email,
                "created_at": draw(timestamps),
                "total": draw(st.sampled_from(AMOUNTS)),
            }
        )
    return files


def load(files: dict[str, list[dict]], path: Path | None = None) -> Store:
    """Import the files through segcli into a fresh store: in memory, or at ``path``."""
    store = open_store(":memory:", in_memory=True) if path is None else open_store(path)
    with tempfile.TemporaryDirectory() as directory:
        for kind in ("customers", "products", "orders", "items", "reviews", "subscribers", "carts"):
            rows = files[kind]
            if not rows:
                continue
            path = Path(directory) / f"{kind}.csv"
            with path.open("w", newline="", encoding="utf-8") as out:
                writer = csv.DictWriter(out, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
            result = import_file(store, kind, path, ImportOptions())
            assert result.rejected == 0, (kind, rows, result.rejects)
    return store


# ---------------------------------------------------------------------------------
# Random conditions, written as YAML the way a merchant would


def q(text: str) -> str:
    """A YAML double-quoted string (JSON's escapes are YAML's)."""
    return json.dumps(text)


def money_text(units: int | Fraction) -> str:
    return format(Decimal(int(units)) / 10_000, "f")


class Conditions:
    """Draws conditions whose values sit on the edges of one store's data."""

    def __init__(self, rng: random.Random, reference: Reference):
        # A seeded Random rather than Hypothesis draws: hundreds of conditions per store
        # stay cheap, and the failing criteria are printed whole anyway.
        self.rng = rng
        self.reference = reference
        self.facts = list(reference.facts.values())
        self.as_of = reference.as_of

    def pick(self, options):
        return self.rng.choice(list(options))

    def coin(self) -> bool:
        return self.rng.random() < 0.5

    def stored(self, name: str) -> list:
        return [facts[name] for facts in self.facts if facts[name] is not None]

    # -- values -------------------------------------------------------------------

    def text(self, name: str, *, non_empty: bool = False) -> str:
        stored = [str(v) for v in self.stored(name)]
        choices = [*stored, "NO", "straße", "x", "%", "_", "O'Brien"]
        value = self.pick(choices)
        value = self.pick([value, value.upper(), value.lower(), value.title()])
        if stored and self.coin():
            # a prefix, suffix or middle of a stored value
            whole = self.pick(stored)
            cut = self.rng.randint(0, len(whole))
            value = self.pick([whole[:cut], whole[cut:], whole[cut : cut + 2]])
        if non_empty and not value:
            value = "a"
        return q(value)

    def money(self, name: str) -> str:
        if name == "average_order_value":
            units = [v for v in self.stored(name)] + [Fraction(0)]
            unit = self.pick(units)
            base = self.pick([int(unit), int(unit) + (unit > int(unit))])
        else:
            base = self.pick([*self.stored(name), 0, 100_000])
        return money_text(base + self.pick([-1, 0, 0, 1]))

    def integer(self, name: str) -> str:
        return str(self.pick([*self.stored(name), 0, 1, 2]) + self.pick([-1, 0, 1]))

    def day(self) -> date:
        """A day on the edge of the data: a stored day, the day before or after, as-of."""
        days = [*self._stored_days(), self.as_of]
        return self.pick(days) + timedelta(days=self.pick([-1, 0, 0, 1]))

    def day_value(self) -> str:
        day = self.day()
        ago = (self.as_of - day).days
        spellings = [day.isoformat(), day.isoformat(), "today", "yesterday", "1 month ago"]
        if ago >= 0:
            spellings += [f"{ago} days ago", f"-{ago}d", f"{ago} day ago"]
            if ago % 7 == 0:
                spellings += [f"{ago // 7} weeks ago", f"-{ago // 7}w"]
            for months in (1, 2, 3, 12):
                if months_back(self.as_of, months) == day:
                    spellings += [f"{months} months ago", f"-{months}m"]
                    if months == 12:
                        spellings += ["1 year ago", "-1y"]
        return q(self.pick(spellings))

    def instant_value(self) -> str:
        stored = self._stored_instants() or ["2024-01-02 12:30:00"]
        text = self.pick(stored).replace(" ", "T")
        return q(self.pick([text + "Z", text + "+00:00", text, text[:10] + "T23:59:59+01:00"]))

    def date_value(self) -> str:
        return self.day_value() if self.coin() else self.instant_value()

    def duration(self) -> str:
        """A span whose start falls on a stored day (or next to one)."""
        ago = max(0, (self.as_of - self.day()).days)
        spellings = [f"{ago} days", f"{ago}d", f"-{ago}d", f"{ago} Days", "1 week", "1 month"]
        if ago % 7 == 0:
            spellings.append(f"{ago // 7} weeks")
        for months in (1, 2, 3):
            if months_back(self.as_of, months) == self.as_of - timedelta(days=ago):
                spellings += [f"{months} months", f"{months}m"]
        return q(self.pick(spellings))

    def _stored_instants(self) -> list[str]:
        found = [f[name] for f in self.facts for name in DATE_FIELDS if f[name]]
        for f in self.facts:
            found += [o["created_at"] for o in f["orders"]]
            found += [k["created_at"] for k in f["carts"]]
            found += [r["created_at"] for r in f["reviews"] if r["created_at"]]
        return found

    def _stored_days(self) -> list[date]:
        return [date.fromisoformat(text[:10]) for text in self._stored_instants()]

    def window(self, entries: list[str]) -> None:
        if self.coin():
            entries.append(f"after: {self.date_value()}")
        if self.coin():
            entries.append(f"before: {self.date_value()}")

    def listed(self, value, filler) -> str:
        """A YAML list of two drawn values; now and then a long one: drawn values among
        more fillers than LONG_LIST, a list that reaches SQL as one JSON parameter."""
        values = [value(), value()]
        if self.rng.random() < 0.2:
            values += [value() for _ in range(6)]
            values += [filler(n) for n in range(LONG_LIST + self.pick([-7, 0, 1, 5]))]
            self.rng.shuffle(values)
        return "[" + ", ".join(values) + "]"

    def counts(self, value, *, scalar_ok: bool = True) -> str:
        if scalar_ok and self.coin():
            return value()
        op = self.pick(["eq", "ne", "gt", "gte", "lt", "lte", "between", "in", "not_in", ">="])
        if op == "between":
            return f"{{between: [{value()}, {value()}]}}"
        if op in ("in", "not_in"):
            return f"{{{op}: [{value()}, {value()}]}}"
        return f"{{{q(op) if op == '>=' else op}: {value()}}}"

    # -- one entry of a mapping: FIELD: ... or PREDICATE: ... -----------------------

    def compare(self) -> tuple[str, str]:
        kind = self.pick(
            ["text", "money", "integer", "date", "boolean", "tags", "custom", "lifecycle"]
        )
        return getattr(self, f"_{kind}")()

    def _with_op(self, name: str, op: str, value: str) -> tuple[str, str]:
        key = q(op) if op in ("=", "!=", ">", ">=", "<", "<=") else op
        return name, f"{name}: {{{key}: {value}}}"

    def _text(self):
        name = self.pick(TEXT_FIELDS)
        op = self.pick(
            ["eq", "ne", "in", "not_in", "contains", "not_contains", "starts_with", "ends_with"]
            + ["is_set", "=", "!=", "scalar", "list"]
        )
        if op == "is_set":
            return self._with_op(name, op, self.pick(["true", "false"]))
        if op in ("in", "not_in", "list"):
            values = self.listed(lambda: self.text(name), lambda n: q(f"{name}-{n}"))
            return (name, f"{name}: {values}") if op == "list" else self._with_op(name, op, values)
        substring = op in ("contains", "not_contains", "starts_with", "ends_with")
        value = self.text(name, non_empty=substring)
        return (name, f"{name}: {value}") if op == "scalar" else self._with_op(name, op, value)

    def _money(self):
        name = self.pick(["total_spent", "average_order_value"])
        ops = ["eq", "ne", "gt", "gte", "lt", "lte", "between", "in", "not_in", ">", "<="]
        ops += ["scalar", "list", "is_set"]
        return self._number(name, self.pick(ops), lambda: self.money(name))

    def _integer(self):
        name = self.pick(["orders_count", "days_since_last_order"])
        ops = ["eq", "ne", "gt", "gte", "lt", "lte", "between", "in", "not_in", "is_set"]
        ops += ["=", ">=", "<", "!=", "scalar", "list"]
        return self._number(name, self.pick(ops), lambda: self.integer(name))

    def _number(self, name, op, value):
        if op == "is_set":
            return self._with_op(name, op, self.pick(["true", "false"]))
        if op == "between":
            return self._with_op(name, op, f"[{value()}, {value()}]")
        values = self.listed(value, lambda n: str(1_000_000 + n))
        if op in ("in", "not_in"):
            return self._with_op(name, op, values)
        if op == "scalar":
            return name, f"{name}: {value()}"
        if op == "list":
            return name, f"{name}: {values}"
        return self._with_op(name, op, value())

    def _date(self):
        name = self.pick(DATE_FIELDS)
        op = self.pick(
            ["before", "after", "on", "lt", "gt", "eq", "lte", "gte", "ne", "between"]
            + ["within", "within", "is_set", "<", ">=", "=", "scalar"]
        )
        if op == "scalar":
            return name, f"{name}: {self.date_value()}"
        if op == "is_set":
            return self._with_op(name, op, self.pick(["true", "false"]))
        if op == "within":
            return self._with_op(name, op, self.duration())
        if op == "between":
            return self._with_op(name, op, f"[{self.date_value()}, {self.date_value()}]")
        return self._with_op(name, op, self.date_value())

    def _boolean(self):
        name = "accepts_marketing"
        op = self.pick(["eq", "ne", "is_set", "scalar", "="])
        value = self.pick(["true", "false", "TRUE", "False"])
        return (name, f"{name}: {value}") if op == "scalar" else self._with_op(name, op, value)

    def _tag(self) -> str:
        tag = self.pick(["vip", "VIP", "gold", "Wholesale", "new", "none"])
        return q(tag)

    def _tags(self):
        name = "tags"
        op = self.pick(
            ["contains", "not_contains", "contains_any", "contains_all", "eq", "ne", "is_set"]
            + ["scalar", "list"]
        )
        if op == "is_set":
            return self._with_op(name, op, self.pick(["true", "false"]))
        if op in ("contains_any", "contains_all", "list"):
            values = "[" + ", ".join(self._tag() for _ in range(self.pick([1, 2, 3]))) + "]"
            if op != "contains_all" and self.coin():
                values = self.listed(self._tag, lambda n: q(f"tag-{n}"))
            return (name, f"tags: {values}") if op == "list" else self._with_op(name, op, values)
        value = self._tag()
        return (name, f"tags: {value}") if op == "scalar" else self._with_op(name, op, value)

    def _custom_value(self) -> str:
        value = self.pick(["10", "10.00", "9.5", "9.4999", "abc", "ABC", "-3", "Gift", "gift w"])
        return self.pick([value, q(value)]) if value[0].isdigit() or value[0] == "-" else q(value)

    def _custom(self):
        name = self.pick(["custom.size", "custom.Size", "custom.note", "custom.missing"])
        op = self.pick(
            ["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between", "contains"]
            + ["not_contains", "starts_with", "ends_with", "is_set", "scalar", "list"]
        )
        if op == "is_set":
            return self._with_op(name, op, self.pick(["true", "false"]))
        # Fillers that are all numbers or all text: a list of text alone is compared as
        # text in SQLite, one with a number through segcli_compare().
        numbers = self.coin()
        values = self.listed(
            self._custom_value, lambda n: str(100 + n) if numbers else q(f"filler {n}")
        )
        if op == "between":
            return self._with_op(name, op, f"[{self._custom_value()}, {self._custom_value()}]")
        if op in ("in", "not_in"):
            return self._with_op(name, op, values)
        if op == "list":
            return name, f"{name}: {values}"
        if op == "scalar":
            return name, f"{name}: {self._custom_value()}"
        return self._with_op(name, op, self._custom_value())

    def _lifecycle(self):
        def stage():
            name = self.pick(LIFECYCLE_STAGES)
            return self.pick([name, name.upper()])

        op = self.pick(["eq", "ne", "in", "not_in", "is_set", "scalar", "list"])
        if op == "is_set":
            return self._with_op("lifecycle", op, self.pick(["true", "false"]))
        if op in ("in", "not_in", "list"):
            values = f"[{stage()}, {stage()}]"
            if op == "list":
                return "lifecycle", f"lifecycle: {values}"
            return self._with_op("lifecycle", op, values)
        if op == "scalar":
            return "lifecycle", f"lifecycle: {stage()}"
        return self._with_op("lifecycle", op, stage())

    def predicate(self, *, saved: bool = True) -> tuple[str, str]:
        kinds = ["purchased", "reviewed", "abandoned_cart", "has_order", "in_segment"]
        word = self.pick(kinds if saved else kinds[:-1])
        entries: list[str] = []
        if word == "in_segment":
            names = [n for n in BUILTINS] + ["saved"]
            return word, f"in_segment: {self.pick(names)}"
        if self.rng.random() < 0.15:
            # `purchased: true`, `abandoned_cart: false`, ...: has (or has not) any.
            return word, f"{word}: {self.pick(['true', 'false'])}"
        if word == "purchased":
            if self.coin():
                products = [*PRODUCTS, "p2", "S3", "s1", "P9", "teapot", "Blue mug", "Odd Lamp"]
                entries.append(f"product: {self._names(products)}")
            if self.coin():
                entries.append(f"collection: {self._names(['Summer', 'SALE', 'winter', 'x'])}")
            if self.coin():
                entries.append(f"product_type: {self._names(['shoes', 'HATS'])}")
            if self.coin():
                entries.append(f"vendor: {self._names(['acme', 'Zed'])}")
            self.window(entries)
            if self.coin():
                entries.append(f"times: {self.counts(lambda: str(self.pick([0, 1, 2, 3])))}")
        elif word == "reviewed":
            if self.coin():
                entries.append(f"product: {self._names([*PRODUCTS, 'p1', 'Teapot', 'blue MUG'])}")
            if self.coin():
                entries.append(f"rating: {self.counts(lambda: str(self.pick([1, 3, 4, 5])))}")
            self.window(entries)
        elif word == "abandoned_cart":
            self.window(entries)
        else:
            if self.coin():
                statuses = ["paid", "Cancelled", "refunded", "PENDING", "voided"]
                entries.append(f"status: {self._names(statuses)}")
            if self.coin():
                amounts = [a for a in AMOUNTS] + ["10.0001", "9.9999"]
                entries.append(f"total: {self.counts(lambda: self.pick(amounts))}")
            self.window(entries)
        return word, f"{word}: {{{', '.join(entries)}}}"

    def _names(self, names: list[str]) -> str:
        if self.coin():
            return q(self.pick(names))
        return self.listed(lambda: q(self.pick(names)), lambda n: q(f"name-{n}"))

    # -- whole conditions ---------------------------------------------------------

    def condition(self, depth: int = 0, *, saved: bool = True) -> str:
        shapes = ["compare", "compare", "compare", "predicate"]
        if depth < 3:
            shapes += ["all", "any", "not", "none", "several"]
        shape = self.pick(shapes)
        if shape == "compare":
            return "{" + self.compare()[1] + "}"
        if shape == "predicate":
            return "{" + self.predicate(saved=saved)[1] + "}"
        if shape == "several":
            # A mapping with several keys means all of them (keys must differ).
            entries: dict[str, str] = {}
            for _ in range(self.pick([2, 3])):
                key, entry = self.compare() if self.coin() else self.predicate(saved=saved)
                entries.setdefault(key, entry)
            return "{" + ", ".join(entries.values()) + "}"
        parts = [self.condition(depth + 1, saved=saved) for _ in range(self.pick([1, 2, 3]))]
        if shape == "not":
            return "{not: " + parts[0] + "}"
        word = {"all": "all", "any": "any", "none": "not"}[shape]
        return "{" + word + ": [" + ", ".join(parts) + "]}"


def parsed(text: str) -> ast.Condition:
    condition, problems = parse_criteria_text(text)
    assert not problems, f"{text}\n" + "\n".join(map(str, problems))
    return condition


def segment(condition: ast.Condition, name: str = "probe") -> ast.Segment:
    return ast.Segment(name, name.title(), "", condition, "--criteria")


def sql_members(evaluation: AnyEvaluation, condition: ast.Condition) -> set[str]:
    return {member["person_key"] for member in evaluation.members(segment(condition))}


EVERYONE = ast.Constant(True, Pos(0, 0))


@contextmanager
def stored(files: dict[str, list[dict]]) -> Iterator[Store]:
    """The files imported into a store in a temporary directory: DuckDB evaluates a copy
    of a store on disk, beside it."""
    with (
        tempfile.TemporaryDirectory() as directory,
        closing(load(files, Path(directory) / "store.db")) as store,
    ):
        yield store


@contextmanager
def by_each_engine(
    store: Store, as_of: date, segments: dict[str, ast.Segment]
) -> Iterator[dict[str, AnyEvaluation]]:
    """The evaluation of the store, date and segments by each engine, by its name."""
    with ExitStack() as stack:
        yield {
            engine: stack.enter_context(open_evaluation(store, as_of, segments, engine=engine))
            for engine in ENGINES
        }


def person_ids(evaluation: AnyEvaluation) -> dict[str, int]:
    """Everyone's person_id, by person_key."""
    return {m["person_key"]: m["person_id"] for m in evaluation.members(segment(EVERYONE))}


def _differences(evaluation, reference, keys) -> str:
    shown = []
    for key in sorted(keys):
        facts = reference.facts.get(key, {})
        visible = {
            k: v
            for k, v in facts.items()
            if k not in ("orders", "counted", "reviews", "carts", "counted_days")
        }
        person = evaluation.person(facts["person_id"]) if facts else None
        shown.append(f"  {key}\n    reference: {visible}\n    sql facts: {person}")
    return "\n".join(shown)


as_of_dates = st.sampled_from(AS_OF_DATES)
seeds = st.integers(0, 2**32 - 1)


def store_settings(examples: int):
    """Hypothesis settings of the tests that draw whole stores: no deadline (the machine
    is shared), and stores are slow and large to draw by design."""
    return settings(
        deadline=None,
        max_examples=examples,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


CONDITIONS_PER_STORE = 40


@pytest.mark.slow
@store_settings(120)
@given(files=stores(), as_of=as_of_dates, seed=seeds)
def test_sql_members_equal_the_reference_evaluator(files, as_of, seed):
    """Each engine's members of random conditions are the reference's, node by node,
    and person by person as customer show asks."""
    with stored(files) as store:
        records = read_records(store.conn)
        rng = random.Random(seed)
        saved_text = Conditions(rng, Reference(records, as_of)).condition(saved=False)
        segments = {**BUILTINS, "saved": segment(parsed(saved_text), "saved")}
        reference = Reference(records, as_of, segments)
        with by_each_engine(store, as_of, segments) as evaluations:
            for engine, evaluation in evaluations.items():
                everyone = sql_members(evaluation, EVERYONE)
                assert everyone == reference.everyone(), f"{engine}\n" + _differences(
                    evaluation, reference, everyone ^ reference.everyone()
                )
            ids = {engine: person_ids(evaluation) for engine, evaluation in evaluations.items()}
            probe = Conditions(rng, reference)
            for _ in range(CONDITIONS_PER_STORE):
                text = probe.condition()
                if probe.coin():
                    # A top-level list means all of them.
                    text = "[" + text + ", " + probe.condition(2) + "]"
                condition = parsed(text)
                for engine, evaluation in evaluations.items():
                    # Every node of the tree on its own, then the whole: a wrong leaf
                    # cannot hide behind an `all` that is false anyway.
                    for node in walk(condition):
                        got, expected = sql_members(evaluation, node), reference.members(node)
                        assert got == expected, (
                            f"{engine}\ncriteria: {text}\nnode: {node}\nsaved: {saved_text}\n"
                            f"as of {as_of}, A = {reference.repeat_time}\n"
                            f"only in SQL: {sorted(got - expected)}\n"
                            f"only in the reference: {sorted(expected - got)}\n"
                            + _differences(evaluation, reference, got ^ expected)
                        )
                    got = sql_members(evaluation, condition)
                    complement = sql_members(evaluation, ast.Not(condition, Pos(0, 0)))
                    assert complement == reference.everyone() - got, (engine, text)
                    # customer show asks person by person, through the indexes: the same.
                    one_by_one = {
                        key
                        for key, pid in ids[engine].items()
                        if evaluation.is_member(condition, pid)
                    }
                    assert one_by_one == got, (engine, text)


@pytest.mark.slow
@store_settings(60)
@given(files=stores(), as_of=as_of_dates, seed=seeds)
def test_purchased_without_products_equals_the_reference(files, as_of, seed):
    """``purchased`` naming no product is read from the counted-order facts (first,
    last, number) when they answer it, else from the orders: the same members as the
    reference's walk over each order, for everyone and person by person, on each
    engine."""
    with stored(files) as store:
        reference = Reference(read_records(store.conn), as_of, dict(BUILTINS))
        with by_each_engine(store, as_of, dict(BUILTINS)) as evaluations:
            ids = {engine: person_ids(evaluation) for engine, evaluation in evaluations.items()}
            probe = Conditions(random.Random(seed), reference)
            for _ in range(12):
                entries: list[str] = []
                probe.window(entries)
                if probe.coin():
                    entries.append(f"times: {probe.counts(lambda: str(probe.pick([0, 1, 2, 3])))}")
                text = f"purchased: {{{', '.join(entries)}}}" if entries else "purchased: true"
                condition = parsed(text)
                expected = reference.members(condition)
                for engine, evaluation in evaluations.items():
                    got = sql_members(evaluation, condition)
                    assert got == expected, (
                        f"{engine}\n{text}\nas of {as_of}\nonly in SQL: {sorted(got - expected)}\n"
                        f"only in the reference: {sorted(expected - got)}\n"
                        + _differences(evaluation, reference, got ^ expected)
                    )
                    one_by_one = {
                        key
                        for key, pid in ids[engine].items()
                        if evaluation.is_member(condition, pid)
                    }
                    assert one_by_one == got, (engine, text)


# Nobody is in the facts of 2023-12-31, yet the undated review's set holds its writer:
# the room kept sets may take was 20 rows per person in the facts, here none.
NOBODY_YET = {
    "customers": [],
    "products": [
        {
            "product_id": f"P{n}",
            "sku": f"S{n}",
            "collections": "",
            "product_type": "Shoes",
            "vendor": "Acme",
        }
        for n in range(1, 5)
    ],
    "orders": [],
    "items": [],
    "reviews": [
        {
            "review_id": "R0",
            "customer_id": "C0",
            "email": "",
            "product_id": "P1",
            "rating": "1",
            "created_at": "",
        }
    ],
    "subscribers": [],
    "carts": [
        {
            "cart_id": "K0",
            "customer_id": "C0",
            "email": "",
            "created_at": "2024-01-01",
            "total": "10",
        }
    ],
}


@pytest.mark.slow
@store_settings(50)
@given(files=stores(), as_of=as_of_dates, seed=seeds)
@example(files=NOBODY_YET, as_of=date(2023, 12, 31), seed=0)
def test_sets_kept_for_the_next_command_equal_the_reference(files, as_of, seed):
    """The people a purchased, reviewed, has_order or abandoned_cart condition matched,
    computed by one evaluation and kept, then read by the next: both the reference's
    members, the same set used twice too."""
    store = load(files)
    reference = Reference(read_records(store.conn), as_of, dict(BUILTINS))
    probe = Conditions(random.Random(seed), reference)
    texts = []
    while len(texts) < 8:
        _, text = probe.predicate(saved=False)
        texts.append(text if probe.coin() else f"not: {{{text}}}")
    cases = [(text, parsed(text)) for text in texts + texts[:2]]
    first = Evaluation(store, as_of, dict(BUILTINS))
    assert first.key is not None
    for text, condition in cases:
        assert sql_members(first, condition) == reference.members(condition), text
    first.keep()
    second = Evaluation(store, as_of, dict(BUILTINS))
    for text, condition in cases:
        assert sql_members(second, condition) == reference.members(condition), text
    assert second.kept._fresh == {}


@pytest.mark.slow
@store_settings(40)
@given(files=stores(), as_of=as_of_dates, seed=seeds)
def test_figures_of_many_segments_at_once_equal_the_reference(files, as_of, seed):
    """A command's segments evaluated together (DuckDB finds the sets of people they
    read in shared passes over the records): each segment's members and spend are the
    reference's, on each engine. Most of the conditions are purchases naming products,
    so that several sets share the pass over the line items."""
    with stored(files) as store:
        reference = Reference(read_records(store.conn), as_of, dict(BUILTINS))
        probe = Conditions(random.Random(seed), reference)
        texts: list[str] = []
        while len(texts) < 12:
            word, text = probe.predicate(saved=False)
            if word != "purchased" and len(texts) % 3:
                continue
            texts.append(text if probe.coin() else f"not: {{{text}}}")
        texts.append("any: [" + ", ".join("{" + text + "}" for text in texts[:3]) + "]")
        chosen = [segment(parsed(text), f"s{n}") for n, text in enumerate(texts)]
        expected = []
        for probe_segment in chosen:
            members = reference.members(probe_segment.criteria)
            spent = sum(reference.facts[key]["total_spent"] for key in members)
            expected.append(Figures(len(members), spent))
        with by_each_engine(store, as_of, dict(BUILTINS)) as evaluations:
            for engine, evaluation in evaluations.items():
                got = evaluation.all_figures(chosen)
                for text, mine, theirs in zip(texts, got, expected, strict=True):
                    assert mine == theirs, f"{engine}\n{text}\nas of {as_of}"


def test_sets_found_together_are_those_found_one_by_one(tmp_path, monkeypatch):
    """On DuckDB, the purchases of a command's segments are found in one pass over the
    line items and the other sets in one pass over each table; every segment's figures
    are those of a command that evaluates it alone."""
    store = load(TOGETHER, tmp_path / "store.db")
    texts = [
        "purchased: {product_type: shoes}",
        "purchased: {product_type: hats, after: 2024-03-01}",
        "purchased: {collection: summer, times: {gte: 2}}",
        "purchased: {vendor: acme, times: 0}",
        "purchased: {product: [S1, P3]}",
        "has_order: {status: refunded}",
        "has_order: {total: {gte: 50}}",
        "not: {purchased: {collection: summer}}",
    ]
    chosen = [segment(parsed(text), f"s{n}") for n, text in enumerate(texts)]
    as_of = date(2024, 12, 31)
    with open_evaluation(store, as_of, dict(BUILTINS), engine="duckdb") as together:
        figures = together.all_figures(chosen)
        # Six purchases by their lines (the `not` reads one without times), two sets of
        # orders by their status and their total.
        assert together.found_together == 8
    for text, seg, found in zip(texts, chosen, figures, strict=True):
        # The sets the first evaluation kept go, so that this one finds its own.
        for kept in (tmp_path / "store.db.analytic").glob("set-*"):
            kept.unlink()
        with open_evaluation(store, as_of, dict(BUILTINS), engine="duckdb") as alone:
            assert alone.all_figures([seg]) == [found], text
            assert alone.found_together == 0
        with open_evaluation(store, as_of, dict(BUILTINS), engine="sqlite") as other:
            assert other.figures(seg) == found, text
    # By hand: O4 is refunded, so not counted as a purchase; C5 has no order.
    assert [f.members for f in figures] == [1, 2, 1, 4, 1, 1, 2, 4]
    # One purchase by its lines and a set of orders: one pass over the orders finds
    # both, the purchase's lines searched within it. (Another day: the sets of the
    # first are kept, and read as kept.)
    pair = [chosen[0], chosen[5]]
    later = as_of + timedelta(days=1)
    with open_evaluation(store, later, dict(BUILTINS), engine="duckdb") as together:
        assert together.all_figures(pair) == [figures[0], figures[5]]
        assert together.found_together == 2
    # The purchases' orders marked in several masks (two sets to a mask here, some sixty
    # in use): the same figures.
    monkeypatch.setattr("segcli.analytic.evaluate._MASK_BITS", 2)
    with open_evaluation(
        store, later + timedelta(days=1), dict(BUILTINS), engine="duckdb"
    ) as masked:
        assert masked.all_figures(chosen) == figures
        assert masked.found_together == 8


def _order(n: int, customer: str, day: str, total: str, status: str = "paid") -> dict:
    return {
        "order_id": f"O{n}",
        "customer_id": customer,
        "email": "",
        "created_at": day,
        "total": total,
        "status": status,
    }


def _product(n: int, collections: str, product_type: str, vendor: str) -> dict:
    return {
        "product_id": f"P{n}",
        "sku": f"S{n}",
        "collections": collections,
        "product_type": product_type,
        "vendor": vendor,
    }


def _line(order: int, product: int, price: str) -> dict:
    return {
        "order_id": f"O{order}",
        "product_id": f"P{product}",
        "sku": f"S{product}",
        "title": f"T{product}",
        "quantity": "1",
        "price": price,
    }


TOGETHER: dict[str, list[dict]] = {
    "customers": [
        {"customer_id": f"C{n}", "email": f"c{n}@example.com", "first_name": f"N{n}"}
        for n in range(1, 6)
    ],
    "products": [
        _product(1, "Summer", "Shoes", "Acme"),
        _product(2, "", "Hats", "Zed"),
        _product(3, "Summer", "Hats", "Zed"),
    ],
    "orders": [
        _order(1, "C1", "2024-01-05", "20"),
        _order(2, "C1", "2024-04-05", "60"),
        _order(3, "C2", "2024-02-01", "30"),
        _order(4, "C3", "2024-05-01", "70", "refunded"),
        _order(5, "C4", "2024-06-01", "10"),
    ],
    "items": [
        _line(1, 1, "20"),
        _line(2, 3, "60"),
        _line(3, 2, "30"),
        _line(4, 1, "70"),
        _line(5, 2, "10"),
    ],
    "reviews": [],
    "subscribers": [],
    "carts": [],
}


@pytest.mark.slow
@store_settings(40)
@given(files=stores(), as_of=as_of_dates)
def test_lifecycle_stages_partition_everyone(files, as_of):
    store = load(files)
    reference = Reference(read_records(store.conn), as_of, dict(BUILTINS))
    evaluation = Evaluation(store, as_of, dict(BUILTINS))
    everyone = {m["person_key"] for m in evaluation.members(BUILTINS["everyone"])}
    assert everyone == reference.everyone()
    assert evaluation.repeat_time == reference.repeat_time
    seen: set[str] = set()
    for stage in LIFECYCLE_STAGES:
        members = {m["person_key"] for m in evaluation.members(BUILTINS[stage])}
        assert not members & seen, stage
        seen |= members
        expected = {k for k, f in reference.facts.items() if f["lifecycle"] == stage}
        assert members == expected, (stage, _differences(evaluation, reference, members ^ expected))
    assert seen == everyone


def test_reference_and_sql_on_a_store_worked_by_hand():
    """Anchors the reference itself: facts and stages of a small store computed by hand.

    Gaps between consecutive counted orders: C1 10 and 10, C2 40, C3 20, so A = 80 / 4 =
    20 days exactly; as of 2024-02-10 C1 is 20 days (= A) and C3 60 days (= 3A) out.
    """
    order = ["order_id", "customer_id", "email", "created_at", "total", "status"]
    orders = [
        ("O1", "C1", "", "2024-01-01", "33.3333", "paid"),
        ("O2", "C1", "", "2024-01-11T23:59:59", "33.3333", ""),
        ("O3", "C1", "", "2024-01-21", "33.3333", "Pending"),
        ("O4", "C2", "", "2024-01-01", "10", "paid"),
        ("O5", "C2", "", "2024-02-10T23:59:59", "-2.5", "paid"),
        ("O6", "C3", "", "2023-11-22", "1", "paid"),
        ("O7", "C3", "", "2023-12-12", "1", "paid"),
        ("O8", "C4", "", "2024-01-05", "10.0001", "paid"),
        ("O9", "C4", "", "2024-01-06", "500", "Cancelled"),
        ("O10", "C4", "", "2024-02-11", "7", "paid"),
        ("O11", "", "guest@example.com", "2024-01-07T01:00:00+02:00", "5", "refunded"),
    ]
    files = {
        "customers": [
            {"customer_id": f"C{n}", "email": f"c{n}@example.com", "accepts_marketing": consent}
            | {"created_at": created}
            for n, consent, created in [
                (1, "", ""),
                (2, "", ""),
                (3, "", ""),
                (4, "yes", ""),
                (5, "yes", ""),
                (6, "yes", ""),
                (7, "yes", ""),
                (8, "", ""),
                (9, "yes", "2024-03-01"),
            ]
        ],
        "products": [],
        "orders": [dict(zip(order, row, strict=True)) for row in orders],
        "items": [],
        "reviews": [
            {"email": "undated@example.com", "product_id": "P1", "rating": "5", "created_at": ""}
        ],
        "subscribers": [
            # a tie on the same instant: unsubscribed wins
            {"email": "c5@example.com", "subscribed_at": "2024-01-05", "status": "subscribed"},
            {"email": "c5@example.com", "subscribed_at": "2024-01-05", "status": "unsubscribed"},
            # an undated row still decides over the customer row's consent
            {"email": "c6@example.com", "subscribed_at": "", "status": "unsubscribed"},
            # later than the as-of date: left out
            {"email": "c8@example.com", "subscribed_at": "2024-01-01", "status": "unsubscribed"},
            {"email": "c8@example.com", "subscribed_at": "2024-03-01", "status": "subscribed"},
        ],
        "carts": [{"customer_id": "C5", "created_at": "2024-01-09", "total": "1"}],
    }
    store = load(files)
    as_of = date(2024, 2, 10)
    reference = Reference(read_records(store.conn), as_of, dict(BUILTINS))
    evaluation = Evaluation(store, as_of, dict(BUILTINS))
    assert reference.repeat_time == evaluation.repeat_time == Fraction(20)
    expected = {
        "c:C1": ("at-risk-repeat", 3, 999999, 20, 0),  # 20 days = A: no longer active
        "c:C2": ("active-repeat", 2, 75000, 0, 0),
        "c:C3": ("inactive-repeat", 2, 20000, 60, 0),  # 60 days = 3A
        "c:C4": ("first-time-buyers", 1, 100001, 36, 1),  # cancelled and later orders left out
        "c:C5": ("potential-customers", 0, 0, None, 0),
        "c:C6": ("unengaged", 0, 0, None, 0),
        "c:C7": ("prospects", 0, 0, None, 1),
        "c:C8": ("unengaged", 0, 0, None, 0),
        "e:guest@example.com": ("unengaged", 0, 0, None, 0),
        "e:undated@example.com": ("unengaged", 0, 0, None, 0),
    }
    # C9 is first known on 2024-03-01: not yet in.
    assert reference.everyone() == set(expected)
    for key, (stage, count, spent, since, consent) in expected.items():
        facts = reference.facts[key]
        got = (
            facts["lifecycle"],
            facts["orders_count"],
            facts["total_spent"],
            facts["days_since_last_order"],
            facts["accepts_marketing"],
        )
        assert got == (stage, count, spent, since, consent), key
        person = evaluation.person(facts["person_id"])
        assert (person["lifecycle"], person["orders_count"], person["total_spent"]) == got[:3]
        assert (person["days_since_last_order"], person["accepts_marketing"]) == got[3:]
    for text, members in [
        ("average_order_value: 33.3333", {"c:C1"}),
        ("average_order_value: 3.75", {"c:C2"}),
        ("average_order_value: {lt: 3.75}", {"c:C3"}),
        ("has_order: {status: cancelled}", {"c:C4"}),
        ("has_order: {status: REFUNDED, after: 2024-01-06}", set()),
        ("has_order: {status: REFUNDED, after: 2024-01-05}", {"e:guest@example.com"}),
        ("reviewed: {rating: 5}", {"e:undated@example.com"}),
        ("reviewed: {after: 2000-01-01}", set()),
        ("last_order_at: {on: 2024-02-10}", {"c:C2"}),
        ("accepts_marketing: true", {"c:C4", "c:C7"}),
    ]:
        condition = parsed(text)
        assert reference.members(condition) == members, text
        assert sql_members(evaluation, condition) == members, text
    # As of 2024-03-01 the later subscription counts, and C9 is in.
    later = Reference(read_records(store.conn), date(2024, 3, 1))
    assert later.facts["c:C8"]["accepts_marketing"] == 1
    assert "c:C9" in later.everyone()
