"""Evaluating segments as of a date: per-person facts built once (and stored for the
next command of the same date and data), then one query per segment."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import IO, TYPE_CHECKING, Any

from segcli.errors import StoreError
from segcli.rules import ast
from segcli.rules.compile import Context, Params, as_of_params, compile_condition, compile_segment
from segcli.rules.dialect import SQLITE, Dialect
from segcli.rules.operators import compare_custom, fold
from segcli.segments.kept import KeptSets
from segcli.store.db import Store, cannot_write, set_indexes_aside

if TYPE_CHECKING:
    from segcli.analytic.evaluate import DuckEvaluation

# The page cache while evaluating, in KiB (negative: SQLite's unit for KiB).
EVALUATION_CACHE_KIB = -16_000

# Counted orders up to the end of the as-of day, per person. The orders are read in their
# table's order and grouped by a sort: reading them in person order through an index
# fetches each row from wherever it lies (at a million people, 5-6 s against 3.8 s).
COUNTED_ORDERS_SQL = """
SELECT person_id, count(*) AS orders_count, sum(total) AS total_spent,
    min(created_at) AS first_order_at, max(created_at) AS last_order_at
FROM orders NOT INDEXED
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
    -- People in person-id order, the order of every per-person lookup below; the caller
    -- sorts the result by person key (at a million people 10 s, against 16-20 s when
    -- people were read in person-key order and each lookup went elsewhere).
    FROM people p NOT INDEXED LEFT JOIN counted_orders o ON o.person_id = p.person_id
    -- A person is in once any of their dates is on or before the as-of day, or when
    -- no date is known for them at all.
    WHERE p.first_seen_at IS NULL OR p.first_seen_at < :as_of_end
)
"""


# One person's facts (customer show), when the store-wide repeat-time sums are known:
# their counted orders found through the orders_person_date index, their row of people
# through its key, instead of everyone's.
ONE_PERSON_COUNTED_SQL = COUNTED_ORDERS_SQL.replace(
    "FROM orders NOT INDEXED\nWHERE", "FROM orders\nWHERE person_id = :person AND"
)
ONE_PERSON_FACTS_SQL = (
    "SELECT * FROM ("
    + FACTS_SQL.replace("FROM people p NOT INDEXED", "FROM people p")
    + ") WHERE person_id = :person"
)
assert ONE_PERSON_COUNTED_SQL != COUNTED_ORDERS_SQL and "NOT INDEXED" not in ONE_PERSON_FACTS_SQL


# Stored facts are of one as-of date, one state of the data and one version of the SQL
# that built them; this digest stands for the SQL.
FACTS_VERSION = hashlib.sha256(
    "\n".join((COUNTED_ORDERS_SQL, REPEAT_TIME_SQL, FACTS_SQL)).encode()
).hexdigest()[:16]


def facts_key(store: Store, as_of: date) -> str:
    """What stored facts must have been built from to be used for ``as_of``.

    Every import that commits adds a row to ``imports``, and nothing else changes the
    data, so the newest import and the number of imports stand for the data.
    """
    newest, imports = store.execute("SELECT max(import_id), count(*) FROM imports").fetchone()
    return f"{as_of.isoformat()} {newest} {imports} {store.schema_version()} {FACTS_VERSION}"


def _saved_facts(store: Store, key: str) -> tuple[int, int, int] | None:
    """The stored facts' repeat-time sums and number of people, when they are ``key``'s."""
    row = store.execute(
        "SELECT repeat_days, repeat_gaps, people FROM facts_cache_key WHERE key = ?", (key,)
    ).fetchone()
    return None if row is None else tuple(row)


def _repeat_params(days: int, gaps: int) -> dict[str, int]:
    """The average repeat-purchase time A = days / gaps, as the facts' SQL takes it."""
    return {"repeat_num": days, "repeat_den": gaps} if gaps else {"repeat_num": 0, "repeat_den": 1}


def register_functions(store: Store) -> None:
    """The SQL functions compiled segments use: Unicode case folding and custom compares."""
    store.conn.create_function("segcli_fold", 1, fold, deterministic=True)
    store.conn.create_function("segcli_compare", 2, compare_custom, deterministic=True)


@dataclass(frozen=True)
class Figures:
    """A segment's count and the total spend of its members (ten-thousandths)."""

    members: int
    total_spent: int


def open_evaluation(
    store: Store,
    as_of: date,
    segments: dict[str, ast.Segment],
    *,
    engine: str = "duckdb",
    person: int | None = None,
) -> AnyEvaluation:
    """The evaluation of ``segments`` as of ``as_of`` by ``engine``: "duckdb" over the
    analytic copy (segcli/analytic), or "sqlite" in the store itself."""
    if engine == "sqlite":
        return Evaluation(store, as_of, segments, person=person)
    if person is not None:
        # One person is a handful of records, which SQLite finds through its indexes in
        # milliseconds, where DuckDB reads every order and line item of the copy; DuckDB
        # gives the store-wide figure, the repeat time (at a million people: 0.3 s against
        # 1 s for customer show --explain, and 7 s for SQLite counting everyone's orders).
        from segcli.analytic.facts import repeat_sums

        return Evaluation(store, as_of, segments, person=person, repeat=repeat_sums(store, as_of))
    # Imported here: DuckDB and Arrow load only for the commands that evaluate with them.
    from segcli.analytic.evaluate import DuckEvaluation

    return DuckEvaluation(store, as_of, segments)


class Answers:
    """The questions both engines answer alike over their facts ``f``: the members, one
    person's facts, and whether a person meets a condition. An engine gives its dialect,
    its facts' columns and parameters, and ``_query``."""

    dialect: Dialect
    as_of: date
    segments: dict[str, ast.Segment]
    base_params: dict[str, object]
    columns: list[str]

    def _query(self, sql: str, params: dict[str, object]) -> Any:
        """Run ``sql``; a cursor with ``description``, ``fetchone`` and ``fetchmany``."""
        raise NotImplementedError

    def compile(self, segment: ast.Segment) -> tuple[str, dict[str, object]]:
        raise NotImplementedError

    def members(
        self, segment: ast.Segment, *, order_by: str = "", limit: int | None = None
    ) -> Iterator[dict]:
        """Members as dicts of facts, in ``order_by`` order (a trusted ORDER BY clause)."""
        condition, params = self.compile(segment)
        columns = ", ".join(f"f.{name}" for name in self.columns)
        # The facts are numbered in person-key order: position is that order.
        sql = f"SELECT {columns} FROM facts f WHERE {condition} ORDER BY {order_by or 'f.position'}"
        if limit is not None:
            sql += f" LIMIT {self.dialect.placeholder('row_limit')}"
            params["row_limit"] = limit
        cursor = self._query(sql, params)
        names = [column[0] for column in cursor.description]
        # Blocks as small as the export writes: a member is written soon after it is read.
        while block := cursor.fetchmany(1_000):
            for row in block:
                yield dict(zip(names, row, strict=True))

    def figures(self, segment: ast.Segment) -> Figures:
        raise NotImplementedError

    def all_figures(self, segments: list[ast.Segment]) -> list[Figures]:
        """Each segment's figures, in order (an engine may share work among them)."""
        return [self.figures(segment) for segment in segments]

    def member_keys(self, segment: ast.Segment) -> list[str]:
        """The members' person keys (``c:CUSTOMER_ID`` or ``e:EMAIL``), in no order."""
        condition, params = self.compile(segment)
        cursor = self._query(f"SELECT f.person_key FROM facts f WHERE {condition}", params)
        return [row[0] for row in cursor.fetchall()]

    def all_member_keys(self, segments: list[ast.Segment]) -> list[Sequence[str]]:
        """Each segment's ``member_keys``, in order (an engine may share work among them)."""
        return [self.member_keys(segment) for segment in segments]

    @contextmanager
    def members_table(self, segments: list[ast.Segment]) -> Iterator[Any]:
        """A DuckDB connection with tables ``snap_keys (i, position)``, the members of
        ``segments[i]`` by their position in the facts, and ``snap_people (position,
        person_key)`` (segments/snapshots.py records them)."""
        import duckdb
        import pyarrow as pa

        con = duckdb.connect(config={"threads": 2})
        try:
            people = self._query("SELECT f.position, f.person_key FROM facts f", {}).fetchall()
            con.register(
                "snap_people",
                pa.table(
                    {
                        "position": pa.array([row[0] for row in people], pa.int64()),
                        "person_key": pa.array([row[1] for row in people], pa.string()),
                    }
                ),
            )
            con.execute("CREATE TABLE snap_keys (i BIGINT, position BIGINT)")
            for i, segment in enumerate(segments):
                condition, params = self.compile(segment)
                found = self._query(f"SELECT f.position FROM facts f WHERE {condition}", params)
                positions = pa.array([row[0] for row in found.fetchall()], pa.int64())
                con.register("snap_taking", pa.table({"position": positions}))
                con.execute(f"INSERT INTO snap_keys SELECT {i}, position FROM snap_taking")
                con.unregister("snap_taking")
            yield con
        finally:
            con.close()

    def facts_of(self, keys: Iterable[str]) -> dict[str, dict]:
        """The facts of the people with these person keys who are known on the as-of
        date, by person key."""
        values = tuple(sorted(set(keys)))
        if not values:
            return {}
        columns = ", ".join(f"f.{name}" for name in self.columns)
        wanted = self.dialect.json_values(self.dialect.placeholder("keys"))
        cursor = self._query(
            f"SELECT {columns} FROM facts f WHERE f.person_key IN ({wanted})",
            {"keys": self.dialect.bound_list(values)},
        )
        names = [column[0] for column in cursor.description]
        found = (dict(zip(names, row, strict=True)) for row in cursor.fetchall())
        return {facts["person_key"]: facts for facts in found}

    def is_member(self, condition: ast.Condition, person_id: int) -> bool:
        # Where the engine searches indexes, the person's records are found through them.
        context = Context(
            self.as_of,
            self.segments,
            Params(self.dialect),
            one_person=self.dialect.searches_indexes,
            dialect=self.dialect,
        )
        sql = compile_condition(condition, context)
        params = {**self.base_params, **context.params.values, "person": person_id}
        row = self._query(f"SELECT {sql} FROM facts f WHERE {self._person()}", params).fetchone()
        return bool(row and row[0])

    def count(self, sql: str, params: dict[str, object], person_id: int) -> int:
        """``sql`` (a count over one person's records) for the person."""
        query = f"SELECT {sql} FROM facts f WHERE {self._person()}"
        row = self._query(query, {**self.base_params, **params, "person": person_id}).fetchone()
        return int(row[0])

    def person(self, person_id: int) -> dict | None:
        cursor = self._query(
            f"SELECT {', '.join(self.columns)} FROM facts f WHERE {self._person()}",
            {"person": person_id},
        )
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([c[0] for c in cursor.description], row, strict=True))

    def _person(self) -> str:
        return f"f.person_id = {self.dialect.placeholder('person')}"


class Evaluation(Answers):
    """Segments of one store as of one date. Builds the per-person facts once, or uses
    the stored ones, and reads one state of the database for as long as it is used.

    With ``person`` (a person id), only that person's facts are built, and membership is
    asked record by record through the indexes (``customer show``); the store-wide
    figures, such as the average repeat-purchase time, are still the whole store's:
    ``repeat`` gives its sums when they are known (DuckDB counts them over the analytic
    copy), else they are counted here.
    """

    engine = "sqlite"

    def __init__(
        self,
        store: Store,
        as_of: date,
        segments: dict[str, ast.Segment],
        *,
        person: int | None = None,
        repeat: tuple[int, int] | None = None,
    ):
        self.store = store
        self.as_of = as_of
        self.segments = segments
        self.one_person = person is not None
        self.dialect = SQLITE
        # The key of the stored facts this evaluation reads (None when it built its own).
        self.key: str | None = None
        register_functions(store)
        self.base_params: dict[str, object] = as_of_params(as_of)
        # A small page cache bounds memory (the sort of a million members' facts took
        # 290 MB with import's cache and a second sorting thread; 62 MB with this one),
        # and evaluating was no slower with it.
        store.execute(f"PRAGMA cache_size = {EVALUATION_CACHE_KIB}")
        store.execute("DROP VIEW IF EXISTS temp.facts")
        for table in ("facts_built", "counted_orders"):
            store.execute(f"DROP TABLE IF EXISTS temp.{table}")
        if person is None:
            self._whole_facts()
        else:
            self._one_person_facts(person, repeat)
        self.kept = KeptSets(store, self.key, self.people)

    def __enter__(self) -> Evaluation:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        """Done: the sets of people computed are kept (unless the work failed), and the
        read of one state of the database ends."""
        if kind is None:
            self.keep()
        self.store.end_reading()

    def _whole_facts(self) -> None:
        """Everyone's facts: the stored ones when they are of this as-of date and these
        data, else built anew and stored for the next command, when the database can be
        written at once (not during an import, not when read-only)."""
        store = self.store
        for _ in range(2):
            # One state of the database from here on, even if another command replaces
            # the stored facts meanwhile.
            store.begin_reading()
            key = facts_key(store, self.as_of)
            saved = _saved_facts(store, key)
            if saved is not None:
                self.key = key
                self._use(saved, "main.facts_cache")
                return
            store.end_reading()
            if not self._store_facts():
                break
        store.begin_reading()
        self._use(self._build("temp.facts_built"), "temp.facts_built")

    def _store_facts(self) -> bool:
        """Build everyone's facts into the database; False when it cannot be written now."""
        store = self.store
        try:
            with store.not_waiting(), store.transaction():
                # Read under the write lock: an import may have finished meanwhile.
                key = facts_key(store, self.as_of)
                figures = self._build("main.facts_cache")
                # Sets of people kept with the facts they were computed from go with them.
                for table in ("facts_cache_key", "facts_sets", "facts_sets_key"):
                    store.execute(f"DELETE FROM main.{table}")
                store.execute(
                    "INSERT INTO main.facts_cache_key VALUES (?, ?, ?, ?)", (key, *figures)
                )
        except StoreError:
            return False
        except sqlite3.Error as error:
            if not cannot_write(error):
                raise
            return False
        return True

    def _build(self, table: str) -> tuple[int, int, int]:
        """Build the facts into ``table``, in person-key order; returns the repeat-time
        sums and the number of people."""
        run = self.store.execute
        days, gaps = self._counted_orders()
        params = {**self.base_params, **_repeat_params(days, gaps)}
        # Rows go in by person key, so the rowid is the export order.
        facts = f"SELECT * FROM ({FACTS_SQL}) ORDER BY person_key"
        if table == "main.facts_cache":
            # The stored facts' table is the schema's (migration m009): emptied and
            # refilled, its index built again after (as the schema defines it), which
            # costs less than keeping it in order row by row.
            run("DELETE FROM main.facts_cache")
            indexes = set_indexes_aside(self.store, "facts_cache")
            run(f"INSERT INTO main.facts_cache {facts}", params)
            for sql in indexes:
                run(sql)
        else:
            run(f"DROP TABLE IF EXISTS {table}")
            run(f"CREATE TABLE {table} AS {facts}", params)
            schema, name = table.split(".")
            run(f"CREATE UNIQUE INDEX {schema}.{name}_person ON {name}(person_id)")
        run("DROP TABLE temp.counted_orders")
        people = self.store.scalar(f"SELECT max(rowid) FROM {table}") or 0
        return days, gaps, people

    def _counted_orders(self) -> tuple[int, int]:
        """Everyone's counted orders (temp.counted_orders, which the facts' SQL reads);
        returns the sums of the average repeat-purchase time."""
        run = self.store.execute
        run(f"CREATE TEMP TABLE counted_orders AS {COUNTED_ORDERS_SQL}", self.base_params)
        run("CREATE UNIQUE INDEX temp.counted_orders_person ON counted_orders(person_id)")
        days, gaps = run(REPEAT_TIME_SQL).fetchone()
        return int(days), int(gaps)

    def _use(self, figures: tuple[int, int, int], table: str) -> None:
        days, gaps, self.people = figures
        self.repeat_time = Fraction(days, gaps) if gaps else None
        self.base_params.update(_repeat_params(days, gaps))
        schema, name = table.split(".")
        # The facts' own columns (those of FACTS_SQL), without the view's position.
        self.columns = [row[1] for row in self.store.execute(f"PRAGMA {schema}.table_info({name})")]
        self.store.execute(f"CREATE TEMP VIEW facts AS SELECT rowid AS position, * FROM {table}")

    def _one_person_facts(self, person: int, repeat: tuple[int, int] | None) -> None:
        """One person's facts; the store-wide figures (the repeat time) as given, else from
        the stored facts when they are current, else from everyone's counted orders."""
        store = self.store
        store.begin_reading()
        run = store.execute
        if repeat is not None:
            own = {**self.base_params, **_repeat_params(*repeat), "person": person}
            run(f"CREATE TEMP TABLE counted_orders AS {ONE_PERSON_COUNTED_SQL}", own)
            run(f"CREATE TEMP TABLE facts_built AS {ONE_PERSON_FACTS_SQL}", own)
            run("DROP TABLE temp.counted_orders")
            people = store.scalar("SELECT count(*) FROM facts_built")
            self._use((*repeat, people), "temp.facts_built")
            return
        saved = _saved_facts(store, facts_key(store, self.as_of))
        if saved is not None:
            self._use(saved, "main.facts_cache")
            return
        days, gaps = self._counted_orders()
        run(
            f"CREATE TEMP TABLE facts_built AS SELECT * FROM ({FACTS_SQL}) "
            "WHERE person_id = :person",
            {**self.base_params, **_repeat_params(days, gaps), "person": person},
        )
        run("CREATE UNIQUE INDEX temp.facts_built_person ON facts_built(person_id)")
        run("DROP TABLE temp.counted_orders")
        people = store.scalar("SELECT count(*) FROM facts_built")
        self._use((days, gaps, people), "temp.facts_built")

    def compile(self, segment: ast.Segment, *, sets: bool = True) -> tuple[str, dict[str, object]]:
        """The segment's condition as SQL over ``facts f``, and all its parameters.

        With ``sets``, the sets of people that cost a pass over records (who purchased,
        reviewed, ordered, left a cart) are computed once, or read as stored by an earlier
        command of the same facts; without, the SQL computes them itself, as ``segment
        sql`` shows it."""
        context = Context(self.as_of, self.segments, Params())
        if not sets:
            condition = compile_condition(segment.criteria, context)
            return condition, {**self.base_params, **context.params.values}
        compiled = compile_segment(segment.criteria, context)
        return compiled.sql(self.kept.place), {**self.base_params, **compiled.params}

    def _query(self, sql: str, params: dict[str, object]) -> Any:
        return self.store.execute(sql, params)

    def keep(self) -> None:
        """Keep the sets of people computed, for the next command (``KeptSets.keep``).
        It ends the evaluation's read of one state of the database."""
        self.kept.keep()

    def figures(self, segment: ast.Segment) -> Figures:
        condition, params = self.compile(segment)
        members, spent = self.store.execute(
            f"SELECT count(*), coalesce(sum(f.total_spent), 0) FROM facts f WHERE {condition}",
            params,
        ).fetchone()
        return Figures(members, spent)

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
        """Write the segment's members to ``out`` (segments/export.py's writers)."""
        from segcli.segments.export import write_sqlite_segment

        return write_sqlite_segment(
            self, segment, fields, output_format, out, raw=raw, subscribed_only=subscribed_only
        )

    def rows(
        self,
        segment: ast.Segment,
        columns: list[str],
        *,
        subscribed_only: bool = False,
    ) -> Iterator[tuple]:
        """Each member's ``columns`` (trusted SQL expressions over ``facts f``), in
        person-key order."""
        condition, all_params = self.compile(segment)
        if subscribed_only:
            condition = f"({condition}) AND f.accepts_marketing"
        cursor = self.store.execute(
            f"SELECT {', '.join(columns)} FROM facts f WHERE {condition} ORDER BY f.position",
            all_params,
        )
        while block := cursor.fetchmany(1_000):
            yield from block

    def plan(self, segment: ast.Segment) -> list[str]:
        """SQLite's query plan for counting the segment's members, as indented lines.

        This is the query ``segment calculate`` runs, over the per-person facts table that
        is built once per as-of date and stored until the next import, with each set of
        people a purchased, reviewed, has_order or abandoned_cart condition matched
        computed in place (as the first command of those facts computes it; later ones
        read it as kept).
        """
        condition, params = self.compile(segment, sets=False)
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

    def standalone_sql(self, segment: ast.Segment) -> tuple[str, dict[str, object]]:
        """One self-contained query for the segment's members, with its parameters."""
        condition, params = self.compile(segment, sets=False)
        sql = (
            f"WITH counted_orders AS ({COUNTED_ORDERS_SQL.strip()}),\n"
            f"facts AS ({FACTS_SQL.strip()})\n"
            f"SELECT f.person_id, f.customer_id, f.email FROM facts f\nWHERE {condition}\n"
            "ORDER BY f.person_key"
        )
        return sql, params


if TYPE_CHECKING:
    from typing import TypeAlias

    # An evaluation by either engine: the same questions, the same answers.
    AnyEvaluation: TypeAlias = Evaluation | DuckEvaluation
