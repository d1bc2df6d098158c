"""Evaluating segments as of a date: per-person facts built once, then one query per segment."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import TYPE_CHECKING

from segcli.rules import ast
from segcli.rules.compile import Context, Params, as_of_params, compile_condition
from segcli.rules.operators import compare_custom, fold

if TYPE_CHECKING:
    from segcli.store.db import Store

# The page cache while evaluating, in KiB (negative: SQLite's unit for KiB).
EVALUATION_CACHE_KIB = -16_000

# Counted orders up to the end of the as-of day, per person.
COUNTED_ORDERS_SQL = """
SELECT person_id, count(*) AS orders_count, sum(total) AS total_spent,
    min(created_at) AS first_order_at, max(created_at) AS last_order_at
FROM orders
WHERE counted = 1 AND created_at < :as_of_end AND person_id IS NOT NULL
GROUP BY person_id
"""

# A = (sum over repeat customers of the days from first to last counted order) divided by
# (sum of their orders minus one): the mean of all consecutive gaps, pooled, exactly.
REPEAT_TIME_SQL = """
SELECT CAST(total(julianday(date(last_order_at)) - julianday(date(first_order_at))) AS INTEGER),
    total(orders_count - 1)
FROM counted_orders WHERE orders_count >= 2
"""

# Everything a condition can ask about a person, as of the as-of date (SPEC 3.2, 3.7).
FACTS_SQL = """
SELECT person_id, person_key, customer_id, email, email_domain, first_name, last_name,
    created_at, accepts_marketing, country, region, city, tags, customer_group, channel,
    custom, orders_count, total_spent, first_order_at, last_order_at, days_since_last_order,
    has_cart,
    CASE
        WHEN orders_count = 1 THEN 'first-time-buyers'
        WHEN orders_count >= 2 AND days_since_last_order * :repeat_den < :repeat_num
            THEN 'active-repeat'
        WHEN orders_count >= 2 AND days_since_last_order * :repeat_den < 3 * :repeat_num
            THEN 'at-risk-repeat'
        WHEN orders_count >= 2 THEN 'inactive-repeat'
        WHEN accepts_marketing THEN 'prospects'
        WHEN has_cart THEN 'potential-customers'
        ELSE 'unengaged'
    END AS lifecycle
FROM (
    SELECT p.person_id, p.person_key, p.customer_id, p.email,
        CASE WHEN instr(p.email, '@') > 0 THEN substr(p.email, instr(p.email, '@') + 1) END
            AS email_domain,
        p.first_name, p.last_name, p.created_at,
        -- The newest subscriber row up to the as-of day decides (undated rows are the
        -- oldest; on a tie unsubscribed wins), else the customer row, else the answer
        -- given with the latest order up to the as-of day, else false.
        coalesce(
            (SELECT s.status = 'subscribed' FROM subscribers s
             WHERE s.person_id = p.person_id
                AND (s.subscribed_at IS NULL OR s.subscribed_at < :as_of_end)
             ORDER BY s.subscribed_at IS NULL, s.subscribed_at DESC,
                s.status = 'unsubscribed' DESC
             LIMIT 1),
            p.customer_accepts_marketing,
            (SELECT o.accepts_marketing FROM orders o
             WHERE o.person_id = p.person_id AND o.accepts_marketing IS NOT NULL
                AND o.created_at < :as_of_end
             ORDER BY o.created_at DESC, o.accepts_marketing ASC
             LIMIT 1),
            0
        ) AS accepts_marketing,
        p.country, p.region, p.city, p.tags, p.customer_group, p.channel, p.custom,
        coalesce(o.orders_count, 0) AS orders_count,
        coalesce(o.total_spent, 0) AS total_spent,
        o.first_order_at, o.last_order_at,
        CAST(julianday(:as_of) - julianday(date(o.last_order_at)) AS INTEGER)
            AS days_since_last_order,
        EXISTS (SELECT 1 FROM carts k WHERE k.person_id = p.person_id
            AND k.created_at < :as_of_end) AS has_cart
    FROM people p LEFT JOIN counted_orders o ON o.person_id = p.person_id
    -- A person is in once any of their dates is on or before the as-of day, or when
    -- no date is known for them at all.
    WHERE p.first_seen_at IS NULL OR p.first_seen_at < :as_of_end
)
"""


def register_functions(store: Store) -> None:
    """The SQL functions compiled segments use: Unicode case folding and custom compares."""
    store.conn.create_function("segcli_fold", 1, fold, deterministic=True)
    store.conn.create_function("segcli_compare", 2, compare_custom, deterministic=True)


@dataclass(frozen=True)
class Figures:
    """A segment's count and the total spend of its members (ten-thousandths)."""

    members: int
    total_spent: int


class Evaluation:
    """Segments of one store as of one date. Builds the per-person facts once.

    With ``person`` (a person id), only that person's facts are built, and membership is
    asked record by record through the indexes (``customer show``); the store-wide
    figures, such as the average repeat-purchase time, are still the whole store's.
    """

    def __init__(
        self,
        store: Store,
        as_of: date,
        segments: dict[str, ast.Segment],
        *,
        person: int | None = None,
    ):
        self.store = store
        self.as_of = as_of
        self.segments = segments
        self.one_person = person is not None
        register_functions(store)
        self.base_params: dict[str, object] = as_of_params(as_of)
        run = store.execute
        # A small page cache bounds memory (the sort of a million members' facts took
        # 290 MB with import's cache and a second sorting thread; 62 MB with this one),
        # and evaluating was no slower with it.
        run(f"PRAGMA cache_size = {EVALUATION_CACHE_KIB}")
        for table in ("facts", "counted_orders"):
            run(f"DROP TABLE IF EXISTS temp.{table}")
        run(f"CREATE TEMP TABLE counted_orders AS {COUNTED_ORDERS_SQL}", self.base_params)
        run("CREATE UNIQUE INDEX temp.counted_orders_person ON counted_orders(person_id)")
        days, gaps = run(REPEAT_TIME_SQL).fetchone()
        self.repeat_time = Fraction(int(days), int(gaps)) if gaps else None
        numerator, denominator = (int(days), int(gaps)) if gaps else (0, 1)
        self.base_params.update(repeat_num=numerator, repeat_den=denominator)
        if person is None:
            run(f"CREATE TEMP TABLE facts AS {FACTS_SQL}", self.base_params)
        else:
            run(
                f"CREATE TEMP TABLE facts AS SELECT * FROM ({FACTS_SQL}) WHERE person_id = :person",
                {**self.base_params, "person": person},
            )
        run("CREATE UNIQUE INDEX temp.facts_person ON facts(person_id)")
        self.people = store.scalar("SELECT count(*) FROM facts")

    def compile(self, segment: ast.Segment) -> tuple[str, dict[str, object]]:
        """The segment's condition as SQL over ``facts f``, and all its parameters."""
        context = Context(self.as_of, self.segments, Params())
        condition = compile_condition(segment.criteria, context)
        return condition, {**self.base_params, **context.params.values}

    def figures(self, segment: ast.Segment) -> Figures:
        condition, params = self.compile(segment)
        members, spent = self.store.execute(
            f"SELECT count(*), coalesce(sum(f.total_spent), 0) FROM facts f WHERE {condition}",
            params,
        ).fetchone()
        return Figures(members, spent)

    def members(
        self, segment: ast.Segment, *, order_by: str = "", limit: int | None = None
    ) -> Iterator[dict]:
        """Members as dicts of facts, in ``order_by`` order (a trusted ORDER BY clause)."""
        condition, params = self.compile(segment)
        sql = f"SELECT f.* FROM facts f WHERE {condition} ORDER BY {order_by or 'f.person_key'}"
        if limit is not None:
            sql += " LIMIT :row_limit"
            params["row_limit"] = limit
        cursor = self.store.execute(sql, params)
        names = [column[0] for column in cursor.description]
        for row in cursor:
            yield dict(zip(names, row, strict=True))

    def plan(self, segment: ast.Segment) -> list[str]:
        """SQLite's query plan for counting the segment's members, as indented lines.

        This is the query ``segment calculate`` runs, over the per-person facts table that
        is built once per as-of date.
        """
        condition, params = self.compile(segment)
        rows = self.store.execute(
            "EXPLAIN QUERY PLAN "
            f"SELECT count(*), coalesce(sum(f.total_spent), 0) FROM facts f WHERE {condition}",
            params,
        ).fetchall()
        depth: dict[int, int] = {0: -1}
        lines = []
        for node, parent, _, detail in rows:
            depth[node] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node] + detail)
        return lines

    def is_member(self, condition: ast.Condition, person_id: int) -> bool:
        context = Context(self.as_of, self.segments, Params(), one_person=True)
        sql = compile_condition(condition, context)
        params = {**self.base_params, **context.params.values, "person": person_id}
        row = self.store.execute(
            f"SELECT {sql} FROM facts f WHERE f.person_id = :person", params
        ).fetchone()
        return bool(row and row[0])

    def person(self, person_id: int) -> dict | None:
        cursor = self.store.execute("SELECT * FROM facts WHERE person_id = ?", (person_id,))
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([c[0] for c in cursor.description], row, strict=True))

    def standalone_sql(self, segment: ast.Segment) -> tuple[str, dict[str, object]]:
        """One self-contained query for the segment's members, with its parameters."""
        condition, params = self.compile(segment)
        sql = (
            f"WITH counted_orders AS ({COUNTED_ORDERS_SQL.strip()}),\n"
            f"facts AS ({FACTS_SQL.strip()})\n"
            f"SELECT f.person_id, f.customer_id, f.email FROM facts f\nWHERE {condition}\n"
            "ORDER BY f.person_key"
        )
        return sql, params
