"""The seven kinds of native CSV file: their columns, parsers, keys and stored rows, and
how their files are loaded (SPEC 2.1)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from segcli.errors import BadValue
from segcli.importer import values
from segcli.importer.batches import json_text
from segcli.importer.first_file import fill_by_key
from segcli.importer.items import fill_items, merge_items_file
from segcli.importer.staging import merge_by_key, merge_products
from segcli.store.schema import RECORD_TABLES

Parser = Callable[[str], object]
Row = dict[str, object]
# A batch's values by native column.
Columns = dict[str, list]

if TYPE_CHECKING:
    from typing import Protocol

    from segcli.importer.feed import Feed
    from segcli.importer.staging import Counts
    from segcli.store.db import Store

    # How a kind's first file goes straight into its empty table; returns the rows written.
    Fill = Callable[[Store, Feed], int]

    class Merge(Protocol):
        """How a file is staged and merged with what is stored; returns the rows per
        verdict. ``phase`` is told when merging starts; ``numbered``: line items may be
        numbered as they stream (not once they came back scattered)."""

        def __call__(
            self, store: Store, feed: Feed, phase: Callable[[str], None], *, numbered: bool
        ) -> Counts: ...


@dataclass(frozen=True)
class Kind:
    """One kind of file: what it may hold, how a parsed row becomes a stored row, and how
    its files are loaded. Adding a kind of file is adding one of these (and its table)."""

    name: str
    # One of the store's record tables (segcli.store.schema.RECORD_TABLES).
    table: str
    columns: dict[str, Parser]
    # Each group needs at least one of its columns in the header.
    required: tuple[tuple[str, ...], ...]
    # The stored columns after the key, in table order.
    stored: tuple[str, ...]
    # A parsed row's stored columns, key first (BadValue names what is wrong with it); and
    # a batch's, column by column, or None when some row fails a check (the batch is then
    # built row by row, which names each row's problem).
    row: Callable[[Row], tuple]
    batch_rows: Callable[[Columns, int], list[list] | None]
    key_column: str = "record_key"
    # Unknown columns become custom fields (customers) instead of being ignored.
    keeps_unknown_columns: bool = False
    # Its rows name people (customer_id, email): importing it derives people again.
    names_people: bool = True
    # Rows that name no one are kept, belonging to no one and in no segment (orders from a
    # till); a file without a customer column is said to be so.
    keeps_anonymous_rows: bool = False
    # Its rows have amounts in a currency: those in another than the store's are converted.
    converts_currency: bool = False
    # Columns of line items that a file of this kind may carry, one line item per row
    # (orders in the line-item form: line_item_form.py).
    line_item_columns: dict[str, Parser] = field(default_factory=dict)
    # How its first file goes straight into its empty table (None: every file is staged),
    # and how any later file is staged and merged with what is stored.
    fill_empty: Fill | None = fill_by_key
    merge: Merge = merge_by_key
    # Tables besides its own that loading its files writes (a product's collections).
    also_writes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.table not in RECORD_TABLES:
            raise ValueError(f"{self.name}: the store has no table {self.table!r}")

    def tables(self, *, line_items: bool = False) -> tuple[str, ...]:
        """The tables a file of this kind writes; ``line_items``: it carries line items."""
        return (self.table, *self.also_writes, *(("items",) if line_items else ()))

    def expected_columns(self) -> str:
        """The columns a file of this kind needs and may have, for messages."""
        needed = ", ".join(" or ".join(group) for group in self.required)
        optional = ", ".join(c for c in self.columns if all(c not in g for g in self.required))
        return f"{self.name} files need {needed}; they may also have {optional}"


def _person_ref(row: Row) -> str:
    if row.get("customer_id"):
        return f"c:{row['customer_id']}"
    if row.get("email"):
        return f"e:{row['email']}"
    raise BadValue("the row has neither customer_id nor email")


def _product_ref(row: Row) -> str:
    if row.get("product_id"):
        return f"p:{row['product_id']}"
    if row.get("sku"):
        return f"s:{row['sku']}"
    raise BadValue("the row has neither product_id nor sku")


def _composite(*parts: object) -> str:
    """The parts as a JSON list, as ``json.dumps(parts, ensure_ascii=False)`` writes it.

    Keys of texts and empty values are written here: json.dumps took 4 us a key, most of
    a subscribers file's Python time."""
    if all(part is None or type(part) is str for part in parts):
        texts = cast("tuple[str | None, ...]", parts)
        return "[" + ", ".join("null" if p is None else json_text(p) for p in texts) + "]"
    return json.dumps(parts, ensure_ascii=False)


def customer_row(row: Row) -> tuple:
    key = _person_ref(row)
    return (
        key,
        row.get("customer_id"),
        row.get("email"),
        row.get("first_name"),
        row.get("last_name"),
        row.get("created_at"),
        row.get("accepts_marketing"),
        row.get("country"),
        row.get("region"),
        row.get("city"),
        row.get("tags") or "[]",
        row.get("customer_group"),
        row.get("channel"),
        row.get("custom") or "{}",
    )


def order_row(row: Row) -> tuple:
    """A whole order from one row of a flat orders file.

    An order with neither customer_id nor email is kept as an anonymous order: it belongs
    to no person and is in no segment (point-of-sale sales, exports without customers).
    """
    if not row.get("order_id"):
        raise BadValue("order_id is empty")
    if row.get("created_at") is None:
        raise BadValue("created_at is empty")
    if row.get("total") is None:
        raise BadValue("total is empty")
    # The original total and the rate are set when the order is converted (currencies.py).
    # An order's status is read as text (values.status).
    status = cast("str | None", row.get("status"))
    return (*order_head(row), values.is_counted(status), None, None)


def order_head(row: Row) -> tuple:
    """The order-level fields of a row (in the line-item form they may all be empty)."""
    return (
        row.get("order_id"),
        row.get("customer_id"),
        row.get("email"),
        row.get("created_at"),
        row.get("total"),
        row.get("status"),
        row.get("currency"),
        row.get("accepts_marketing"),
        row.get("country"),
        row.get("region"),
        row.get("city"),
    )


def item_row(row: Row) -> tuple:
    if not row.get("order_id"):
        raise BadValue("order_id is empty")
    if not (row.get("product_id") or row.get("sku") or row.get("title")):
        raise BadValue("the line item has no product_id, sku or title")
    quantity = row.get("quantity")
    return (
        row.get("order_id"),
        row.get("product_id"),
        row.get("sku"),
        row.get("title"),
        row.get("collection"),
        1 if quantity is None else quantity,
        row.get("price"),
        row.get("vendor"),
    )


def product_row(row: Row) -> tuple:
    return (
        _product_ref(row),
        row.get("product_id"),
        row.get("sku"),
        row.get("title"),
        row.get("collections") or "[]",
        row.get("product_type"),
        row.get("vendor"),
        row.get("tags") or "[]",
    )


def review_row(row: Row) -> tuple:
    person = _person_ref(row)
    product = _product_ref(row)
    if row.get("rating") is None:
        raise BadValue("rating is empty")
    if row.get("review_id"):
        key = f"r:{row['review_id']}"
    else:
        key = _composite(person, product, row.get("created_at"))
    return (
        key,
        row.get("review_id"),
        row.get("customer_id"),
        row.get("email"),
        row.get("product_id"),
        row.get("sku"),
        row.get("rating"),
        row.get("created_at"),
        row.get("title"),
        row.get("body"),
    )


def subscriber_row(row: Row) -> tuple:
    email = row.get("email")
    if not email:
        raise BadValue("email is empty")
    status = row.get("status") or "subscribed"
    subscribed_at = row.get("subscribed_at")
    return (
        _composite(email, subscribed_at, status),
        email,
        subscribed_at,
        status,
        row.get("source"),
    )


def cart_row(row: Row) -> tuple:
    person = _person_ref(row)
    if row.get("created_at") is None:
        raise BadValue("created_at is empty")
    key = f"k:{row['cart_id']}" if row.get("cart_id") else _composite(person, row["created_at"])
    return (
        key,
        row.get("cart_id"),
        row.get("customer_id"),
        row.get("email"),
        row.get("created_at"),
        row.get("total"),
    )


# Building a batch's rows column by column. Each returns the stored columns (key first) of
# the same rows as its kind's row builder above, or None when some row of the batch fails a
# check: the batch is then built row by row, which names each row's problem.


def _column(columns: Columns, name: str, n: int) -> list:
    return columns.get(name) or [None] * n


def _person_refs(columns: Columns, n: int) -> list[str | None]:
    return [
        f"c:{customer}" if customer else (f"e:{email}" if email else None)
        for customer, email in zip(
            _column(columns, "customer_id", n), _column(columns, "email", n), strict=True
        )
    ]


def _product_refs(columns: Columns, n: int) -> list[str | None]:
    return [
        f"p:{product}" if product else (f"s:{sku}" if sku else None)
        for product, sku in zip(
            _column(columns, "product_id", n), _column(columns, "sku", n), strict=True
        )
    ]


def _zipped(columns: Columns, n: int, first: list, names: tuple[str, ...]) -> list[list]:
    return [first, *(_column(columns, name, n) for name in names)]


def _customer_rows(columns: Columns, n: int) -> list[list] | None:
    keys = _person_refs(columns, n)
    if None in keys:
        return None
    defaults = {"tags": ["[]"] * n, "custom": ["{}"] * n}
    return _zipped(defaults | columns, n, keys, CUSTOMERS.stored)


def _order_rows(columns: Columns, n: int) -> list[list] | None:
    ids = _column(columns, "order_id", n)
    if None in ids or None in _column(columns, "created_at", n):
        return None
    if None in _column(columns, "total", n):
        return None
    uncounted = values.UNCOUNTED_STATUSES
    counted = [0 if status in uncounted else 1 for status in _column(columns, "status", n)]
    return _zipped(columns | {"counted": counted}, n, ids, ORDERS.stored)


def _item_rows(columns: Columns, n: int) -> list[list] | None:
    ids = _column(columns, "order_id", n)
    if None in ids:
        return None
    products = zip(
        _column(columns, "product_id", n),
        _column(columns, "sku", n),
        _column(columns, "title", n),
        strict=True,
    )
    if not all(product or sku or title for product, sku, title in products):
        return None
    quantities = [1 if q is None else q for q in _column(columns, "quantity", n)]
    return _zipped(columns | {"quantity": quantities}, n, ids, ITEMS.stored)


def _subscriber_rows(columns: Columns, n: int) -> list[list] | None:
    emails = _column(columns, "email", n)
    if None in emails:
        return None
    statuses = [status or "subscribed" for status in _column(columns, "status", n)]
    dates = _column(columns, "subscribed_at", n)
    keys = [_composite(*key) for key in zip(emails, dates, statuses, strict=True)]
    return _zipped(columns | {"status": statuses}, n, keys, SUBSCRIBERS.stored)


def _cart_rows(columns: Columns, n: int) -> list[list] | None:
    people = _person_refs(columns, n)
    dates = _column(columns, "created_at", n)
    if None in people or None in dates:
        return None
    keys = [
        f"k:{cart}" if cart else _composite(person, date)
        for cart, person, date in zip(_column(columns, "cart_id", n), people, dates, strict=True)
    ]
    return _zipped(columns, n, keys, CARTS.stored)


def _review_rows(columns: Columns, n: int) -> list[list] | None:
    people = _person_refs(columns, n)
    products = _product_refs(columns, n)
    if None in people or None in products or None in _column(columns, "rating", n):
        return None
    keys = [
        f"r:{review}" if review else _composite(person, product, date)
        for review, person, product, date in zip(
            _column(columns, "review_id", n),
            people,
            products,
            _column(columns, "created_at", n),
            strict=True,
        )
    ]
    return _zipped(columns, n, keys, REVIEWS.stored)


def _product_rows(columns: Columns, n: int) -> list[list] | None:
    keys = _product_refs(columns, n)
    if None in keys:
        return None
    defaults = {"collections": ["[]"] * n, "tags": ["[]"] * n}
    return _zipped(defaults | columns, n, keys, PRODUCTS.stored)


_PERSON = {"customer_id": values.identifier, "email": values.email}
_PRODUCT = {"product_id": values.text, "sku": values.text}
_LINE_ITEM: dict[str, Parser] = {
    **_PRODUCT,
    "title": values.text,
    "collection": values.text,
    "quantity": values.integer,
    "price": values.money,
    "vendor": values.text,
}

CUSTOMERS = Kind(
    name="customers",
    table="customers",
    columns={
        **_PERSON,
        "first_name": values.text,
        "last_name": values.text,
        "created_at": values.timestamp,
        "accepts_marketing": values.boolean,
        "country": values.text,
        "region": values.text,
        "city": values.text,
        "tags": values.tags,
        "customer_group": values.text,
        "channel": values.text,
    },
    required=(("customer_id", "email"),),
    stored=(
        "customer_id",
        "email",
        "first_name",
        "last_name",
        "created_at",
        "accepts_marketing",
        "country",
        "region",
        "city",
        "tags",
        "customer_group",
        "channel",
        "custom",
    ),
    row=customer_row,
    batch_rows=_customer_rows,
    keeps_unknown_columns=True,
)

ORDERS = Kind(
    name="orders",
    table="orders",
    columns={
        "order_id": values.text,
        **_PERSON,
        "created_at": values.timestamp,
        "total": values.money,
        "status": values.status,
        "currency": values.currency,
        "accepts_marketing": values.boolean,
        "country": values.text,
        "region": values.text,
        "city": values.text,
    },
    required=(("order_id",), ("created_at",), ("total",), ("customer_id", "email")),
    stored=(
        "customer_id",
        "email",
        "created_at",
        "total",
        "status",
        "currency",
        "accepts_marketing",
        "country",
        "region",
        "city",
        "counted",
        # An order in another currency than the store's: its total as given (in
        # ``currency``) and the rate that converted it into ``total``.
        "original_total",
        "rate",
    ),
    row=order_row,
    batch_rows=_order_rows,
    key_column="order_id",
    keeps_anonymous_rows=True,
    converts_currency=True,
    line_item_columns=_LINE_ITEM,
)

# The order-level columns a file gives (the others are derived: counted, and the
# original total and rate of a converted order).
ORDER_HEAD_COLUMNS = ORDERS.stored[: ORDERS.stored.index("counted")]

ITEMS = Kind(
    name="items",
    table="items",
    columns={"order_id": values.text, **_LINE_ITEM},
    required=(("order_id",), ("product_id", "sku", "title")),
    stored=("product_id", "sku", "title", "collection", "quantity", "price", "vendor"),
    row=item_row,
    batch_rows=_item_rows,
    key_column="order_id",
    names_people=False,
    # An order's lines are numbered as they come, and replaced order by order.
    fill_empty=fill_items,
    merge=merge_items_file,
)

PRODUCTS = Kind(
    name="products",
    table="products",
    columns={
        **_PRODUCT,
        "title": values.text,
        "collections": values.collections,
        "product_type": values.text,
        "vendor": values.text,
        "tags": values.tags,
    },
    required=(("product_id", "sku"),),
    stored=("product_id", "sku", "title", "collections", "product_type", "vendor", "tags"),
    row=product_row,
    batch_rows=_product_rows,
    names_people=False,
    # Always staged: the merge also fills product_collections, which the direct path does not.
    fill_empty=None,
    merge=merge_products,
    also_writes=("product_collections",),
)

REVIEWS = Kind(
    name="reviews",
    table="reviews",
    columns={
        "review_id": values.text,
        **_PERSON,
        **_PRODUCT,
        "rating": values.rating,
        "created_at": values.timestamp,
        "title": values.text,
        "body": values.text,
    },
    required=(("customer_id", "email"), ("product_id", "sku"), ("rating",)),
    stored=(
        "review_id",
        "customer_id",
        "email",
        "product_id",
        "sku",
        "rating",
        "created_at",
        "title",
        "body",
    ),
    row=review_row,
    batch_rows=_review_rows,
)

SUBSCRIBERS = Kind(
    name="subscribers",
    table="subscribers",
    columns={
        "email": values.email,
        "subscribed_at": values.timestamp,
        "status": values.subscription_status,
        "source": values.text,
    },
    required=(("email",),),
    stored=("email", "subscribed_at", "status", "source"),
    row=subscriber_row,
    batch_rows=_subscriber_rows,
)

CARTS = Kind(
    name="carts",
    table="carts",
    columns={
        "cart_id": values.text,
        **_PERSON,
        "created_at": values.timestamp,
        "total": values.money,
    },
    required=(("customer_id", "email"), ("created_at",)),
    stored=("cart_id", "customer_id", "email", "created_at", "total"),
    row=cart_row,
    batch_rows=_cart_rows,
)

KINDS: dict[str, Kind] = {
    kind.name: kind for kind in (CUSTOMERS, ORDERS, ITEMS, PRODUCTS, REVIEWS, SUBSCRIBERS, CARTS)
}

# Each kind's builders by its name, for the tests that check the two agree.
BATCH_BUILDERS = {name: kind.batch_rows for name, kind in KINDS.items()}
ROW_BUILDERS = {name: kind.row for name, kind in KINDS.items()}


def known_columns(kind: Kind) -> dict[str, Parser]:
    """Every column a file of this kind may have (an orders file may carry line items)."""
    return {**kind.columns, **kind.line_item_columns}


def has_line_items(kind: Kind, names: set[str] | dict[str, int]) -> bool:
    """Whether a header of this kind is in the line-item form (an orders file with items)."""
    return bool(kind.line_item_columns) and ("product_id" in names or "sku" in names)


def missing_columns(kind: Kind, names: set[str] | dict[str, int]) -> list[str]:
    """The required column groups a header lacks, as "a or b"."""
    required = kind.required
    if has_line_items(kind, names):
        # In the line-item form an order's total may be left out: it is summed from its lines.
        required = tuple(group for group in required if group != ("total",))
    return [" or ".join(group) for group in required if not any(c in names for c in group)]
