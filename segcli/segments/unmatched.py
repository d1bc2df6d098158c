"""Names in segments that no row of the store has: a typo matches nobody without a word.

Every name a condition gives (a product, collection, product type, vendor, order status,
country, region, city, tag, customer group, channel or custom field) is looked up in the
store, ignoring case as conditions do. A name no row has is reported, with the closest of
the store's own values ("did you mean 'Nordic Copper Teapot'?"), or the form the store
writes such values in ("the store uses codes such as 'FR'").
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from segcli.rules import ast
from segcli.rules import fields as F
from segcli.rules.operators import fold
from segcli.rules.parse import closest
from segcli.rules.predicates import PREDICATES
from segcli.rules.problems import Problem
from segcli.rules.validate import walk
from segcli.store.db import Store

# Where a name is kept: a table and a column; ``tags`` holds a JSON list, ``custom`` a
# JSON object whose keys are the names. Identifiers come only from this module.
Source = tuple[str, str]


@dataclass(frozen=True)
class Lookup:
    """One kind of name: where the store keeps such names, and how messages say it."""

    label: str  # "product", "country"
    holders: str  # who would have it: "line item or product", "customer"
    sources: tuple[Source, ...]

    @property
    def plural(self) -> str:
        if self.label.endswith("y"):
            return self.label[:-1] + "ies"
        return self.label + ("es" if self.label.endswith("s") else "s")


_PRODUCT = Lookup(
    "product",
    "line item or product",
    (
        ("items", "product_id"),
        ("items", "sku"),
        ("items", "title"),
        ("products", "product_id"),
        ("products", "sku"),
        ("products", "title"),
    ),
)
_REVIEWED_PRODUCT = Lookup(
    "product",
    "product, line item or review",
    (*_PRODUCT.sources, ("reviews", "product_id"), ("reviews", "sku")),
)
# By the kind of name a predicate gives (predicates.Predicate.names).
_PREDICATE_LOOKUPS: dict[str, Lookup] = {
    "product": _PRODUCT,
    "reviewed_product": _REVIEWED_PRODUCT,
    "collection": Lookup(
        "collection",
        "line item or product",
        (("items", "collection"), ("product_collections", "collection")),
    ),
    "product_type": Lookup("product type", "product", (("products", "product_type"),)),
    "vendor": Lookup(
        "vendor", "line item or product", (("items", "vendor"), ("products", "vendor"))
    ),
    "status": Lookup("status", "order", (("orders", "status"),)),
}
_FIELD_LOOKUPS: dict[str, Lookup] = {
    name: Lookup(name.replace("_", " "), "customer", (("people", name),))
    for name in ("country", "region", "city", "customer_group", "channel")
}
_TAGS = Lookup("tag", "customer", (("people", "tags"),))
_CUSTOM = Lookup("custom field", "customer", (("people", "custom"),))

# The tables of records, read after the catalogue's (products, collections).
_RECORDS = frozenset({"items", "reviews", "orders"})

# Operators that name values exactly (substring tests such as contains name none).
_NAMING_OPS = frozenset({"eq", "ne", "in", "not_in"})
_TAG_OPS = frozenset({"eq", "ne", "contains", "contains_any", "contains_all", "not_contains"})


@dataclass(frozen=True)
class _Wanted:
    """One name a segment gives, where it gives it."""

    source: str
    node: ast.Condition
    lookup: Lookup
    value: str


# Names of one kind in one file reported one by one, at most; a list of thousands of
# names (a suppression list) gets one line for the rest.
SHOWN_PER_KIND = 10


# A column's distinct values with the rows that have each, from another reader of the
# store's data than SQLite (the analytic copy), or None where it has not the column.
DistinctValues = Callable[[str, str], "Counter[str] | None"]


def unmatched_values(
    store: Store,
    segments: Iterable[ast.Segment],
    known: dict[str, ast.Segment],
    *,
    distinct: DistinctValues | None = None,
) -> list[Problem]:
    """Each name in ``segments`` (and the segments they use through ``in_segment``, found
    in ``known``) that no row of the store has, as a problem to warn about. ``distinct``
    reads a column's values where it can (DuckDB over the copy: a column of millions of
    line items in a fraction of the time SQLite takes)."""
    values = _StoreValues(store, distinct)
    problems = []
    seen: set[tuple] = set()
    unshown: Counter = Counter()
    first_unshown: dict[tuple, _Wanted] = {}
    shown: Counter = Counter()
    for wanted in _wanted(segments, known):
        # One warning per name and file, where the file first gives it.
        mark = (wanted.source, wanted.lookup.label, fold(wanted.value))
        if mark in seen:
            continue
        seen.add(mark)
        if values.has(wanted.lookup, wanted.value):
            continue
        kind = (wanted.source, wanted.lookup)
        if shown[kind] == SHOWN_PER_KIND:
            unshown[kind] += 1
            first_unshown.setdefault(kind, wanted)
            continue
        shown[kind] += 1
        problems.append(
            Problem(
                wanted.source,
                wanted.node.pos,
                _message(wanted),
                key=wanted.lookup.label,
                hint=values.hint(wanted.lookup, wanted.value),
            )
        )
    for kind, count in unshown.items():
        wanted = first_unshown[kind]
        more = f"{count:,} more {wanted.lookup.plural if count != 1 else wanted.lookup.label}"
        problems.append(
            Problem(
                wanted.source,
                wanted.node.pos,
                f"and {more} that no {wanted.lookup.holders} has, such as {wanted.value!r}",
                key=wanted.lookup.label,
            )
        )
    return problems


def _message(wanted: _Wanted) -> str:
    lookup = wanted.lookup
    if lookup is _CUSTOM:
        return f"no customer has a custom field {wanted.value!r}"
    return f"no {lookup.holders} has {lookup.label} {wanted.value!r}"


def _wanted(segments: Iterable[ast.Segment], known: dict[str, ast.Segment]) -> Iterator[_Wanted]:
    pending = list(segments)
    visited: set[tuple[str, str]] = set()
    while pending:
        segment = pending.pop(0)
        if (segment.source, segment.name) in visited:
            continue
        visited.add((segment.source, segment.name))
        for node in walk(segment.criteria):
            if isinstance(node, ast.InSegment) and node.name in known:
                pending.append(known[node.name])
            for lookup, value in _names(node):
                yield _Wanted(segment.source, node, lookup, value)


def _names(node: ast.Condition) -> Iterator[tuple[Lookup, str]]:
    """The names a condition gives, each with where the store would keep it."""
    if isinstance(node, ast.Compare):
        values = node.value if isinstance(node.value, tuple) else (node.value,)
        field = F.lookup(node.field)
        if node.field in _FIELD_LOOKUPS and node.op in _NAMING_OPS:
            yield from ((_FIELD_LOOKUPS[node.field], str(v)) for v in values)
        elif field is not None and field.type == F.TAGS and node.op in _TAG_OPS:
            yield from ((_TAGS, str(v)) for v in values)
        elif field is not None and field.type == F.CUSTOM:
            yield _CUSTOM, node.field[len(F.CUSTOM_PREFIX) :].strip().lower()
    elif (row := PREDICATES.get(type(node))) is not None:
        for key, name in row.names(node):
            yield _PREDICATE_LOOKUPS[key], name


class _StoreValues:
    """The store's values, looked up exactly through the indexes first; a column's
    distinct values are read (once) only when a name is not stored as it is written."""

    def __init__(self, store: Store, distinct: DistinctValues | None = None):
        self.store = store
        self._distinct: dict[Source, Counter] = {}
        self._reader = distinct

    def has(self, lookup: Lookup, value: str) -> bool:
        # The catalogue's small tables first: most names are of products the store sells,
        # and line items have no index on their names (schema 11), so reading them costs
        # a scan of millions of rows at a million people.
        sources = sorted(lookup.sources, key=lambda source: source[0] in _RECORDS)
        if any(self._stored(source, value) for source in sources):
            return True
        wanted = fold(value)
        return any(wanted in self._folded(source) for source in sources)

    def _stored(self, source: Source, value: str) -> bool:
        table, column = source
        if column not in ("tags", "custom") and self._read(source) is not None:
            return value in self._distinct[source]
        if column == "tags":
            sql = f"SELECT 1 FROM {table}, json_each({table}.tags) AS tag WHERE tag.value = ?"
            params: tuple = (value,)
        elif column == "custom":
            sql = f"SELECT 1 FROM {table} WHERE json_type({table}.custom, ?) IS NOT NULL"
            params = (F.custom_path(F.CUSTOM_PREFIX + value),)
        else:
            sql = f"SELECT 1 FROM {table} WHERE {column} = ?"
            params = (value,)
        return _row(self.store, sql + " LIMIT 1", params)

    def _read(self, source: Source) -> Counter | None:
        """The column's values from the other reader, kept; None where it has not them."""
        if source not in self._distinct and self._reader is not None:
            found = self._reader(*source)
            if found is not None:
                self._distinct[source] = found
        return self._distinct.get(source) if self._reader is not None else None

    def _values(self, source: Source) -> Counter:
        """A column's distinct values, each with the number of rows that have it."""
        if source[1] not in ("tags", "custom"):
            self._read(source)
        if source not in self._distinct:
            table, column = source
            if column == "tags":
                sql = f"SELECT tag.value, count(*) FROM {table}, json_each({table}.tags) AS tag"
            elif column == "custom":
                sql = f"SELECT field.key, count(*) FROM {table}, json_each({table}.custom) AS field"
            else:
                sql = f"SELECT {column}, count(*) FROM {table} WHERE {column} IS NOT NULL"
            rows = _rows(self.store, sql + " GROUP BY 1")
            self._distinct[source] = Counter({str(value): count for value, count in rows})
        return self._distinct[source]

    def _folded(self, source: Source) -> set[str]:
        return {fold(value) for value in self._values(source)}

    def hint(self, lookup: Lookup, value: str) -> str | None:
        """The closest value the store has, or the form its values take."""
        counts: Counter = Counter()
        for source in lookup.sources:
            counts.update(self._values(source))
        if not counts:
            return _nothing_stored(lookup)
        # Folded for the comparison, shown as stored (the most common spelling).
        spellings: dict[str, str] = {}
        for stored, _ in counts.most_common():
            spellings.setdefault(fold(stored), stored)
        prefix = F.CUSTOM_PREFIX if lookup is _CUSTOM else ""
        close = closest(fold(value), spellings)
        if close is not None:
            return f"did you mean {prefix + spellings[close]!r}?"
        hint = None
        if lookup is _FIELD_LOOKUPS["country"]:
            hint = _country_hint(value, counts)
        elif lookup in (_FIELD_LOOKUPS["region"], _FIELD_LOOKUPS["city"]):
            hint = _codes_hint(value, counts)
        if hint is None:
            common = ", ".join(repr(prefix + stored) for stored, _ in counts.most_common(3))
            hint = f"the store's {lookup.plural} include {common}"
        return hint


def _nothing_stored(lookup: Lookup) -> str:
    if lookup is _CUSTOM:
        return "the customers files imported so far have no custom columns"
    return f"no {lookup.holders} in the store has any {lookup.label}"


def _row(store: Store, sql: str, params: tuple) -> bool:
    try:
        return store.execute(sql, params).fetchone() is not None
    except sqlite3.OperationalError as error:
        if not _malformed_json(error):
            raise
        return False


def _rows(store: Store, sql: str) -> list[tuple]:
    try:
        return store.execute(sql).fetchall()
    except sqlite3.OperationalError as error:
        if not _malformed_json(error):
            raise
        return []


def _malformed_json(error: sqlite3.OperationalError) -> bool:
    """Whether a query failed on a tags or custom column another tool wrote badly: a hint
    is then left out, not the command."""
    return "malformed JSON" in str(error)


def _is_code(text: str) -> bool:
    return 2 <= len(text) <= 3 and text.isalpha() and text.isupper()


def _codes_hint(value: str, counts: Counter) -> str | None:
    """Where the store writes codes (``CA``) and the segment a name, or the other way."""
    codes = sum(count for stored, count in counts.items() if _is_code(stored))
    if codes * 2 > sum(counts.values()) and not _is_code(value):
        return f"the store uses codes such as {_examples(counts, _is_code)}"
    if codes * 2 < sum(counts.values()) and _is_code(value):
        return f"the store uses names such as {_examples(counts, lambda s: not _is_code(s))}"
    return None


def _country_hint(value: str, counts: Counter) -> str | None:
    """For a country: the store's own spelling of the country meant (its code or its
    name), found by any of the country's names or codes, or by the closest name."""
    stored = {fold(s): s for s in counts}
    spellings = {fold(n): code for code, names in _countries().items() for n in (code, *names)}
    code = spellings.get(fold(value))
    if code is None and len(value) > 3:
        near = closest(fold(value), [n for n in spellings if len(n) > 3])
        code = None if near is None else spellings[near]
    if code is not None:
        for spelling in (code, *_countries()[code]):
            if fold(spelling) in stored:
                shown = stored[fold(spelling)]
                form = "codes" if _is_code(shown) else "names"
                return f"the store uses {form} such as {shown!r}"
    return _codes_hint(value, counts)


def _examples(counts: Counter, keep) -> str:
    common = [repr(stored) for stored, _ in counts.most_common() if keep(stored)][:3]
    return ", ".join(common)


@cache
def _countries() -> dict[str, tuple[str, ...]]:
    """ISO 3166 alpha-2 codes and the other names of each country (countries.tsv)."""
    countries = {}
    text = (Path(__file__).parent / "countries.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, names = line.split("\t")
            countries[code] = tuple(names.split("|"))
    return countries
