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

LAYOUTS: dict[tuple[str, str], Layout] = {
    (layout.dialect, layout.kind): layout
    for layout in (SHOPIFY_ORDERS, SHOPIFY_CUSTOMERS, WOOCOMMERCE_CUSTOMERS, WOOCOMMERCE_ORDERS)
}


def kinds_of(dialect: str) -> list[str]:
    """The kinds of file a dialect has exports for."""
    return sorted(kind for d, kind in LAYOUTS if d == dialect)


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
    read = set()
    for source in layout.columns.values():
        inputs = source if isinstance(source, tuple) else source.inputs
        read.update(name for name in inputs if name in names)
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

            def get(name: str, fields=fields) -> str:
                position = positions.get(name)
                if position is None or position >= len(fields):
                    return ""
                return _APOSTROPHE_NUMBER.sub("", fields[position], count=1).strip()

            self._check_ids(get)
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

    def _check_ids(self, get: Getter) -> None:
        for name in self.layout.id_columns:
            value = get(name)
            if value and scientific(value):
                shown = next(h.strip() for h in self.header if h.strip().lower() == name)
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
