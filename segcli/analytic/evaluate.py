"""Evaluating segments with DuckDB, over the analytic copy of the store.

The same questions as segments/evaluate.py asks of SQLite, with the same meaning: the
per-person facts of the as-of date (SPEC 3.2, 3.7) built once per command into a table
in memory, and each segment one query over them, compiled from its condition tree through
the DuckDB dialect. A set of people that costs a pass over records (who purchased,
reviewed, ordered, left a cart) is computed once per command into a table of its own.
Money stays integers of ten-thousandths; dates stay UTC text compared as text; days are
whole days between calendar dates.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import duckdb

from segcli.analytic.copy import COPIED, AnalyticCopy, forget_facts, forget_sets
from segcli.analytic.macros import install
from segcli.errors import StoreError
from segcli.files import OWNER_ONLY
from segcli.rules import ast
from segcli.rules.compile import Context, Params, as_of_params, compile_segment
from segcli.rules.compile import PeopleSet as PeopleSetSQL
from segcli.rules.dialect import DUCKDB
from segcli.segments.evaluate import Answers, Figures
from segcli.store.db import Store

# DuckDB's memory while evaluating: it spills to the copy's directory beyond this, so an
# evaluating command stays under 1 GB at a million people.
MEMORY_LIMIT = "600MB"

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
    /* one person */
)
"""

# Rows per row group of the kept facts. The writer holds a row group of a million
# people's wide rows per thread: under the memory limit, 122,880 rows (DuckDB's default)
# spilled and took 11 s at a million people, 32,768 took 2.8 s.
_FACTS_ROW_GROUP = 32_768

# The tables everyone's facts are built from.
_FACTS_TABLES = ("people", "orders", "subscribers", "carts")

_PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def bound(sql: str, params: dict[str, object]) -> dict[str, object]:
    """The parameters ``sql`` refers to: DuckDB refuses any other."""
    used = set(_PARAMETER.findall(sql))
    return {name: value for name, value in params.items() if name in used}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class DuckEvaluation(Answers):
    """Segments of one store as of one date, evaluated by DuckDB (see the module)."""

    engine = "duckdb"
    dialect = DUCKDB

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
        self.copy = AnalyticCopy(store)
        files = self.copy.open()
        self.con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT})
        # Each set of people placed, by digest: the SQL that reads it.
        self._sets: dict[str, str] = {}
        self._sets_prefix: str | None = None
        try:
            self._prepare(files)
            self.base_params: dict[str, object] = as_of_params(as_of)
            self._facts(person)
            if person is not None:
                self._only_records_of(person)
        except BaseException:
            self.close()
            raise

    def _prepare(self, files: dict[str, Any]) -> None:
        run = self.con.execute
        spill = self.copy.directory / f".spill-{os.getpid()}"
        run(f"SET temp_directory = {_literal(str(spill))}")
        run(f"SET threads = {max(os.cpu_count() or 1, 1)}")
        # Every member list is ordered by position: no other order needs keeping.
        run("SET preserve_insertion_order = false")
        install(self.con)
        for table, path in files.items():
            # Table names and paths are segcli's own (the copy's), never a user's text.
            run(f"CREATE VIEW {table} AS SELECT * FROM read_parquet({_literal(str(path))})")

    def _only_records_of(self, person: int) -> None:
        """Asking about one person (customer show): their records, read once into small
        tables that stand for the store's, so that each condition asked of them reads a
        handful of rows instead of every order and line item. The facts (and the
        store-wide repeat time in them) are everyone's, built before."""
        files = self.copy.files
        read = {table: f"read_parquet({_literal(str(files[table]))})" for table in files}
        own: dict[str, object] = {"person": person}
        for table in ("orders", "reviews", "carts", "subscribers"):
            self.execute(f"DROP VIEW {table}")
            self.execute(
                f"CREATE TABLE {table} AS SELECT * FROM {read[table]} WHERE person_id = $person",
                own,
            )
        self.execute("DROP VIEW items")
        self.execute(
            f"CREATE TABLE items AS SELECT * FROM {read['items']} "
            "WHERE order_id IN (SELECT order_id FROM orders)"
        )
        if self._kept_facts_used:
            self.execute("ALTER VIEW facts RENAME TO everyone_facts")
            self.execute(
                "CREATE TABLE facts AS SELECT * FROM everyone_facts WHERE person_id = $person",
                own,
            )

    def _facts(self, person: int | None) -> None:
        """Everyone's facts of the as-of date: kept in the copy's directory for the next
        command of the same date and data (a Parquet file named after both), else built
        and kept. For one person without kept facts, only theirs are built."""
        key = self._facts_key()
        # Sets of people are kept beside the facts, named after the as-of date and every
        # table of the copy (a set reads line items, products and reviews too), then the
        # set's own digest; sets of other data go when a new one is kept.
        every = " ".join(sorted(path.name for path in self.copy.files.values()))
        self._sets_prefix = (
            f"set-{self.as_of.isoformat()}-{hashlib.sha256(every.encode()).hexdigest()[:16]}"
        )
        kept = self._kept_facts(key)
        if kept is None and person is None:
            kept = self._build_facts(key)
        if kept is None:
            self._sets_prefix = None
        self._kept_facts_used = kept is not None
        if kept is not None:
            path, days, gaps = kept
            self._repeat(days, gaps)
            self.con.execute(
                f"CREATE VIEW facts AS SELECT * FROM read_parquet({_literal(str(path))})"
            )
        else:
            self._counted_orders()
            who = "" if person is None else "AND p.person_id = $person"
            facts = FACTS_SQL.replace("/* one person */", who)
            self.execute(f"CREATE TABLE facts AS {facts}", {**self.base_params, "person": person})
            self.execute("DROP TABLE counted_orders")
        self.people = int(self._scalar("SELECT count(*) FROM facts"))
        self.columns = [
            row[0]
            for row in self.con.execute("DESCRIBE facts").fetchall()
            if row[0] not in ("position", "tags_folded")
        ]

    def _counted_orders(self) -> tuple[int, int]:
        """Everyone's counted orders (table counted_orders); the repeat-time sums."""
        self.execute(f"CREATE TABLE counted_orders AS {COUNTED_ORDERS_SQL}", self.base_params)
        days, gaps = self.con.execute(REPEAT_TIME_SQL).fetchone() or (0, 0)
        self._repeat(int(days), int(gaps))
        return int(days), int(gaps)

    def _repeat(self, days: int, gaps: int) -> None:
        """The average repeat-purchase time A = days / gaps, as the facts' SQL takes it."""
        self.repeat_time = Fraction(days, gaps) if gaps else None
        self.base_params |= (
            {"repeat_num": days, "repeat_den": gaps} if gaps else {"repeat_num": 0, "repeat_den": 1}
        )

    def _facts_key(self) -> str:
        """What kept facts of the as-of date must be built from: the files of the tables
        the facts read (named after their data versions), and the facts' own SQL."""
        files = " ".join(self.copy.files[table].name for table in _FACTS_TABLES)
        text = f"{files} {FACTS_SQL} {COUNTED_ORDERS_SQL} {REPEAT_TIME_SQL}"
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        return f"facts-{self.as_of.isoformat()}-{digest}"

    def _kept_facts(self, key: str) -> tuple[Path, int, int] | None:
        for path in sorted(self.copy.directory.glob(f"{key}-*.parquet")):
            days, gaps = path.stem[len(key) + 1 :].split("-")
            if self.copy.hold(path):
                return path, int(days), int(gaps)
        return None

    def _build_facts(self, key: str) -> tuple[Path, int, int] | None:
        """Build everyone's facts into a kept file; None when it cannot be written (a
        full disk, a file size limit): the evaluation then builds them in memory."""
        days, gaps = self._counted_orders()
        path = self.copy.directory / f"{key}-{days}-{gaps}.parquet"
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            self.execute(
                f"COPY ({FACTS_SQL.replace('/* one person */', '')}) "
                f"TO {_literal(str(temporary))} (FORMAT parquet, COMPRESSION zstd, "
                f"ROW_GROUP_SIZE {_FACTS_ROW_GROUP})",
                self.base_params,
            )
            os.chmod(temporary, OWNER_ONLY)
            os.replace(temporary, path)
        except (OSError, duckdb.IOException):
            temporary.unlink(missing_ok=True)
            return None
        finally:
            self.execute("DROP TABLE counted_orders")
        forget_facts(self.copy.directory, keep=path)
        return (path, days, gaps) if self.copy.hold(path) else None

    def execute(self, sql: str, params: dict[str, object] | None = None) -> Any:
        try:
            return self.con.execute(sql, bound(sql, params or {}))
        except duckdb.OutOfMemoryException as error:
            raise StoreError(
                f"evaluating needs more memory than segcli lets DuckDB use ({MEMORY_LIMIT})",
                hint="--engine sqlite evaluates within the store instead",
            ) from error

    def _query(self, sql: str, params: dict[str, object]) -> Any:
        return self.execute(sql, params)

    def _scalar(self, sql: str, params: dict[str, object] | None = None) -> Any:
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]

    # -----------------------------------------------------------------------------
    # The interface segments/evaluate.py's Evaluation has

    def __enter__(self) -> DuckEvaluation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()
        self.copy.close()

    def keep(self) -> None:
        """Nothing is kept between commands: the copy is what is kept."""

    def compile(self, segment: ast.Segment) -> tuple[str, dict[str, object]]:
        """The segment's condition as DuckDB SQL over ``facts f``, and its parameters;
        each costly set of people computed once per command."""
        context = Context(self.as_of, self.segments, Params(DUCKDB), dialect=DUCKDB)
        compiled = compile_segment(segment.criteria, context)
        return compiled.sql(self._place), {**self.base_params, **compiled.params}

    def _place(self, people: PeopleSetSQL) -> str:
        """SQL reading a set of people: kept by an earlier command of the same facts, or
        computed now (once per command) and kept for the next."""
        digest = people.digest
        if digest in self._sets:
            return self._sets[digest]
        kept = self.copy.directory / f"{self._sets_prefix}-{digest[:16]}.parquet"
        if kept.exists() and self.copy.hold(kept):
            found = f"SELECT person_id FROM read_parquet({_literal(str(kept))})"
        else:
            table = f"people_set_{len(self._sets) + 1}"
            self.execute(
                f"CREATE TABLE {table} AS SELECT DISTINCT person_id FROM ({people.sql}) "
                "WHERE person_id IS NOT NULL",
                people.params,
            )
            self._keep_set(table, kept)
            found = f"SELECT person_id FROM {table}"
        self._sets[digest] = found
        return found

    def _keep_set(self, table: str, path: Path) -> None:
        """Write a computed set of people beside the facts; skipped when the facts are
        not kept or the file cannot be written (the next command computes it again)."""
        if self._sets_prefix is None:
            return
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            self.execute(
                f"COPY {table} TO {_literal(str(temporary))} (FORMAT parquet, COMPRESSION zstd)"
            )
            os.chmod(temporary, OWNER_ONLY)
            os.replace(temporary, path)
        except (OSError, duckdb.IOException):
            temporary.unlink(missing_ok=True)
            return
        forget_sets(self.copy.directory, keep=self._sets_prefix)

    def figures(self, segment: ast.Segment) -> Figures:
        condition, params = self.compile(segment)
        members, spent = self.execute(
            "SELECT count(*), CAST(coalesce(sum(f.total_spent), 0) AS BIGINT) FROM facts f "
            f"WHERE {condition}",
            params,
        ).fetchone()
        return Figures(int(members), int(spent))

    def member_sql(
        self, segment: ast.Segment, *, subscribed_only: bool = False
    ) -> tuple[str, dict[str, object]]:
        """A query of the members' facts (every column and position), in export order."""
        condition, params = self.compile(segment)
        if subscribed_only:
            condition = f"({condition}) AND f.accepts_marketing = 1"
        return f"SELECT f.* FROM facts f WHERE {condition} ORDER BY f.position", params

    def export(
        self,
        segment: ast.Segment,
        fields: list[str],
        output_format: str,
        out: IO[str],
        *,
        raw: bool,
        subscribed_only: bool = False,
    ) -> int:
        """Write the segment's members to ``out`` (DuckDB makes the lines)."""
        from segcli.analytic.export import write_members

        sql, params = self.member_sql(segment, subscribed_only=subscribed_only)
        return write_members(self.con, sql, bound(sql, params), fields, output_format, out, raw=raw)

    def distinct_values(self, table: str, column: str) -> Counter[str] | None:
        """A column's distinct values in the copy, each with its number of rows, in the
        order SQLite groups them (hints pick among equal counts by it); None for a column
        the copy has not (segments/unmatched.py asks)."""
        if column not in COPIED.get(table, {}):
            return None
        path = _literal(str(self.copy.files[table]))
        rows = self.con.execute(
            f"SELECT {column}, count(*) FROM read_parquet({path}) "
            f"WHERE {column} IS NOT NULL GROUP BY 1 ORDER BY 1"
        ).fetchall()
        return Counter({str(value): count for value, count in rows})
