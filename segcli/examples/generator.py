"""Generate a realistic store as native segcli CSV files, at any size and deterministically.

The generator walks through people one at a time and writes each person's rows straight
to the seven files, so memory stays flat however many people are asked for: only the
product catalogue (at most a couple of thousand products) is held. Every random choice
comes from one ``random.Random(seed)``, so the same arguments give byte-identical files.

    python -m segcli.examples.generator OUT_DIR --people 100000 [--seed 7] [--end 2026-10-31]
"""

from __future__ import annotations

import argparse
import csv
import datetime
import math
import sys
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from random import Random
from typing import Generic, Protocol, TypeVar

from segcli.importer.kinds import KINDS

DEFAULT_END = datetime.date(2026, 10, 31)

# The native columns of each kind, in segcli's own order: the importer's registry is the one
# source. Customers get two custom fields; reviews name their product by id only; orders
# and line items leave out what platform exports add (an order's billing address and
# consent, a line's vendor), which the store's customer and product rows give instead.
_LEFT_OUT = {
    "reviews": {"sku"},
    "orders": {"accepts_marketing", "country", "region", "city"},
    "items": {"vendor"},
}
COLUMNS: dict[str, tuple[str, ...]] = {
    name: tuple(c for c in kind.columns if c not in _LEFT_OUT.get(name, ()))
    for name, kind in KINDS.items()
}
COLUMNS["customers"] = (*COLUMNS["customers"], "loyalty_tier", "birthday_month")

# Orders are spread over this many days before (and including) the end date.
HISTORY_DAYS = 3 * 365
_DAY = 86_400

T = TypeVar("T")


class _RowWriter(Protocol):
    """What the generator needs of a ``csv.writer``."""

    def writerow(self, row: Sequence[object]) -> object: ...

    def writerows(self, rows: Sequence[Sequence[object]]) -> None: ...


class _Weighted(Generic[T]):
    """A fixed set of choices drawn by weight with a single random number."""

    __slots__ = ("choices", "bounds", "total")

    def __init__(self, weighted: Sequence[tuple[T, float]]) -> None:
        self.choices = [choice for choice, _ in weighted]
        # Upper bounds of every bucket but the last: random() * total can round up to
        # total itself, and leaving the last bound out keeps that in the last bucket.
        self.bounds: list[float] = []
        running = 0.0
        for _, weight in weighted:
            running += weight
            self.bounds.append(running)
        self.total = running
        self.bounds.pop()

    def pick(self, rng: Random) -> T:
        """Return one choice, each with probability proportional to its weight."""
        return self.choices[bisect_right(self.bounds, rng.random() * self.total)]


# -- the built-in vocabulary ------------------------------------------------------------

FIRST_NAMES = (
    "Ann", "James", "Mary", "Robert", "Linda", "Michael", "Sarah", "David", "Emma",
    "Oliver", "Sophie", "Lucas", "Mia", "Noah", "Olivia", "Liam", "Hannah", "Grace",
    "Jack", "Isla", "Aiden", "Priya", "Wei", "Yuki", "Fatima", "Ahmed", "Carlos", "Ana",
    "Ingrid", "Ole", "Kari", "Lukas", "Zoë", "José", "Chloé", "François", "Søren",
    "Björn", "Siobhán", "Léa",
)  # fmt: skip
LAST_NAMES = (
    "Lee", "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Martin", "Anderson",
    "Thomas", "White", "Harris", "Clark", "Lewis", "Walker", "Young", "King", "Wright",
    "Scott", "Green", "Baker", "Schmidt", "Fischer", "Dubois", "Moreau", "Hansen",
    "Nilsen", "Kowalski", "Nguyen", "Patel", "Kim", "Rossi", "MacDonald", "O'Brien",
    "Müller", "Lefèvre", "García", "Núñez", "Ødegaard", "Ångström", "Çelik",
)  # fmt: skip

# Reserved example domains, so generated addresses can never reach a real mailbox.
EMAIL_DOMAINS = _Weighted(
    [
        ("example.com", 40),
        ("example.net", 20),
        ("example.org", 15),
        ("mail.example", 10),
        ("inbox.example", 8),
        ("post.example", 4),
        ("shop.example", 3),
    ]
)

# country -> region -> cities, and how common the country is among the store's people.
PLACES: dict[str, tuple[float, dict[str, tuple[str, ...]]]] = {
    "US": (
        45,
        {
            "California": ("Los Angeles", "San Francisco", "San Diego"),
            "New York": ("New York", "Buffalo"),
            "Texas": ("Austin", "Houston", "Dallas"),
            "Washington": ("Seattle", "Spokane"),
            "Illinois": ("Chicago",),
        },
    ),
    "GB": (
        12,
        {
            "England": ("London", "Manchester", "Bristol"),
            "Scotland": ("Edinburgh", "Glasgow"),
            "Wales": ("Cardiff",),
        },
    ),
    "DE": (
        10,
        {
            "Bayern": ("München", "Nürnberg"),
            "Berlin": ("Berlin",),
            "Hamburg": ("Hamburg",),
            "Nordrhein-Westfalen": ("Köln", "Düsseldorf"),
        },
    ),
    "FR": (
        8,
        {
            "Île-de-France": ("Paris",),
            "Auvergne-Rhône-Alpes": ("Lyon", "Grenoble"),
            "Provence-Alpes-Côte d'Azur": ("Marseille", "Nice"),
        },
    ),
    "CA": (
        10,
        {
            "Ontario": ("Toronto", "Ottawa"),
            "Quebec": ("Montréal", "Québec"),
            "British Columbia": ("Vancouver", "Victoria"),
        },
    ),
    "AU": (
        8,
        {
            "New South Wales": ("Sydney", "Newcastle"),
            "Victoria": ("Melbourne",),
            "Queensland": ("Brisbane",),
        },
    ),
    "NO": (
        4,
        {
            "Oslo": ("Oslo",),
            "Vestland": ("Bergen",),
            "Trøndelag": ("Trondheim",),
        },
    ),
}
# A store has one currency, which every order names.
STORE_CURRENCY = "USD"

# Each city equally likely within its country, so big countries stay big.
_CITIES = _Weighted(
    [
        ((country, region, city), weight / sum(len(cities) for cities in regions.values()))
        for country, (weight, regions) in PLACES.items()
        for region, cities in regions.items()
        for city in cities
    ]
)

# Offsets a shop's admin or a marketplace might stamp on a time; "+00:00" is not "Z".
UTC_OFFSETS = tuple(
    (text, datetime.timedelta(minutes=minutes))
    for text, minutes in [
        ("+01:00", 60),
        ("+02:00", 120),
        ("-05:00", -300),
        ("-08:00", -480),
        ("+10:00", 600),
        ("+05:30", 330),
        ("+00:00", 0),
    ]
)

ACCEPTS_MARKETING = _Weighted(
    [("true", 28), ("false", 24), ("yes", 10), ("no", 10), ("", 20), ("TRUE", 4), ("No", 4)]
)
CUSTOMER_GROUPS = _Weighted([("retail", 82), ("wholesale", 10), ("staff", 3), ("", 5)])
CHANNELS = _Weighted([("web", 68), ("pos", 15), ("marketplace", 12), ("", 5)])
CUSTOMER_TAGS = ("newsletter", "returning", "influencer", "gift-buyer", "b2b", "local")

ORDER_STATUS = _Weighted(
    [
        ("paid", 82),
        ("pending", 3),
        ("refunded", 3.5),
        ("cancelled", 3),
        ("voided", 1),
        ("failed", 1.5),
        ("partially_refunded", 3),
        ("", 3),
    ]
)
LINES_PER_ORDER = _Weighted([(1, 42), (2, 30), (3, 15), (4, 8), (5, 3), (6, 2)])
QUANTITY = _Weighted([(1, 78), (2, 15), (3, 5), (4, 1), (6, 1)])
REVIEWED_STATUSES = ("paid", "partially_refunded", "")

SUBSCRIBER_SOURCES = _Weighted(
    [("checkout", 40), ("footer", 20), ("popup", 20), ("pos", 5), ("import", 5), ("", 10)]
)

REVIEW_TEXTS: dict[int, tuple[tuple[str, str], ...]] = {
    5: (
        ("Love it", "Exactly as described, would buy again."),
        ("Perfect gift", "My sister loved it. Great quality!"),
        ("Five stars", 'Great fit, and the colour is "spot on".'),
    ),
    4: (
        ("Very good", "Good quality, shipping took a few days."),
        ("Nice", "Does the job; a bit pricey."),
    ),
    3: (
        ("OK", "It's fine, nothing special."),
        ("Average", "Smaller than expected.\nStill usable."),
    ),
    2: (("Disappointed", "The stitching came loose after a week."),),
    1: (
        ("Broke quickly", "Stopped working after two days, returned it."),
        ("Not as pictured", "Colour was off, asked for a refund."),
    ),
}

# product type -> (nouns, SKU prefix, lowest and highest price in cents)
PRODUCT_TYPES: dict[str, tuple[tuple[str, ...], str, int, int]] = {
    "Apparel": (("T-Shirt", "Hoodie", "Jacket", "Scarf", "Sweater", "Socks"), "APP", 1500, 12000),
    "Footwear": (("Sneakers", "Boots", "Sandals", "Slippers"), "FTW", 3000, 18000),
    "Homeware": (("Mug", "Candle", "Blanket", "Vase", "Cushion", "Teapot"), "HOM", 800, 9000),
    "Electronics": (("Headphones", "Speaker", "Charger", "Lamp"), "ELE", 1500, 25000),
    "Beauty": (("Face Cream", "Shampoo", "Soap Bar", "Lip Balm"), "BEA", 500, 6000),
    "Toys": (("Puzzle", "Plush Bear", "Kite", "Building Set"), "TOY", 900, 8000),
    "Food": (("Coffee Beans", "Dark Chocolate", "Tea Sampler", "Honey"), "FOD", 600, 4000),
}
PRODUCT_ADJECTIVES = (
    "Classic", "Everyday", "Organic", "Vintage", "Nordic", "Urban", "Cozy", "Premium",
    "Handmade", "Deluxe", "Travel", "Mini", "Signature", "Rustic", "Coastal", "Alpine",
)  # fmt: skip
PRODUCT_MATERIALS = (
    "Linen", "Wool", "Cotton", "Oak", "Ceramic", "Bamboo", "Copper", "Midnight", "Sage",
    "Crème", "Sand", "Slate",
)  # fmt: skip
COLLECTIONS = (
    "New Arrivals", "Best Sellers", "Summer Sale", "Winter Warmers", "Gifts for Her",
    "Gifts for Him", "Home & Living", "Outdoor", "Eco Friendly", "Clearance",
    "Kids Corner", "Staff Picks",
)  # fmt: skip
VENDORS = (
    "Northwind Traders", "Acme Goods", "Fjord & Co", "Maison Lumière", "Blue Harbor",
    "Contoso",
)  # fmt: skip
PRODUCT_TAGS = ("bestseller", "organic", "limited", "handmade", "gift", "sale", "new")


@dataclass(frozen=True, slots=True, eq=False)
class Product:
    """One product of the generated catalogue."""

    product_id: str
    sku: str
    title: str
    collections: tuple[str, ...]
    product_type: str
    vendor: str
    tags: str
    price_cents: int
    price: str  # price_cents as written in items.csv
    quality: float  # the rating its reviewers give on average

    def row(self) -> list[str]:
        """The product's products.csv row."""
        return [
            self.product_id,
            self.sku,
            self.title,
            ";".join(self.collections),
            self.product_type,
            self.vendor,
            self.tags,
        ]


def catalogue_size(people: int) -> int:
    """How many products a store with this many people sells: slowly growing, capped."""
    return min(2000, max(40, int(20 + 2 * math.sqrt(people))))


def format_money(cents: int) -> str:
    """Show an amount of cents with exactly two decimals (``-1250`` → ``-12.50``)."""
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    return f"{sign}{whole}.{fraction:02d}"


def email_slug(name: str) -> str:
    """Fold a name to the ASCII letters of an email address (``Ødegaard`` → ``odegaard``)."""
    # NFKD splits "é" into "e" and an accent; "ø", "æ" and "ß" have no decomposition.
    folded = unicodedata.normalize("NFKD", name.lower())
    folded = folded.replace("ø", "o").replace("æ", "ae").replace("ß", "ss")
    return "".join(char for char in folded if "a" <= char <= "z")


_SLUGS = {name: email_slug(name) for name in FIRST_NAMES + LAST_NAMES}


def generate_store(
    out_dir: Path,
    people: int,
    seed: int = 7,
    end: datetime.date = DEFAULT_END,
) -> dict[str, int]:
    """Write a store of ``people`` persons into ``out_dir``; return the data rows per file kind."""
    if people < 0:
        raise ValueError(f"people must be 0 or more, not {people}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        writers: dict[str, _RowWriter] = {}
        for kind, columns in COLUMNS.items():
            handle = stack.enter_context(
                open(out_dir / f"{kind}.csv", "w", newline="", encoding="utf-8", buffering=1 << 20)
            )
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(columns)
            writers[kind] = writer
        store = _StoreWriter(writers, Random(seed), people, end)
        store.write_catalogue()
        for number in range(1, people + 1):
            store.write_person(number)
        return dict(store.counts)


class _StoreWriter:
    """Invents people one by one and writes each one's rows as soon as they exist."""

    def __init__(
        self,
        writers: dict[str, _RowWriter],
        rng: Random,
        people: int,
        end: datetime.date,
    ) -> None:
        self.writers = writers
        self.rng = rng
        self.people = people
        self.end = end
        self.counts = {kind: 0 for kind in COLUMNS}
        # Instants are whole seconds after the first day of the history, 00:00 UTC.
        self.origin = datetime.datetime.combine(
            end - datetime.timedelta(days=HISTORY_DAYS), datetime.time()
        )
        self.horizon = (HISTORY_DAYS + 1) * _DAY - 1  # end's last second
        self.products: list[Product] = []
        self.popularity: _Weighted[Product] | None = None
        self.customer_width = max(6, len(str(people)))
        self.next_ids = {"customer": 0, "order": 0, "review": 0, "cart": 0}

    # -- ids, dates, emails ----------------------------------------------------------

    def next_id(self, kind: str) -> int:
        """The next number in one of the store's id sequences, starting at 1."""
        self.next_ids[kind] += 1
        return self.next_ids[kind]

    def stamp(self, seconds: int) -> str:
        """Show an instant as an export would: mostly UTC with ``Z``, some naive, some offset."""
        moment = self.origin + datetime.timedelta(seconds=seconds)
        roll = self.rng.random()
        if roll < 0.72:
            return moment.isoformat() + "Z"
        if roll < 0.92:
            return moment.isoformat(" ")
        offset, shift = self.rng.choice(UTC_OFFSETS)
        local = moment + shift
        # Keep even the local date on or before the end, so nothing reads as a future date.
        if local.date() > self.end:
            return moment.isoformat() + "Z"
        return local.isoformat() + offset

    def day(self, seconds: int) -> str:
        """Show only the date of an instant, as some exports do."""
        return (self.origin + datetime.timedelta(seconds=seconds)).date().isoformat()

    def anytime(self) -> int:
        """An instant anywhere in the history."""
        return self.rng.randint(0, self.horizon)

    def later(self, seconds: int, mean_days: float) -> int | None:
        """An instant some days after ``seconds``, or None when that would pass the end."""
        moment = seconds + int(self.rng.expovariate(1 / (mean_days * _DAY)))
        return moment if moment <= self.horizon else None

    def email_for(self, first_name: str, last_name: str, number: int) -> str:
        """A lower-case address unique to person ``number`` (the number ends its local part)."""
        first, last = _SLUGS[first_name], _SLUGS[last_name]
        roll = self.rng.random()
        if roll < 0.45:
            local = f"{first}.{last}{number}"
        elif roll < 0.65:
            local = f"{first}{last}{number}"
        elif roll < 0.80:
            local = f"{first[0]}.{last}{number}"
        elif roll < 0.90:
            local = f"{last}.{first}{number}"
        else:
            local = f"{first}_{last}{number}"
        return f"{local}@{EMAIL_DOMAINS.pick(self.rng)}"

    def shown(self, email: str, messy_share: float) -> str:
        """The address as a row spells it: sometimes in mixed case or with stray spaces."""
        if not email or self.rng.random() >= messy_share:
            return email
        local, _, domain = email.partition("@")
        titled = (
            ".".join(part.capitalize() for part in local.split(".")) + "@" + domain.capitalize()
        )
        return self.rng.choice(
            (f" {titled}", titled, email.upper(), f"{email} ", f"  {titled} ", f"{email.upper()} ")
        )

    # -- catalogue -------------------------------------------------------------------

    def write_catalogue(self) -> None:
        """Invent the products, write products.csv and weigh them by popularity."""
        rng = self.rng
        types = list(PRODUCT_TYPES)
        titles: set[str] = set()
        for number in range(1, catalogue_size(self.people) + 1):
            product_type = rng.choice(types)
            nouns, sku_prefix, low, high = PRODUCT_TYPES[product_type]
            while True:
                title = (
                    f"{rng.choice(PRODUCT_ADJECTIVES)} {rng.choice(PRODUCT_MATERIALS)} "
                    f"{rng.choice(nouns)}"
                )
                if title not in titles:
                    break
            titles.add(title)
            # Prices cluster low within the type's range and end the way shops price.
            dollars = int(low / 100 + (high - low) / 100 * rng.random() ** 2)
            price = dollars * 100 + rng.choice((0, 50, 95, 99))
            product = Product(
                product_id=f"P{number:05d}",
                sku=f"{sku_prefix}-{number:05d}",
                title=title,
                collections=tuple(rng.sample(COLLECTIONS, rng.choice((1, 1, 2, 2, 3)))),
                product_type=product_type,
                vendor=rng.choice(VENDORS),
                tags=", ".join(rng.sample(PRODUCT_TAGS, rng.choice((0, 0, 1, 1, 2, 3)))),
                price_cents=price,
                price=format_money(price),
                quality=rng.uniform(2.8, 4.9),
            )
            self.products.append(product)
            self.writers["products"].writerow(product.row())
        self.counts["products"] = len(self.products)
        # A few products sell most of the volume; the catalogue's order is already random.
        self.popularity = _Weighted(
            [(product, 1 / (rank + 1) ** 0.8) for rank, product in enumerate(self.products)]
        )

    # -- people ----------------------------------------------------------------------

    def write_person(self, number: int) -> None:
        """Invent person ``number`` and write every row that belongs to them."""
        rng = self.rng
        first_name, last_name = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = self.email_for(first_name, last_name, number)
        place = _CITIES.pick(rng)
        # This draw once chose a checkout currency (stores now have one): it stays, so
        # that a seed makes the same people, orders and amounts as before.
        rng.random()
        roll = rng.random()
        if roll < 0.80:
            self.write_customer(first_name, last_name, email, place)
        elif roll < 0.89:
            self.write_guest(email)
        elif roll < 0.95:
            self.write_subscriptions(email, self.anytime())
        else:
            self.write_visitor(email)

    def customer_order_count(self) -> int:
        """Orders of one customer: a tenth none, many one, a long tail of regulars."""
        roll = self.rng.random()
        if roll < 0.10:
            return 0
        if roll < 0.50:
            return 1
        if roll < 0.82:
            return self.rng.choice((2, 2, 2, 3, 3, 4, 5))
        if roll < 0.965:
            return 6 + min(13, int(self.rng.expovariate(1 / 3)))
        return 20 + min(130, int(self.rng.expovariate(1 / 10)))

    def order_instants(self, count: int) -> list[int]:
        """When one buyer's ``count`` orders were placed, in order, with realistic gaps."""
        rng = self.rng
        if count == 1:
            return [self.anytime()]
        # Each buyer has their own rhythm; frequent buyers must still fit in the history.
        typical_gap = min(rng.lognormvariate(math.log(70), 0.6), 900 / (count - 1)) * _DAY
        gaps = [rng.expovariate(1 / typical_gap) for _ in range(count - 1)]
        span = sum(gaps)
        if span > self.horizon:
            gaps = [gap * self.horizon / span for gap in gaps]
            span = self.horizon
        moment = rng.uniform(0, self.horizon - span)
        instants = [int(moment)]
        for gap in gaps:
            moment += gap
            instants.append(min(int(moment), self.horizon))
        return instants

    def write_customer(
        self,
        first_name: str,
        last_name: str,
        email: str,
        place: tuple[str, str, str],
    ) -> None:
        """A person with an account: the customer row, their orders, carts and newsletter."""
        rng = self.rng
        customer_id = f"C{self.next_id('customer'):0{self.customer_width}d}"
        # Accounts made at a till often have no email at all.
        if rng.random() < 0.01:
            email = ""
        order_count = self.customer_order_count()
        instants = self.order_instants(order_count) if order_count else []
        # Some customers bought once as a guest and made an account before coming back.
        guest_first = order_count >= 2 and bool(email) and rng.random() < 0.05
        if not instants:
            created = self.anytime()
        elif guest_first:
            created = rng.randint(instants[0], instants[1])
        else:
            created = instants[0] - int(rng.expovariate(1 / (20 * _DAY)))
        roll = rng.random()
        if roll < 0.01:
            created_at = ""
        elif roll < 0.09:
            created_at = self.day(created)
        else:
            created_at = self.stamp(created)

        country, region, city = place
        roll = rng.random()
        if roll < 0.03:
            country = region = city = ""
        elif roll < 0.08:
            region = ""
        customer_group = CUSTOMER_GROUPS.pick(rng)
        tags = []
        if order_count >= 10 and rng.random() < 0.6:
            tags.append("vip")
        if customer_group == "wholesale":
            tags.append("wholesale")
        if rng.random() < 0.35:
            tags.extend(rng.sample(CUSTOMER_TAGS, rng.choice((1, 1, 2))))
        if order_count == 0:
            tier = ""
        elif order_count < 3:
            tier = "bronze"
        elif order_count < 10:
            tier = "silver"
        elif order_count < 20:
            tier = "gold"
        else:
            tier = "platinum"
        if rng.random() < 0.25:
            tier = ""
        birthday_month = str(rng.randint(1, 12)) if rng.random() < 0.55 else ""
        accepts_marketing = ACCEPTS_MARKETING.pick(rng)
        self.writers["customers"].writerow(
            [
                customer_id,
                self.shown(email, 0.02),
                first_name,
                last_name,
                created_at,
                accepts_marketing,
                country,
                region,
                city,
                ", ".join(tags),
                customer_group,
                CHANNELS.pick(rng),
                tier,
                birthday_month,
            ]
        )
        self.counts["customers"] += 1

        for position, instant in enumerate(instants):
            if position == 0 and guest_first:
                self.write_order("", self.shown(email, 0.05), instant)
            else:
                shown = self.shown(email, 0.05) if rng.random() < 0.92 else ""
                self.write_order(customer_id, shown, instant)

        if rng.random() < (0.12 if instants else 0.3):
            logged_in = rng.random() < 0.7 or not email
            after = instants[0] - 30 * _DAY if instants else 0
            for _ in range(rng.choice((1, 1, 1, 2))):
                self.write_cart(
                    customer_id if logged_in else "",
                    self.shown(email, 0.05),
                    rng.randint(max(0, after), self.horizon),
                )

        if email:
            truthy = accepts_marketing.lower() in ("true", "yes")
            if rng.random() < (0.7 if truthy else 0.1):
                self.write_subscriptions(email, created)

    def write_guest(self, email: str) -> None:
        """A buyer who never made an account: orders by email only."""
        rng = self.rng
        order_count = rng.choice((1, 1, 1, 1, 1, 1, 2, 2, 3, 4))
        instants = self.order_instants(order_count)
        for instant in instants:
            self.write_order("", self.shown(email, 0.06), instant)
        if rng.random() < 0.08:
            self.write_cart("", self.shown(email, 0.05), rng.randint(instants[0], self.horizon))
        if rng.random() < 0.2:
            self.write_subscriptions(email, instants[0])

    def write_visitor(self, email: str) -> None:
        """Someone who filled a cart, left their email and never ordered."""
        rng = self.rng
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            self.write_cart("", self.shown(email, 0.05), self.anytime())
        if rng.random() < 0.15:
            self.write_subscriptions(email, self.anytime())

    # -- records ---------------------------------------------------------------------

    def write_order(self, customer_id: str, email: str, instant: int) -> None:
        """One order with its line items, and the reviews its buyer writes afterwards."""
        rng = self.rng
        assert self.popularity is not None
        order_id = f"O{self.next_id('order'):08d}"
        status = ORDER_STATUS.pick(rng)
        item_rows: list[list[object]] = []
        line_amounts: list[tuple[int, int]] = []  # quantity and unit price in cents
        chosen: list[Product] = []
        for _ in range(LINES_PER_ORDER.pick(rng)):
            product = self.popularity.pick(rng)
            # The same product twice becomes one line, as a checkout would merge it.
            if product in chosen:
                continue
            chosen.append(product)
            if rng.random() < 0.15:
                cents = product.price_cents * rng.choice((75, 80, 85, 90)) // 100
                price = format_money(cents)
            else:
                cents, price = product.price_cents, product.price
            quantity = QUANTITY.pick(rng)
            collection = rng.choice(product.collections)
            item_rows.append(
                [
                    order_id,
                    product.product_id,
                    product.sku,
                    product.title,
                    collection,
                    quantity,
                    price,
                ]
            )
            line_amounts.append((quantity, cents))
        # A return booked as a negative line on the order it came from.
        if rng.random() < (0.6 if status == "partially_refunded" else 0.005):
            line = rng.randrange(len(item_rows))
            quantity, cents = line_amounts[line]
            returned = -rng.randint(1, quantity)
            item_rows.append([*item_rows[line][:5], returned, item_rows[line][6]])
            line_amounts.append((returned, cents))

        self.writers["orders"].writerow(
            [
                order_id,
                customer_id,
                email,
                self.stamp(instant),
                format_money(sum(quantity * cents for quantity, cents in line_amounts)),
                status,
                STORE_CURRENCY,
            ]
        )
        self.counts["orders"] += 1
        self.writers["items"].writerows(item_rows)
        self.counts["items"] += len(item_rows)

        if status in REVIEWED_STATUSES:
            for product in chosen:
                if rng.random() < 0.06:
                    self.write_review(customer_id, email, product, instant)

    def write_review(self, customer_id: str, email: str, product: Product, bought: int) -> None:
        """A review of a product some days after it was bought (none if that is past the end)."""
        rng = self.rng
        written = self.later(bought + 3 * _DAY, 14)
        if written is None:
            return
        rating = min(5, max(1, round(rng.gauss(product.quality, 1.0))))
        title, body = rng.choice(REVIEW_TEXTS[rating])
        if rng.random() < 0.15:
            title = body = ""
        self.writers["reviews"].writerow(
            [
                f"R{self.next_id('review'):07d}",
                customer_id,
                email,
                product.product_id,
                rating,
                self.stamp(written),
                title,
                body,
            ]
        )
        self.counts["reviews"] += 1

    def write_cart(self, customer_id: str, email: str, instant: int) -> None:
        """An abandoned cart of one to four products."""
        rng = self.rng
        assert self.popularity is not None
        picks = rng.choice((1, 1, 2, 2, 3, 4))
        total = sum(self.popularity.pick(rng).price_cents for _ in range(picks))
        self.writers["carts"].writerow(
            [
                f"CART{self.next_id('cart'):07d}",
                customer_id,
                email,
                self.stamp(instant),
                format_money(total) if rng.random() < 0.97 else "",
            ]
        )
        self.counts["carts"] += 1

    def write_subscriptions(self, email: str, around: int) -> None:
        """A newsletter history: a sign-up, for some a later opt-out, for a few a return."""
        rng = self.rng
        write = self.writers["subscribers"].writerow
        signed_up = min(self.horizon, max(0, around) + int(rng.expovariate(1 / (10 * _DAY))))
        source = SUBSCRIBER_SOURCES.pick(rng)
        # Lists imported from an older tool often lost their dates.
        if rng.random() < 0.05:
            write([self.shown(email, 0.04), "", "subscribed", source])
            self.counts["subscribers"] += 1
            return
        dated = self.day if rng.random() < 0.1 else self.stamp
        write([self.shown(email, 0.04), dated(signed_up), "subscribed", source])
        self.counts["subscribers"] += 1
        if rng.random() >= 0.2:
            return
        left = self.later(signed_up + _DAY, 120)
        if left is None:
            return
        write([self.shown(email, 0.04), dated(left), "unsubscribed", source])
        self.counts["subscribers"] += 1
        if rng.random() < 0.1:
            returned = self.later(left + _DAY, 90)
            if returned is not None:
                write([self.shown(email, 0.04), dated(returned), "subscribed", "popup"])
                self.counts["subscribers"] += 1


def _people_count(text: str) -> int:
    """argparse type: a whole number of people, 0 or more."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: generate a store and summarise the files on stderr."""
    parser = argparse.ArgumentParser(
        prog="python -m segcli.examples.generator",
        description="Write a realistic, deterministic store as native segcli CSV files.",
    )
    parser.add_argument("out_dir", type=Path, help="directory to write the CSV files into")
    parser.add_argument("--people", type=_people_count, required=True, help="distinct persons")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument(
        "--end",
        type=datetime.date.fromisoformat,
        default=DEFAULT_END,
        help=f"last day of the store's history, YYYY-MM-DD (default {DEFAULT_END})",
    )
    args = parser.parse_args(argv)
    counts = generate_store(args.out_dir, args.people, seed=args.seed, end=args.end)
    for kind, count in counts.items():
        print(f"{args.out_dir / (kind + '.csv')}: {count:,} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
