"""The predicate table (SPEC 3.3): each predicate on a person's records is one row.

A row holds everything segcli knows of one predicate: the keys its mapping takes and the
node the parser builds from them, the SQL that finds its records, the records it counts
for ``--explain``, its sentence in English, its meaning in Python (which the tests'
reference evaluator reads, as it reads the operator table), and the names it gives that
the store should have. Adding a predicate is adding a row, its node in ast.py, and its
tests (docs/architecture.md says how).

The SQL is written through the context: its parameters (``context.add``), the as-of
bounds (``context.name``), its dialect, and the sets of people kept apart
(``context.kept``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol, cast

from segcli.money import units
from segcli.rules import ast
from segcli.rules.dates import AS_OF_END, DateValue, day_start, instant_text, next_day_start
from segcli.rules.operators import OPERATORS, PRIMITIVES, Primitive, fold, fold_list

if TYPE_CHECKING:
    from segcli.rules.compile import Context


# ---------------------------------------------------------------------------------
# Pieces of SQL the predicates share


def _window(column: str, window: ast.Window, context: Context) -> list[str]:
    terms = []
    if window.after is not None:
        terms.append(_bound(column, window.after, "after", context))
    if window.before is not None:
        terms.append(_bound(_upper(column, window, context), window.before, "before", context))
    return terms


def _upper(column: str, window: ast.Window, context: Context) -> str:
    """The column as an upper bound compares it. Without a lower bound the range is
    most of the table, and SQLite would still walk the date index and fetch every row
    from it (at a million people, 5-16 s against 0.6 s for reading the table)."""
    return column if window.after is not None else context.dialect.without_index(column)


def _bound(column: str, value: DateValue, side: str, context: Context) -> str:
    if value.instant is not None:
        moment = context.add(instant_text(value.instant))
        return f"{column} > {moment}" if side == "after" else f"{column} < {moment}"
    day = value.resolve_day(context.as_of)
    if side == "after":
        return f"{column} >= {context.add(next_day_start(day))}"
    return f"{column} < {context.add(day_start(day))}"


def _before_the_end(column: str, window: ast.Window, context: Context) -> str:
    """Records dated up to the end of the as-of day."""
    return f"{_upper(column, window, context)} < {context.name(AS_OF_END)}"


def _names(column: str, names: tuple[str, ...], context: Context) -> str:
    return f"{context.dialect.fold(column)} IN ({context.params.listed(fold_list(names))})"


def count_values(count: ast.Count, money: bool) -> tuple[int, ...]:
    """A number comparison's values as stored (money in ten-thousandths)."""
    values = count.value if isinstance(count.value, tuple) else (count.value,)
    return tuple(units(v) if money else int(v) for v in values)


def _count_primitive(count: ast.Count) -> Primitive:
    """The primitive of a number comparison in a predicate."""
    # Every operator a count takes (COUNT_OPERATORS, checked by the parser) has one.
    return PRIMITIVES[cast(str, OPERATORS[count.op].compare)]


def _counts(
    expression: str, counts: tuple[ast.Count, ...], money: bool, context: Context
) -> list[str]:
    terms = []
    for count in counts:
        placeholders = [context.add(v) for v in count_values(count, money)]
        primitive = _count_primitive(count)
        terms.append(primitive.sql(expression, placeholders, context.dialect))
    return terms


def _folded(names: tuple[str, ...], context: Context) -> str:
    """Names folded for case, as what follows IN: ``(:p1, :p2)``, or for a long list
    ``(SELECT value FROM json_each(:p1))``."""
    return f"({context.params.listed(fold_list(names))})"


def _stored(
    table: str, column: str, folded: str, context: Context, where: str = "", row: str | None = None
) -> str:
    """The stored values of a column that equal one of the names, ignoring case.

    Folding each distinct value (not each row) keeps the column's index usable for
    ``column IN (...)``: a product bought by a few people is found without a scan.
    For one person's few records (``row`` is their alias), the record's own value is
    folded instead: reading every distinct value of a large table would cost more.
    """
    fold_call = context.dialect.fold_call
    if row is not None:
        return f"(SELECT {row}.{column} WHERE {fold_call(f'{row}.{column}')} IN {folded})"
    distinct = context.dialect.distinct_values(table, column, where)
    return f"(SELECT value FROM ({distinct}) WHERE {fold_call('value')} IN {folded})"


def _values(table: str, column: str, folded: str, context: Context) -> str:
    """``_stored`` as a bare SELECT, to be combined with UNION."""
    return _stored(table, column, folded, context)[1:-1]


def _of_products(alias: str, products: str) -> list[str]:
    """A line item whose product is one of ``products``: by product_id or sku, or, for a
    line with neither, by title (Shopify's order lines mostly have no SKU: the products
    export titles each variant as its order lines name it)."""
    untitled = f"{alias}.product_id IS NULL AND {alias}.sku IS NULL"
    return [
        f"{alias}.product_id IN (SELECT product_id FROM {products})",
        f"{alias}.sku IN (SELECT sku FROM {products})",
        f"({untitled} AND {alias}.title IN (SELECT title FROM {products}))",
    ]


def _products_named(columns: tuple[str, ...], folded: str, context: Context) -> str:
    """The products (ids, SKU and title) whose ``columns``, folded, are among the names."""
    fold_call = context.dialect.fold_call
    matches = " OR ".join(f"{fold_call(column)} IN {folded}" for column in columns)
    return f"(SELECT product_id, sku, title FROM products WHERE {matches})"


def _product_match(
    alias: str, table: str, names: tuple[str, ...], context: Context, *, by_title: bool = False
) -> list[str]:
    """``product: X`` matches the record's product_id or sku, or the product_id, sku or
    title of its product in products.csv.

    A line item (``by_title``) is also known by its own title, whether or not it has an
    id: platform exports often have lines without a SKU, and merchants name products as
    their customers see them; and a line without ids is of the products with its title
    (``_of_products``). Returns the alternatives, any of which matches.
    """
    folded = _folded(names, context)
    row = alias if context.one_person else None
    named = _products_named(("product_id", "sku", "title"), folded, context)
    alternatives = [
        *_named_or_of_named(alias, table, "product_id", folded, named, context),
        *_named_or_of_named(alias, table, "sku", folded, named, context),
    ]
    if by_title:
        # The line's own title, and a line without ids is of the products with its title.
        alternatives += [
            f"{alias}.title IN {_stored(table, 'title', folded, context, row=row)}",
            _of_products(alias, named)[-1],
        ]
    return alternatives


def _named_or_of_named(
    alias: str, table: str, column: str, folded: str, named: str, context: Context
) -> list[str]:
    """A record whose ``column`` is one of the names, or that of a named product."""
    if context.one_person:
        # One person's few records: the record's own value folded, and the named products
        # found once (in a UNION with the record's value, SQLite found them again for
        # each record: 65 ms for one segment).
        own = context.dialect.fold_call(f"{alias}.{column}")
        return [f"{own} IN {folded}", f"{alias}.{column} IN (SELECT {column} FROM {named})"]
    # One IN list (the stored values that match, and those of the named products), so
    # that SQLite searches the column's index instead of scanning.
    values = _values(table, column, folded, context)
    return [f"{alias}.{column} IN ({values} UNION SELECT {column} FROM {named})"]


def _either(alternatives: list[str]) -> str:
    return "(" + " OR ".join(alternatives) + ")"


def _item_terms(node: ast.Purchased, context: Context) -> list[list[str]]:
    """What a line item must match: every term, each by any of its alternatives."""
    terms = []
    row = "i" if context.one_person else None
    fold_call = context.dialect.fold_call
    if node.product:
        terms.append(_product_match("i", "items", node.product, context, by_title=True))
    if node.collection:
        folded = _folded(node.collection, context)
        in_collection = (
            "(SELECT p.product_id, p.sku, p.title FROM products p JOIN product_collections pc "
            f"ON pc.record_key = p.record_key WHERE {fold_call('pc.collection')} IN {folded})"
        )
        terms.append(
            [
                f"i.collection IN {_stored('items', 'collection', folded, context, row=row)}",
                *_of_products("i", in_collection),
            ]
        )
    for column, names in (("product_type", node.product_type), ("vendor", node.vendor)):
        if names:
            folded = _folded(names, context)
            matching = (
                f"(SELECT product_id, sku, title FROM products "
                f"WHERE {fold_call(column)} IN {folded})"
            )
            if column == "vendor":
                # The line's own vendor (platform exports give it), else its product's.
                vendors = _stored(
                    "items", "vendor", folded, context, " WHERE vendor IS NOT NULL", row
                )
                terms.append([f"i.vendor IN {vendors}", *_of_products("i", matching)])
            else:
                terms.append(_of_products("i", matching))
    return terms


# ---------------------------------------------------------------------------------
# The records each predicate finds: a FROM item (with its alias) and a WHERE


def _purchased_where(node: ast.Purchased, context: Context) -> tuple[str, str]:
    terms = ["o.counted = 1", _before_the_end("o.created_at", node.window, context)]
    terms += _window("o.created_at", node.window, context)
    items = _item_terms(node, context)
    lines = " AND ".join(_either(term) for term in items)
    searches = context.dialect.searches_indexes
    if items and (context.one_person or (searches and node.window.after is not None)):
        # One person's orders, or the orders after a date (found by the date index):
        # each is checked through its own lines.
        terms.append(f"EXISTS (SELECT 1 FROM items i WHERE i.order_id = o.order_id AND {lines})")
    elif len(items) == 1 and searches:
        # The matching orders are found once, from the items, not order by order: one
        # index search per alternative (SQLite's OR of index searches costs far more).
        found = " UNION ALL ".join(
            f"SELECT i.order_id FROM items i WHERE {alternative}" for alternative in items[0]
        )
        terms.append(f"o.order_id IN ({found})")
    elif items:
        terms.append(lines_clause(lines))
        if context.parts is not None:
            context.parts.lines.append(lines)
    return "orders o", " AND ".join(terms)


def lines_clause(lines: str) -> str:
    """An order ``o`` has a line item ``i`` that meets ``lines``."""
    return f"o.order_id IN (SELECT i.order_id FROM items i WHERE {lines})"


def _reviewed_where(node: ast.Reviewed, context: Context) -> tuple[str, str]:
    terms = [f"(r.created_at IS NULL OR r.created_at < {context.name(AS_OF_END)})"]
    if node.product:
        terms.append(_either(_product_match("r", "reviews", node.product, context)))
    terms += _counts("r.rating", node.rating, False, context)
    terms += _window("r.created_at", node.window, context)
    return "reviews r", " AND ".join(terms)


def _abandoned_cart_where(node: ast.AbandonedCart, context: Context) -> tuple[str, str]:
    terms = [
        f"k.created_at < {context.name(AS_OF_END)}",
        *_window("k.created_at", node.window, context),
    ]
    return "carts k", " AND ".join(terms)


def _has_order_where(node: ast.HasOrder, context: Context) -> tuple[str, str]:
    terms = [_before_the_end("o.created_at", node.window, context)]
    if node.status:
        terms.append(_names("o.status", node.status, context))
    terms += _counts("o.total", node.total, True, context)
    terms += _window("o.created_at", node.window, context)
    if (node.status or node.total) and node.window.after is None and not context.one_person:
        return context.dialect.full_scan("orders o"), " AND ".join(terms)
    return "orders o", " AND ".join(terms)


# ---------------------------------------------------------------------------------
# Membership: the SQL that is 1 for a person who meets the predicate


def compile_matches(node: ast.Condition, context: Context) -> str:
    """SQL counting a person's records that match a predicate (for --explain)."""
    records = PREDICATES[type(node)].where
    # Asked only of a predicate with records (people.py checks): never of in_segment.
    assert records is not None
    table, where = records(node, context)
    alias = table.split()[1]
    return f"(SELECT count(*) FROM {table} WHERE {alias}.person_id = f.person_id AND {where})"


def predicate_sql(node: ast.Condition, context: Context) -> str:
    """Membership: some matching record (the row's own SQL where it has one)."""
    row = PREDICATES[type(node)]
    if row.membership is not None and (sql := row.membership(node, context)) is not None:
        return sql
    records = row.where
    # in_segment, the one predicate without records, is compiled as the segment it names.
    assert records is not None
    if context.one_person:
        table, where = records(node, context)
        alias = table.split()[1]
        return f"EXISTS (SELECT 1 FROM {table} WHERE {alias}.person_id = f.person_id AND {where})"

    def people(own: Context) -> str:
        # The set of matching people is computed once, not once per person. DISTINCT also
        # leads SQLite to read person ids from the (person_id, date) index rather than
        # each record through the date index (at 100,000 people: 0.1 s, not 1 s).
        table, where = records(node, own)
        alias = table.split()[1]
        if own.parts is not None:
            own.parts.records = (table, where)
        return (
            f"SELECT DISTINCT {alias}.person_id FROM {table} "
            f"WHERE {alias}.person_id IS NOT NULL AND {where}"
        )

    return f"coalesce(f.person_id IN ({context.kept(people)}), 0)"


def _names_products(node: ast.Purchased) -> bool:
    return bool(node.product or node.collection or node.product_type or node.vendor)


def _from_facts(node: ast.Purchased, context: Context) -> str | None:
    """``purchased`` that names no product, from the person's facts when they answer it.

    The facts hold each person's counted orders up to the as-of day: their number and
    the first and last date. Some counted order after a date is a last one after it,
    some before a date a first one before it, and ``times`` without a window is the
    number. Reading them costs a look at the facts instead of a pass over the orders
    (at a million people, 0.2 s against 2 s). A window with both ends needs the orders.
    """
    if _names_products(node):
        return None
    window = node.window
    if node.times:
        if window.after is not None or window.before is not None:
            return None
        return " AND ".join(_counts("f.orders_count", node.times, False, context))
    if window.after is not None and window.before is not None:
        return None
    if window.after is not None:
        return _bound("f.last_order_at", window.after, "after", context)
    if window.before is not None:
        return _bound("f.first_order_at", window.before, "before", context)
    return "f.orders_count > 0"


def _purchased_membership(node: ast.Purchased, context: Context) -> str | None:
    """From the facts where they answer it; with ``times``, the number of orders."""
    if (facts := _from_facts(node, context)) is not None:
        return f"coalesce(({facts}), 0)"
    if not node.times:
        return None
    if context.one_person:
        number = compile_matches(node, context)
        holds = " AND ".join(_counts(number, node.times, False, context))
        return f"coalesce(({holds}), 0)"
    return _times(node, context)


def _times(node: ast.Purchased, context: Context) -> str:
    """``purchased`` with ``times``: the people whose number of matching orders holds.

    Everyone's numbers are counted at once, grouped by person, rather than person by
    person. A person with no matching order is in when ``times`` holds for 0
    (``times: 0``, ``{lte: 2}``): then the members are everyone but those counted whose
    number fails.
    """
    none_in = all(
        _count_primitive(count).check(0, list(count_values(count, False))) for count in node.times
    )

    def people(own: Context) -> str:
        _, where = _purchased_where(node, own)
        holds = " AND ".join(_counts("count(*)", node.times, False, own))
        counted = (
            f"SELECT o.person_id FROM orders o WHERE o.person_id IS NOT NULL AND {where} "
            "GROUP BY o.person_id HAVING"
        )
        return f"{counted} NOT ({holds})" if none_in else f"{counted} {holds}"

    return f"coalesce(f.person_id {'NOT IN' if none_in else 'IN'} ({context.kept(people)}), 0)"


# ---------------------------------------------------------------------------------
# Meaning in Python: what the tests' reference evaluator reads


@dataclass(frozen=True)
class PersonRecords:
    """One person's records as of the as-of date, as plain dicts in the stored form
    (money in ten-thousandths, dates as UTC text ``YYYY-MM-DD HH:MM:SS``)."""

    as_of: date
    orders: list[dict[str, Any]]  # dated on or before the as-of day
    counted: list[dict[str, Any]]  # those of them that are counted
    reviews: list[dict[str, Any]]
    carts: list[dict[str, Any]]
    items: Callable[[str], list[dict[str, Any]]]  # an order's line items
    catalogue: list[dict[str, Any]]  # every product

    def products_of(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """A line's or a review's products, by product_id or sku."""
        return [
            p
            for p in self.catalogue
            if (p["product_id"] is not None and p["product_id"] == record["product_id"])
            or (p["sku"] is not None and p["sku"] == record["sku"])
        ]

    def line_products(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        """A line's products: by product_id or sku; a line with neither, by its title."""
        if item["product_id"] is None and item["sku"] is None:
            title = item["title"]
            return [p for p in self.catalogue if title is not None and p["title"] == title]
        return self.products_of(item)


def in_window(stored: str | None, window: ast.Window, as_of: date) -> bool:
    """A record's date inside a predicate's window (SPEC 3.6); an undated record is in
    no window but the open one."""
    if window.after is None and window.before is None:
        return True
    if stored is None:
        return False
    if window.after is not None:
        after = window.after
        if after.instant is not None:
            if not stored > instant_text(after.instant):
                return False
        elif not stored >= next_day_start(after.resolve_day(as_of)):
            return False
    if window.before is not None:
        before = window.before
        bound = (
            instant_text(before.instant)
            if before.instant is not None
            else day_start(before.resolve_day(as_of))
        )
        if not stored < bound:
            return False
    return True


def counts_hold(actual: object, counts: tuple[ast.Count, ...], money: bool) -> bool:
    """Every ``times`` / ``rating`` / ``total`` comparison holds for ``actual``."""
    return all(
        _count_primitive(count).check(actual, list(count_values(count, money))) for count in counts
    )


def _folded_set(names: Iterable[object]) -> set[str | None]:
    return {fold(name) for name in names}


def _is_product(
    record: dict[str, Any], names: tuple[str, ...], products: list[dict[str, Any]]
) -> bool:
    """``product: X``: the record's product_id or sku, or the product_id, sku or title of
    one of its ``products``."""
    ids = {fold(record["product_id"]), fold(record["sku"])}
    for product in products:
        ids |= {fold(product["product_id"]), fold(product["sku"]), fold(product["title"])}
    return bool(ids & _folded_set(names))


def _item_matches(item: dict[str, Any], node: ast.Purchased, person: PersonRecords) -> bool:
    products = person.line_products(item)
    if (
        node.product
        and not _is_product(item, node.product, products)
        and fold(item["title"]) not in _folded_set(node.product)
    ):
        return False
    if node.collection:
        collections = {fold(item["collection"])}
        for product in products:
            collections |= _folded_set(json.loads(product["collections"]))
        if not collections & _folded_set(node.collection):
            return False
    if node.product_type and not any(
        fold(p["product_type"]) in _folded_set(node.product_type) for p in products
    ):
        return False
    vendors = {fold(item["vendor"])} | {fold(p["vendor"]) for p in products}
    return not node.vendor or bool(vendors & _folded_set(node.vendor))


def _purchased(node: ast.Purchased, person: PersonRecords) -> bool:
    matching = {
        order["order_id"]
        for order in person.counted
        if in_window(order["created_at"], node.window, person.as_of)
        and (
            not _names_products(node)
            or any(_item_matches(item, node, person) for item in person.items(order["order_id"]))
        )
    }
    if node.times:
        return counts_hold(len(matching), node.times, money=False)
    return len(matching) >= 1


def _reviewed(node: ast.Reviewed, person: PersonRecords) -> bool:
    return any(
        (not node.product or _is_product(review, node.product, person.products_of(review)))
        and counts_hold(review["rating"], node.rating, money=False)
        and in_window(review["created_at"], node.window, person.as_of)
        for review in person.reviews
    )


def _abandoned_cart(node: ast.AbandonedCart, person: PersonRecords) -> bool:
    return any(in_window(cart["created_at"], node.window, person.as_of) for cart in person.carts)


def _has_order(node: ast.HasOrder, person: PersonRecords) -> bool:
    return any(
        (not node.status or fold(order["status"]) in _folded_set(node.status))
        and counts_hold(order["total"], node.total, money=True)
        and in_window(order["created_at"], node.window, person.as_of)
        for order in person.orders
    )


# ---------------------------------------------------------------------------------
# In words, and the names a predicate gives


def _window_words(window: ast.Window) -> str:
    parts = []
    if window.after is not None:
        parts.append(f"after {window.after.text}")
    if window.before is not None:
        parts.append(f"before {window.before.text}")
    return " ".join(parts)


def _with_window(text: str, window: ast.Window) -> str:
    words = _window_words(window)
    return f"{text} {words}" if words else text


class Words(Protocol):
    """How a predicate's sentence writes a list of names and its number comparisons."""

    def either(self, names: tuple[str, ...]) -> str: ...

    def counts(self, label: str, counts: tuple[ast.Count, ...]) -> str: ...


def _purchased_words(node: ast.Purchased, words: Words) -> str:
    what = []
    for label, names in (
        ("product", node.product),
        ("collection", node.collection),
        ("product type", node.product_type),
        ("vendor", node.vendor),
    ):
        if names:
            what.append(f"{label} {words.either(names)}")
    text = _with_window("purchased " + (", ".join(what) if what else "anything"), node.window)
    if node.times:
        text += f" ({words.counts('orders', node.times)})"
    return text


def _reviewed_words(node: ast.Reviewed, words: Words) -> str:
    text = "reviewed " + (words.either(node.product) if node.product else "a product")
    if node.rating:
        text += f" with {words.counts('rating', node.rating)}"
    return _with_window(text, node.window)


def _has_order_words(node: ast.HasOrder, words: Words) -> str:
    text = "has an order"
    if node.status:
        text += f" with status {words.either(node.status)}"
    if node.total:
        text += f" with {words.counts('total', node.total)}"
    return _with_window(text, node.window)


def _purchased_names(node: ast.Purchased) -> Iterator[tuple[str, str]]:
    for key in ("product", "collection", "product_type", "vendor"):
        yield from ((key, name) for name in getattr(node, key))


# ---------------------------------------------------------------------------------
# The table


@dataclass(frozen=True)
class Predicate:
    """One predicate on a person's records (``in_segment``: on another segment)."""

    word: str
    node: type
    # The keys its mapping takes, and what each holds (KEY_KINDS).
    keys: tuple[str, ...]
    # Its sentence in English; ``words`` gives lists and comparisons in words (explain).
    phrase: Callable[[Any, Any], str]
    # Its records: a FROM item with its alias, and the WHERE that finds those matching.
    where: Callable[[Any, Context], tuple[str, str]] | None = None
    # What --explain counts: "order" for "3 matching orders".
    record: str = ""
    # Membership SQL of its own, where the generic "some matching record" is not all.
    membership: Callable[[Any, Context], str | None] | None = None
    # Its meaning in Python, on one person's records.
    check: Callable[[Any, PersonRecords], bool] | None = None
    # The names it gives (a kind of name, the name), which the store should have.
    names: Callable[[Any], Iterator[tuple[str, str]]] = lambda node: iter(())


# What each predicate key holds: a date, names, a count of things, or amounts of money.
KEY_KINDS = {
    "after": "date",
    "before": "date",
    "product": "names",
    "collection": "names",
    "product_type": "names",
    "vendor": "names",
    "status": "names",
    "times": "count",
    "rating": "count",
    "total": "money",
}

_ROWS = (
    Predicate(
        "purchased",
        ast.Purchased,
        ("product", "collection", "product_type", "vendor", "after", "before", "times"),
        _purchased_words,
        _purchased_where,
        "order",
        _purchased_membership,
        _purchased,
        _purchased_names,
    ),
    Predicate(
        "reviewed",
        ast.Reviewed,
        ("product", "rating", "after", "before"),
        _reviewed_words,
        _reviewed_where,
        "review",
        check=_reviewed,
        names=lambda node: (("reviewed_product", name) for name in node.product),
    ),
    Predicate(
        "abandoned_cart",
        ast.AbandonedCart,
        ("after", "before"),
        lambda node, words: _with_window("abandoned a cart", node.window),
        _abandoned_cart_where,
        "cart",
        check=_abandoned_cart,
    ),
    Predicate(
        "has_order",
        ast.HasOrder,
        ("status", "total", "after", "before"),
        _has_order_words,
        _has_order_where,
        "order",
        check=_has_order,
        names=lambda node: (("status", name) for name in node.status),
    ),
    # Compiled as the segment it names, so it has no records of its own.
    Predicate("in_segment", ast.InSegment, (), lambda node, words: f"in segment {node.name}"),
)

PREDICATES: dict[type, Predicate] = {row.node: row for row in _ROWS}
BY_WORD: dict[str, Predicate] = {row.word: row for row in _ROWS}
