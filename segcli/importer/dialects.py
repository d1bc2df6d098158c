"""Platform exports (Shopify, WooCommerce) read as segcli's native columns.

A layout says, for one platform's file of one kind, where each native column comes from:
a list of the platform's column names (the first one present and filled wins, so one
layout covers the variants seen in the wild) or a small function of the row. A
``Translation`` applies a layout to a file's header and turns each record into native
records, which the native importer then parses like any other file. It also mends what
spreadsheets leave in exported files (leading apostrophes) and notices what they break
(ids in scientific notation).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from segcli.errors import BadValue, ImportRefused
from segcli.importer.reader import Record

NATIVE = "native"
SHOPIFY = "shopify"
WOOCOMMERCE = "woocommerce"
DIALECTS = (NATIVE, SHOPIFY, WOOCOMMERCE)

Getter = Callable[[str], str]


@dataclass(frozen=True)
class Derived:
    """A native value computed from some platform columns (``inputs``) of the row."""

    inputs: tuple[str, ...]
    compute: Callable[[Getter], str]


# A native column's source: platform column names (the first filled one wins), or Derived.
Source = tuple[str, ...] | Derived


@dataclass(frozen=True)
class Family:
    """Rows that stand for a variant of a product given on another row of the file.

    Exports write a product's own fields (title, type, vendor, categories, tags) on one
    row only: Shopify on the first row of the product's rows, WooCommerce on the variable
    product's row, which its variations name as their ``Parent``. A variant's row takes
    those cells from its product's row where it leaves them empty.
    """

    # The platform columns a variant takes from its product's row.
    inherited: tuple[str, ...]
    # The name of the row's product ("" for none); a product's own row may name itself.
    product_of: Callable[[Getter], str]
    # The names by which other rows name this row as their product (none: it is no product).
    known_as: Callable[[Getter], tuple[str, ...]]
    # The platform columns the two functions read.
    inputs: tuple[str, ...]
    # A product's rows follow each other (Shopify), so only the latest product is kept:
    # memory stays bounded. Otherwise every product with variants is kept until the end.
    together: bool = False
    # A variant's row that stands for no product row (Shopify's rows of extra images).
    adds_nothing: Callable[[Getter], bool] | None = None
    # A column a product's own row always fills: a product row without it is a variant
    # whose product's row is elsewhere (a file sorted by something else).
    product_fills: str | None = None
    # What the import summary says of rows that add nothing, of product rows without the
    # column above, and of variants whose product was not found above them.
    adds_nothing_note: str = ""
    scattered_note: str = ""
    lost_product_note: str = ""


# 5.27763E+12: a long number a spreadsheet displayed, and saved, with its digits cut.
_SCIENTIFIC = re.compile(r"[0-9](?:\.[0-9]+)?[eE]\+[0-9]+")
# Spreadsheets and Shopify write a leading apostrophe to keep a number as text: '92591.
_APOSTROPHE_NUMBER = re.compile(r"^\s*'(?=[0-9+-])")


@dataclass(frozen=True)
class Layout:
    """One platform's export of one kind, as native columns."""

    dialect: str
    kind: str
    title: str
    columns: dict[str, Source]
    # Groups of platform columns (lower case); the file needs one column of each group.
    required: tuple[tuple[str, ...], ...]
    # Columns that together identify the layout when --from was not given.
    signature: frozenset[str]
    # Platform columns that hold ids: a cut-off number in them is reported.
    id_columns: tuple[str, ...] = ()
    # Extra records a row stands for (WooCommerce's line_item_N cells), as native values.
    line_items: Callable[[Getter, list[str]], list[dict[str, str]]] | None = None
    item_columns: tuple[str, ...] = ()
    # Rows that are variants of a product on another row, and what they take from it.
    family: Family | None = None

    def native_header(self) -> list[str]:
        return [*self.columns, *(c for c in self.item_columns if c not in self.columns)]


def _first(*names: str) -> tuple[str, ...]:
    return names


# -- Shopify ---------------------------------------------------------------------------


def _shopify_status(get: Getter) -> str:
    """An order cancelled at some date is cancelled; otherwise its financial status."""
    if get("cancelled at"):
        return "cancelled"
    return get("financial status")


SHOPIFY_ORDERS = Layout(
    dialect=SHOPIFY,
    kind="orders",
    title="Shopify orders export",
    columns={
        "order_id": _first("name"),
        "email": _first("email"),
        "created_at": _first("created at"),
        "total": _first("total"),
        "status": Derived(("cancelled at", "financial status"), _shopify_status),
        "currency": _first("currency"),
        "accepts_marketing": _first("accepts marketing", "accepts email marketing"),
        "country": _first("billing country"),
        "region": _first("billing province", "billing province name"),
        "city": _first("billing city"),
        "sku": _first("lineitem sku"),
        "title": _first("lineitem name"),
        "quantity": _first("lineitem quantity"),
        "price": _first("lineitem price"),
        "vendor": _first("vendor"),
    },
    required=(("name",), ("created at",), ("lineitem name", "lineitem sku")),
    signature=frozenset({"name", "financial status", "created at", "lineitem name"}),
    id_columns=("name", "id", "lineitem sku"),
)

SHOPIFY_CUSTOMERS = Layout(
    dialect=SHOPIFY,
    kind="customers",
    title="Shopify customers export",
    columns={
        "customer_id": _first("customer id"),
        "email": _first("email"),
        "first_name": _first("first name"),
        "last_name": _first("last name"),
        "accepts_marketing": _first("accepts email marketing", "accepts marketing"),
        "country": _first("default address country code", "country code", "country"),
        "region": _first("default address province code", "province code", "province"),
        "city": _first("default address city", "city"),
        "tags": _first("tags"),
        # Shopify's own figures and the merchant's note, kept as custom fields.
        "note": _first("note"),
        "total_spent": _first("total spent"),
        "total_orders": _first("total orders"),
    },
    required=(("customer id", "email"),),
    signature=frozenset({"first name", "last name", "email", "total spent", "total orders"}),
    id_columns=("customer id",),
)


def category_collections(path: str) -> list[str]:
    """A category path as the collections a product in it is in.

    ``Clothing > Hoodies`` is a sub-category of Clothing: a hoodie is in the collection
    Hoodies, in Clothing (the store lists it there too), and in ``Clothing > Hoodies``
    (to tell it from another Hoodies under another category). Each level is named by
    itself and, below the top, by its path.
    """
    levels = [level.strip() for level in path.split(">") if level.strip()]
    names = []
    for depth, level in enumerate(levels, start=1):
        names.append(level)
        if depth > 1:
            names.append(" > ".join(levels[:depth]))
    return names


_SHOPIFY_OPTIONS = ("option1 value", "option2 value", "option3 value")
# A row of a product's rows with none of these filled adds an image, not a variant.
_SHOPIFY_VARIANT_CELLS = (
    "variant sku",
    "sku",
    *_SHOPIFY_OPTIONS,
    "variant price",
    "price",
    "variant barcode",
    "barcode",
)


def _shopify_handle(get: Getter) -> str:
    """The product's handle; exports since 2025 call the column ``URL handle``."""
    return get("handle") or get("url handle")


def _shopify_options(get: Getter) -> list[str]:
    """The variant's option values; a product's only variant is ``Default Title``."""
    values = [value for name in _SHOPIFY_OPTIONS if (value := get(name))]
    return [] if values == ["Default Title"] else values


def _shopify_product_id(get: Getter) -> str:
    """The handle, and for one of several variants its option values too.

    The export has no product or variant id, and every variant is a product row of its
    own (each may carry a SKU an order line names): ``example-shirt/Green/S``.
    """
    handle = _shopify_handle(get)
    return "/".join([handle, *_shopify_options(get)]) if handle else ""


def _shopify_title(get: Getter) -> str:
    """The variant as an order line names it: ``Example T-Shirt - Green / S``.

    A line of an orders export without a SKU is known only by this name (Shopify joins
    the product's title and the variant's options so), and so is found by it.
    """
    title = get("title")
    options = _shopify_options(get)
    return f"{title} - {' / '.join(options)}" if title and options else title


def _shopify_collections(get: Getter) -> str:
    """Shopify's product category (a path in its taxonomy), and a ``Collection`` cell.

    The export has no column of the store's own collections; files made for Shopify's
    import (and some apps' exports) may have a ``Collection``.
    """
    category = get("product category") or get("standard product type")
    names = category_collections(category)
    if get("collection"):
        names.append(get("collection"))
    return "; ".join(names)


def _shopify_adds_an_image(get: Getter) -> bool:
    return not any(get(name) for name in _SHOPIFY_VARIANT_CELLS)


SHOPIFY_PRODUCTS = Layout(
    dialect=SHOPIFY,
    kind="products",
    title="Shopify products export",
    columns={
        "product_id": Derived(("handle", "url handle", *_SHOPIFY_OPTIONS), _shopify_product_id),
        "sku": _first("variant sku", "sku"),
        "title": Derived(("title", *_SHOPIFY_OPTIONS), _shopify_title),
        "collections": Derived(
            ("product category", "standard product type", "collection"), _shopify_collections
        ),
        # Exports of 2021-2022 had "Custom Product Type" where later ones have "Type".
        "product_type": _first("type", "custom product type"),
        "vendor": _first("vendor"),
        "tags": _first("tags"),
    },
    required=(("handle", "url handle"),),
    signature=frozenset({"title", "vendor", "option1 name", "option1 value"}),
    id_columns=("variant sku", "sku"),
    family=Family(
        inherited=(
            "title",
            "vendor",
            "type",
            "custom product type",
            "tags",
            "product category",
            "standard product type",
            "collection",
        ),
        # Every row names its product by its handle, the product's first row included.
        product_of=_shopify_handle,
        known_as=lambda get: (handle,) if (handle := _shopify_handle(get)) else (),
        inputs=("handle", "url handle"),
        together=True,
        adds_nothing=_shopify_adds_an_image,
        product_fills="title",
        adds_nothing_note="rows that only add an image to the product above them are skipped",
        scattered_note=(
            "rows start a product but have no Title: a product's rows out of their place (a "
            "file sorted by another column?) lack its title, type, vendor and tags; keep "
            "each product's rows together, as Shopify writes them"
        ),
    ),
)

# -- WooCommerce -----------------------------------------------------------------------


def _split_name(get: Getter, part: int) -> str:
    """WooCommerce's Name is first and last name joined by a space; the first word is first."""
    first, _, last = get("name").strip().partition(" ")
    return (first, last.strip())[part]


WOOCOMMERCE_CUSTOMERS = Layout(
    dialect=WOOCOMMERCE,
    kind="customers",
    title="WooCommerce customers download",
    columns={
        "email": _first("email"),
        "first_name": Derived(("name",), lambda get: _split_name(get, 0)),
        "last_name": Derived(("name",), lambda get: _split_name(get, 1)),
        "created_at": _first("sign up", "date registered"),
        "country": _first("country / region", "country"),
        "region": _first("region"),
        "city": _first("city"),
        # WooCommerce's own figures, kept as custom fields.
        "username": _first("username"),
        "last_active": _first("last active"),
        "orders": _first("orders"),
        "total_spend": _first("total spend"),
        "aov": _first("aov"),
    },
    required=(("email",),),
    signature=frozenset({"username", "email", "total spend", "aov"}),
)


def _woo_status(get: Getter) -> str:
    """WooCommerce stores statuses as ``wc-completed``; exports write either form."""
    value = get("status").strip().lower()
    return value.removeprefix("wc-")


def _woo_customer_id(get: Getter) -> str:
    """The customer's user id; 0 (or empty) is a guest, known by email only."""
    value = get("customer_id").strip()
    return "" if value in ("", "0") else value


def _woo_line_items(get: Getter, names: list[str]) -> list[dict[str, str]]:
    """The line items of one order row.

    The WebToffee order export writes one item per ``line_item_N`` cell; the SkyVerge
    export writes them all in one ``line_items`` cell, separated by ``;``.
    """
    items = []
    for name in names:
        cell = get(name).strip()
        if not cell:
            continue
        parts = _split_escaped(cell, ";") if name == "line_items" else [cell]
        items += [parse_woo_line_item(part, name) for part in parts if part.strip()]
    return items


def _split_escaped(text: str, separator: str) -> list[str]:
    """Split at separators not preceded by a backslash; a backslash escapes any character."""
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def parse_woo_line_item(cell: str, column: str) -> dict[str, str]:
    """``name:Hoodie|product_id:45|sku:HD-1|quantity:2|total:40.00`` as native item values.

    The price is the line's total (after discounts) divided by its quantity when that is
    exact to four decimals, else left unset (the order's total is given anyway).
    """
    values: dict[str, str] = {}
    for part in _split_escaped(cell, "|"):
        key, colon, value = part.partition(":")
        while key.endswith("\\") and colon:
            # An escaped colon belongs to the key; the value starts at the next one.
            more, colon, value = value.partition(":")
            key = f"{key[:-1]}:{more}"
        if colon:
            values.setdefault(_unescape(key).strip().lower(), _unescape(value).strip())
    if "name" not in values and "product_id" not in values and "sku" not in values:
        raise BadValue(
            f"{column} is not a line item (expected name:...|product_id:...|quantity:...)"
        )
    quantity = values.get("quantity", values.get("qty", ""))
    sku = values.get("sku", "")
    return {
        # A deleted product is exported as product 0 with the SKU "unknown_product".
        "product_id": "" if values.get("product_id") == "0" else values.get("product_id", ""),
        "sku": "" if sku == "unknown_product" else sku,
        "title": values.get("name", ""),
        "quantity": quantity,
        "price": _woo_price(values, quantity),
    }


def _woo_price(values: dict[str, str], quantity: str) -> str:
    if values.get("item_price"):
        return values["item_price"]
    try:
        price = Decimal(values.get("total", "")) / Decimal(quantity)
    except (InvalidOperation, ZeroDivisionError):
        return ""
    if price != price.quantize(Decimal("0.0001")):
        return ""
    return str(price.quantize(Decimal("0.0001")).normalize())


WOOCOMMERCE_ORDERS = Layout(
    dialect=WOOCOMMERCE,
    kind="orders",
    title="WooCommerce order export",
    columns={
        "order_id": _first("order_id"),
        "customer_id": Derived(("customer_id",), _woo_customer_id),
        "email": _first("customer_email", "billing_email", "email"),
        "created_at": _first("order_date", "date"),
        "total": _first("order_total"),
        "status": Derived(("status",), _woo_status),
        "currency": _first("order_currency", "currency"),
        "country": _first("billing_country"),
        "region": _first("billing_state", "billing_state_code"),
        "city": _first("billing_city"),
    },
    required=(("order_id",), ("order_date", "date"), ("order_total",)),
    signature=frozenset({"order_id", "status", "order_total"}),
    id_columns=("order_id",),
    line_items=_woo_line_items,
    item_columns=("product_id", "sku", "title", "quantity", "price"),
)


def _woo_list(cell: str) -> list[str]:
    """A WooCommerce list cell: values joined by ``, ``, a comma in a value escaped ``\\,``."""
    return [value for part in _split_escaped(cell, ",") if (value := _unescape(part).strip())]


def _woo_types(get: Getter) -> list[str]:
    """``simple, downloadable, virtual``: the product type and its flags, lower case."""
    return [value.lower() for value in _woo_list(get("type"))]


def _woo_product_type(get: Getter) -> str:
    """The type the merchant picks as "Product type": simple, grouped, external, variable.

    A variation is a variant of a variable product, and of its type.
    """
    kind = next(iter(_woo_types(get)), "")
    return "variable" if kind == "variation" else kind


def _woo_collections(get: Getter) -> str:
    return "; ".join(
        name for path in _woo_list(get("categories")) for name in category_collections(path)
    )


def _woo_vendor(get: Getter) -> str:
    """The product's brand (its first, if several), by its own name: ``Nike > Jordan``
    is Jordan."""
    brands = _woo_list(get("brands"))
    return brands[0].split(">")[-1].strip() if brands else ""


def _woo_parent(get: Getter) -> str:
    """A variation's parent, as the export names it: its SKU, else ``id:`` and its ID."""
    return get("parent") if "variation" in _woo_types(get) else ""


def _woo_names(get: Getter) -> tuple[str, ...]:
    """The names a variable product's variations give it as their parent."""
    if "variable" not in _woo_types(get):
        return ()
    names = (get("sku"), f"id:{get('id')}" if get("id") else "")
    return tuple(name for name in names if name)


WOOCOMMERCE_PRODUCTS = Layout(
    dialect=WOOCOMMERCE,
    kind="products",
    title="WooCommerce products export",
    columns={
        "product_id": _first("id"),
        "sku": _first("sku"),
        "title": _first("name"),
        "collections": Derived(("categories",), _woo_collections),
        "product_type": Derived(("type",), _woo_product_type),
        "vendor": Derived(("brands",), _woo_vendor),
        "tags": Derived(("tags",), lambda get: ", ".join(_woo_list(get("tags")))),
    },
    # The key, and something only a products export has (a file of SKUs alone is not one).
    required=(("id", "sku"), ("name", "type", "categories")),
    signature=frozenset({"type", "sku", "name", "categories"}),
    id_columns=("id", "sku"),
    family=Family(
        inherited=("categories", "tags", "brands"),
        product_of=_woo_parent,
        known_as=_woo_names,
        inputs=("type", "parent", "id", "sku"),
        lost_product_note=(
            "variations whose parent product is not above them in the file have no "
            "categories, tags or brand"
        ),
    ),
)

LAYOUTS: dict[tuple[str, str], Layout] = {
    (layout.dialect, layout.kind): layout
    for layout in (
        SHOPIFY_ORDERS,
        SHOPIFY_CUSTOMERS,
        SHOPIFY_PRODUCTS,
        WOOCOMMERCE_CUSTOMERS,
        WOOCOMMERCE_ORDERS,
        WOOCOMMERCE_PRODUCTS,
    )
}


def kinds_of(dialect: str) -> list[str]:
    """The kinds of file a dialect has exports for."""
    return sorted(kind for d, kind in LAYOUTS if d == dialect)


def kinds_in_words(dialect: str) -> str:
    """``customers, orders and products``: the kinds a dialect has exports for."""
    *others, last = kinds_of(dialect)
    return f"{', '.join(others)} and {last}" if others else last


def fitting_layouts(header: list[str]) -> list[Layout]:
    """The platform exports whose signature a header has, the most specific first."""
    names = {name.strip().lower() for name in header}
    found = [layout for layout in LAYOUTS.values() if layout.signature <= names]
    return sorted(found, key=lambda layout: -len(layout.signature))


def detect(header: list[str]) -> Layout | None:
    """The platform export a header looks like, if any."""
    found = fitting_layouts(header)
    return found[0] if found else None


def read_columns(layout: Layout, header: list[str]) -> set[str]:
    """The columns of a header (lower case) that some native column of the layout reads."""
    names = {name.strip().lower() for name in header}
    read: set[str] = set()
    for source in layout.columns.values():
        inputs = source if isinstance(source, tuple) else source.inputs
        read.update(name for name in inputs if name in names)
    if layout.family is not None:
        read.update(name for name in layout.family.inputs if name in names)
    return read


@dataclass
class Translation:
    """A platform file's records as native records, with what was noticed on the way."""

    layout: Layout
    path: Path
    header: list[str]
    # Per platform column: a message about it, and the number of rows it concerns.
    notes: dict[str, tuple[str, int]] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    _positions: dict[str, int] = field(default_factory=dict)
    _line_item_columns: list[str] = field(default_factory=list)
    # The products seen so far whose variants may follow: their inherited cells, by name.
    _products: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for position, name in enumerate(self.header):
            self._positions.setdefault(name.strip().lower(), position)
        missing = [
            " or ".join(repr(c) for c in group)
            for group in self.layout.required
            if not any(c in self._positions for c in group)
        ]
        if missing:
            raise ImportRefused(
                self.path,
                f"does not look like a {self.layout.title}: it has no column {', '.join(missing)}",
                hint=f"its columns are: {', '.join(h.strip() for h in self.header)}",
            )
        self.used = read_columns(self.layout, self.header)
        if self.layout.line_items is not None:
            self._line_item_columns = sorted(
                (
                    name
                    for name in self._positions
                    if re.fullmatch(r"line_item_\d+", name) or name == "line_items"
                ),
                key=lambda name: int(name.rsplit("_", 1)[1]) if name[-1].isdigit() else 0,
            )
            self.used.update(self._line_item_columns)

    @property
    def native_header(self) -> list[str]:
        return self.layout.native_header()

    def labels(self) -> dict[str, str]:
        """How messages name each native column: by the file's own column(s)."""
        shown = {h.strip().lower(): h.strip() for h in reversed(self.header)}
        labels = {}
        for native, source in self.layout.columns.items():
            names = source if isinstance(source, tuple) else source.inputs
            present = [shown[name] for name in names if name in shown]
            if present:
                labels[native] = f"{' / '.join(present)} ({native})"
        return labels

    def ignored(self) -> list[str]:
        """The file's columns that no native column reads, as the file writes them."""
        return [
            name.strip()
            for name in self.header
            if name.strip() and name.strip().lower() not in self.used
        ]

    def _note(self, column: str, message: str) -> None:
        first, count = self.notes.get(column, (message, 0))
        self.notes[column] = (first, count + 1)

    def records(self, source: Iterator[Record]) -> Iterator[Record]:
        """Each platform record as one or more native records with the same line number."""
        layout = self.layout
        columns = list(layout.columns.items())
        positions = self._positions
        for record in source:
            fields = record.fields

            def cell(name: str, fields: list[str] = fields) -> str:
                position = positions.get(name)
                if position is None or position >= len(fields):
                    return ""
                return _APOSTROPHE_NUMBER.sub("", fields[position], count=1).strip()

            get: Getter = cell
            self._check_ids(get)
            if layout.family is not None:
                in_family = self._in_family(layout.family, get)
                if in_family is None:
                    continue
                get = in_family
            row = {}
            for native, source_spec in columns:
                if isinstance(source_spec, tuple):
                    row[native] = next((v for name in source_spec if (v := get(name))), "")
                else:
                    row[native] = source_spec.compute(get)
            if scientific(row.get("customer_id", "")):
                # The id is lost; the customer is still known by their email.
                row["customer_id"] = ""
            lost = [c for c in ("order_id", "product_id", "sku") if scientific(row.get(c, ""))]
            if lost:
                yield Record(
                    record.line,
                    [],
                    problem=f"{lost[0]} {row[lost[0]]!r} lost its digits: a spreadsheet "
                    "saved it in scientific notation",
                )
                continue
            values = list(row.values())
            if layout.line_items is None:
                yield Record(record.line, values)
                continue
            try:
                items = layout.line_items(get, self._line_item_columns)
            except BadValue as error:
                yield Record(record.line, [], problem=error.reason)
                continue
            extra = [c for c in layout.item_columns if c not in layout.columns]
            if not items:
                yield Record(record.line, values + [""] * len(extra))
            for item in items:
                yield Record(record.line, values + [item.get(c, "") for c in extra])

    def _in_family(self, family: Family, get: Getter) -> Getter | None:
        """The row's cells, with its product's where it is a variant that leaves them empty.

        None for a row that stands for no product row (it is noted, not read).
        """
        parent = family.product_of(get)
        product = self._products.get(parent)
        if product is not None:
            if family.adds_nothing is not None and family.adds_nothing(get):
                self._note("(adds nothing)", family.adds_nothing_note)
                return None
            return lambda name: get(name) or product.get(name, "")
        names = family.known_as(get)
        if parent and parent not in names:
            self._note("(product not found)", family.lost_product_note)
        fills = family.product_fills
        if names and fills in self._positions and not get(fills):
            self._note("(scattered product)", family.scattered_note)
        if names:
            if family.together:
                self._products.clear()
            cells = {name: get(name) for name in family.inherited}
            self._products.update((name, cells) for name in names)
        return get

    def _shown(self, name: str) -> str:
        """A column as the file writes it."""
        return next(h.strip() for h in self.header if h.strip().lower() == name)

    def _check_ids(self, get: Getter) -> None:
        for name in self.layout.id_columns:
            value = get(name)
            if value and scientific(value):
                shown = self._shown(name)
                if name in self.used and self.layout.kind == "customers":
                    what = "so those customers are known by their email instead"
                elif name in self.used:
                    what = "so rows whose id it is are rejected"
                else:
                    what = "segcli does not use this column"
                self._note(
                    name,
                    f"column {shown!r} holds ids a spreadsheet saved in scientific notation "
                    f"(such as {value}): their digits are lost; {what}",
                )


def scientific(value: str) -> bool:
    """True for a number a spreadsheet wrote in scientific notation (its digits are lost)."""
    return bool(_SCIENTIFIC.fullmatch(value.strip()))
