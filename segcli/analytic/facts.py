"""The per-person facts DuckDB evaluates over (SPEC 3.2, 3.7), as SQL over the analytic
copy, and where kept facts are found: what segments/evaluate.py's facts are for SQLite,
with the same meaning. DuckDB itself is imported only to count what was not kept.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

from segcli.analytic.copy import AnalyticCopy
from segcli.rules.compile import as_of_params
from segcli.store.db import Store

# Counted orders up to the end of the as-of day, per person (COUNTED_ORDERS_SQL).
COUNTED_ORDERS_SQL = """
SELECT person_id, count(*) AS orders_count, sum(total) AS total_spent,
    min(created_at) AS first_order_at, max(created_at) AS last_order_at
FROM orders
WHERE counted = 1 AND created_at < $as_of_end AND person_id IS NOT NULL
GROUP BY person_id
"""

# The sums of the average repeat-purchase time A (REPEAT_TIME_SQL): whole days between
# the calendar dates of each repeat customer's first and last counted order.
REPEAT_TIME_SQL = """
SELECT coalesce(sum(date_diff('day', CAST(first_order_at[1:10] AS DATE),
        CAST(last_order_at[1:10] AS DATE))), 0),
    coalesce(sum(orders_count - 1), 0)
FROM counted_orders WHERE orders_count >= 2
"""

# Each person's consent as of the as-of day (FACTS_SQL's accepts_marketing): the newest
# subscriber row (undated rows the oldest; on a tie unsubscribed wins), else the customer
# row's, else the answer given with the latest order (on a tie, no), else no.
CONSENT_SQL = """
subscribed AS (
    SELECT person_id, arg_max(CAST(status = 'subscribed' AS INTEGER),
        {'dated': subscribed_at IS NOT NULL, 'at': subscribed_at,
         'unsubscribed': status = 'unsubscribed'}) AS answer
    FROM subscribers
    WHERE person_id IS NOT NULL AND (subscribed_at IS NULL OR subscribed_at < $as_of_end)
    GROUP BY person_id
),
ordered AS (
    SELECT person_id, arg_max(accepts_marketing,
        {'at': created_at, 'no': -accepts_marketing}) AS answer
    FROM orders
    WHERE person_id IS NOT NULL AND accepts_marketing IS NOT NULL
        AND created_at < $as_of_end
    GROUP BY person_id
),
carted AS (
    SELECT DISTINCT person_id FROM carts
    WHERE person_id IS NOT NULL AND created_at < $as_of_end
)
"""

FACTS_SQL = f"""
WITH {CONSENT_SQL}
SELECT position, person_id, person_key, customer_id, email, email_domain, first_name, last_name,
    created_at, accepts_marketing, country, region, city, tags, customer_group, channel,
    custom, orders_count, total_spent, first_order_at, last_order_at, days_since_last_order,
    has_cart, tags_folded,
    CASE
        WHEN orders_count = 1 THEN 'first-time-buyers'
        WHEN orders_count >= 2 AND days_since_last_order * $repeat_den < $repeat_num
            THEN 'active-repeat'
        WHEN orders_count >= 2 AND days_since_last_order * $repeat_den < 3 * $repeat_num
            THEN 'at-risk-repeat'
        WHEN orders_count >= 2 THEN 'inactive-repeat'
        WHEN accepts_marketing = 1 THEN 'prospects'
        WHEN has_cart = 1 THEN 'potential-customers'
        ELSE 'unengaged'
    END AS lifecycle
FROM (
    SELECT p.position, p.person_id, p.person_key, p.customer_id, p.email,
        CASE WHEN instr(p.email, '@') > 0 THEN substr(p.email, instr(p.email, '@') + 1) END
            AS email_domain,
        p.first_name, p.last_name, p.created_at,
        CAST(coalesce(s.answer, p.customer_accepts_marketing, o2.answer, 0) <> 0 AS INTEGER)
            AS accepts_marketing,
        p.country, p.region, p.city, p.tags, p.customer_group, p.channel, p.custom,
        list_transform(json_extract_string(p.tags, '$[*]'), lambda tag: segcli_fold(tag))
            AS tags_folded,
        coalesce(o.orders_count, 0) AS orders_count,
        CAST(coalesce(o.total_spent, 0) AS BIGINT) AS total_spent,
        o.first_order_at, o.last_order_at,
        date_diff('day', CAST(o.last_order_at[1:10] AS DATE), CAST($as_of AS DATE))
            AS days_since_last_order,
        CAST(k.person_id IS NOT NULL AS INTEGER) AS has_cart
    FROM people p
    LEFT JOIN counted_orders o ON o.person_id = p.person_id
    LEFT JOIN subscribed s ON s.person_id = p.person_id
    LEFT JOIN ordered o2 ON o2.person_id = p.person_id
    LEFT JOIN carted k ON k.person_id = p.person_id
    -- A person is in once any of their dates is on or before the as-of day, or when
    -- no date is known for them at all.
    WHERE p.first_seen_at IS NULL OR p.first_seen_at < $as_of_end
)
"""

# The tables everyone's facts are built from.
FACTS_TABLES = ("people", "orders", "subscribers", "carts")


def facts_key(files: dict[str, Path], as_of: date) -> str:
    """What kept facts of the as-of date must be built from: the copy's files of the
    tables the facts read (named after their data versions), and the facts' own SQL.
    A kept file is named ``<key>-<days>-<gaps>.parquet``, after the sums of the average
    repeat-purchase time too."""
    names = " ".join(files[table].name for table in FACTS_TABLES)
    text = f"{names} {FACTS_SQL} {COUNTED_ORDERS_SQL} {REPEAT_TIME_SQL}"
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"facts-{as_of.isoformat()}-{digest}"


def kept_facts(directory: Path, key: str) -> list[tuple[Path, int, int]]:
    """The kept facts of ``key`` in the copy's directory, with their repeat-time sums."""
    found = []
    for path in sorted(directory.glob(f"{key}-*.parquet")):
        days, gaps = path.stem[len(key) + 1 :].split("-")
        found.append((path, int(days), int(gaps)))
    return found


def repeat_sums(store: Store, as_of: date) -> tuple[int, int]:
    """The sums of the store's average repeat-purchase time as of ``as_of`` (the days
    and the gaps between repeat customers' counted orders): from the name of kept facts
    of the date, else counted by DuckDB over the copy's orders."""
    with AnalyticCopy(store) as copy:
        files = copy.open()
        for _, days, gaps in kept_facts(copy.directory, facts_key(files, as_of)):
            return days, gaps
        import duckdb

        from segcli.analytic.evaluate import MEMORY_LIMIT, bound

        orders = str(files["orders"]).replace("'", "''")
        sql = (
            f"WITH orders AS (SELECT * FROM read_parquet('{orders}')), "
            f"counted_orders AS ({COUNTED_ORDERS_SQL}) {REPEAT_TIME_SQL}"
        )
        with duckdb.connect(config={"memory_limit": MEMORY_LIMIT}) as con:
            row = con.execute(sql, bound(sql, as_of_params(as_of))).fetchone()
        days, gaps = row or (0, 0)
        return int(days), int(gaps)
