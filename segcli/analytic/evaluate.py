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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import duckdb

from segcli.analytic.copy import COPIED, AnalyticCopy, forget_facts, forget_sets
from segcli.analytic.facts import (
    COUNTED_ORDERS_SQL,
    FACTS_SQL,
    REPEAT_TIME_SQL,
    facts_key,
    kept_facts,
)
from segcli.errors import StoreError
from segcli.files import OWNER_ONLY
from segcli.rules import ast
from segcli.rules.compile import Context, Params, as_of_params, compile_segment
from segcli.rules.compile import PeopleSet as PeopleSetSQL
from segcli.rules.dialect import DUCKDB
from segcli.rules.predicates import lines_clause
from segcli.segments.evaluate import Answers, Figures
from segcli.store.db import Store

# DuckDB's memory while evaluating: it spills to the copy's directory beyond this, so an
# evaluating command stays under 1 GB at a million people.
MEMORY_LIMIT = "600MB"

# Rows per row group of the kept facts. The writer holds a row group of a million
# people's wide rows per thread: under the memory limit, 122,880 rows (DuckDB's default)
# spilled and took 11 s at a million people, 32,768 took 2.8 s.
_FACTS_ROW_GROUP = 32_768

# Sets of people per mask of matched_orders (bits of a BIGINT, the sign's left alone).
_MASK_BITS = 62

_PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def bound(sql: str, params: dict[str, object]) -> dict[str, object]:
    """The parameters ``sql`` refers to: DuckDB refuses any other."""
    used = set(_PARAMETER.findall(sql))
    return {name: value for name, value in params.items() if name in used}


def _renamed(sql: str, params: dict[str, object], prefix: str) -> tuple[str, dict[str, object]]:
    """``sql`` with each parameter's name prefixed, and the values it then needs."""
    used = bound(sql, params)
    renamed = _PARAMETER.sub(lambda match: f"${prefix}{match[1]}", sql)
    return renamed, {prefix + name: value for name, value in used.items()}


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
    ):
        self.store = store
        self.as_of = as_of
        self.segments = segments
        self.copy = AnalyticCopy(store)
        files = self.copy.open()
        self.con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT})
        # Each set of people placed, by digest: the SQL that reads it.
        self._sets: dict[str, str] = {}
        self._sets_prefix: str | None = None
        # Sets of people found together (_find_together), by digest: the SQL that reads
        # each; those whose orders were found together, the mask of matched_orders and
        # the bit that say an order is theirs; the tables made for them.
        self._together: dict[str, str] = {}
        self._lines: dict[str, tuple[str, int]] = {}
        self._together_tables: list[str] = []
        # How many sets the last all_figures found together (for tests and profiles).
        self.found_together = 0
        self._macros = False
        # Whether the facts are a table of this connection (else a view of a kept file).
        self._facts_table = False
        try:
            self._prepare(files)
            self.base_params: dict[str, object] = as_of_params(as_of)
            self._facts()
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
        for table, path in files.items():
            # Table names and paths are segcli's own (the copy's), never a user's text.
            run(f"CREATE VIEW {table} AS SELECT * FROM read_parquet({_literal(str(path))})")

    def _facts(self) -> None:
        """Everyone's facts of the as-of date: kept in the copy's directory for the next
        command of the same date and data (a Parquet file named after both), else built
        and kept; built in memory when they cannot be kept."""
        key = facts_key(self.copy.files, self.as_of)
        # Sets of people are kept beside the facts, named after the as-of date and every
        # table of the copy (a set reads line items, products and reviews too), then the
        # set's own digest; sets of other data go when a new one is kept.
        every = " ".join(sorted(path.name for path in self.copy.files.values()))
        self._sets_prefix = (
            f"set-{self.as_of.isoformat()}-{hashlib.sha256(every.encode()).hexdigest()[:16]}"
        )
        kept = self._kept_facts(key) or self._build_facts(key)
        if kept is not None:
            path, days, gaps = kept
            self._repeat(days, gaps)
            self.con.execute(
                f"CREATE VIEW facts AS SELECT * FROM read_parquet({_literal(str(path))})"
            )
        else:
            self._facts_in_memory()
        self.people = int(self._scalar("SELECT count(*) FROM facts"))
        self.columns = [
            row[0]
            for row in self.con.execute("DESCRIBE facts").fetchall()
            if row[0] not in ("position", "tags_folded")
        ]

    def _facts_in_memory(self) -> None:
        """Everyone's facts of the as-of date as a table of this connection, kept by no
        one; so are the sets of people."""
        self._sets_prefix = None
        self._counted_orders()
        self.execute(f"CREATE TABLE facts AS {FACTS_SQL}", self.base_params)
        self.execute("DROP TABLE counted_orders")
        self._facts_table = True

    def move_to(self, as_of: date) -> None:
        """Evaluate as of another date on the same connection, the facts built in memory
        (segment history asks of many dates, once each: at 100,000 people 0.25 s a date,
        against 0.42 s for a new evaluation that keeps its facts)."""
        self.execute("DROP TABLE facts" if self._facts_table else "DROP VIEW facts")
        for found in self._sets.values():
            # SQL reading a set computed now is "SELECT person_id FROM people_set_N".
            if found.startswith("SELECT person_id FROM people_set_"):
                self.execute(f"DROP TABLE IF EXISTS {found.rsplit(' ', 1)[1]}")
        self._sets.clear()
        self.as_of = as_of
        self.base_params = as_of_params(as_of)
        self._facts_in_memory()
        self.people = int(self._scalar("SELECT count(*) FROM facts"))

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

    def _kept_facts(self, key: str) -> tuple[Path, int, int] | None:
        for path, days, gaps in kept_facts(self.copy.directory, key):
            if self.copy.hold(path):
                return path, days, gaps
        return None

    def _build_facts(self, key: str) -> tuple[Path, int, int] | None:
        """Build everyone's facts into a kept file; None when it cannot be written (a
        full disk, a file size limit): the evaluation then builds them in memory."""
        days, gaps = self._counted_orders()
        path = self.copy.directory / f"{key}-{days}-{gaps}.parquet"
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            self.execute(
                f"COPY ({FACTS_SQL}) "
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

    def _macros_for(self, sql: str) -> None:
        """Create segcli's macros when ``sql`` is the first to call one: most segments and
        kept facts need none, and making them costs 40 ms (their tables are read from the
        running Python)."""
        if not self._macros and "segcli_" in sql:
            from segcli.analytic.macros import install

            install(self.con)
            self._macros = True

    def execute(self, sql: str, params: dict[str, object] | None = None) -> Any:
        self._macros_for(sql)
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
        # Every row fetched: a result left open refuses the connection's next relation.
        rows = self.execute(sql, params).fetchall()
        return rows[0][0] if rows else None

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
        compiled = compile_segment(segment.criteria, self._context())
        return compiled.sql(self._place), {**self.base_params, **compiled.params}

    def _context(self) -> Context:
        return Context(self.as_of, self.segments, Params(DUCKDB), dialect=DUCKDB)

    def _kept_set(self, people: PeopleSetSQL) -> Path:
        return self.copy.directory / f"{self._sets_prefix}-{people.digest[:16]}.parquet"

    def all_figures(self, segments: list[ast.Segment]) -> list[Figures]:
        """Each segment's figures; the sets of people they read found together first."""
        with self._found_together(segments):
            return [self.figures(segment) for segment in segments]

    def all_member_keys(self, segments: list[ast.Segment]) -> list[Sequence[str]]:
        """Each segment's person keys (Arrow arrays: no Python object per member); the
        sets of people they read found together first."""
        with self._found_together(segments):
            return [self.member_key_array(segment) for segment in segments]

    @contextmanager
    def members_table(self, segments: list[ast.Segment]) -> Iterator[Any]:
        """This evaluation's connection, with tables ``snap_keys (i, position)``, the
        members of ``segments[i]`` by their position in the facts, and ``snap_people
        (position, person_key)``: written by DuckDB without leaving it (at a million
        people, seven million person keys of 56 segments took 4.5 s through Arrow, and
        4.8 s as text within DuckDB). The tables made on it are dropped after."""
        with self._found_together(segments):
            self.execute("CREATE TABLE snap_keys (i BIGINT, position BIGINT)")
            for i, segment in enumerate(segments):
                condition, params = self.compile(segment)
                self.execute(
                    f"INSERT INTO snap_keys SELECT {i}, f.position FROM facts f WHERE {condition}",
                    params,
                )
        self.execute("CREATE VIEW snap_people AS SELECT position, person_key FROM facts")
        try:
            yield self.con
        finally:
            self.execute("DROP VIEW snap_people")
            made = self.con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE starts_with(table_name, 'snap_')"
            ).fetchall()
            for (table,) in made:
                self.con.execute(f"DROP TABLE {table}")

    def member_key_array(self, segment: ast.Segment) -> Any:
        """The members' person keys as an Arrow array of text."""
        condition, params = self.compile(segment)
        sql = f"SELECT f.person_key FROM facts f WHERE {condition}"
        self._macros_for(sql)
        table = self.con.sql(sql, params=bound(sql, params)).to_arrow_table()
        return table.column(0).combine_chunks()

    @contextmanager
    def _found_together(self, segments: list[ast.Segment]) -> Iterator[None]:
        """Within this block, the sets of people ``segments`` read are found together."""
        self._find_together(segments)
        self.found_together = len(self._together.keys() | self._lines.keys())
        try:
            yield
        finally:
            for table in self._together_tables:
                self.execute(f"DROP TABLE IF EXISTS {table}")
            self._together_tables.clear()
            self._together.clear()
            self._lines.clear()

    def _find_together(self, segments: list[ast.Segment]) -> None:
        """Find the sets of people the segments read, that are neither placed nor kept,
        in as few passes over the records as their parts allow (``SetParts``). One set
        costs a pass over its table, or a join of the orders with the line items (at a
        million people, 0.1 s and 0.3-0.9 s); a pass finds every set of a table at once,
        one join the orders of every set found by its lines."""
        pending: dict[str, PeopleSetSQL] = {}
        for segment in segments:
            for people in compile_segment(segment.criteria, self._context()).sets:
                if people.digest not in self._sets and not self._kept_set(people).exists():
                    pending[people.digest] = people
        by_lines = {
            digest: people
            for digest, people in pending.items()
            if people.lines is not None
            and people.sql.count(lines_clause(people.lines)) == 1
            and people.sql.count(" orders o ") == 1
        }
        if len(by_lines) >= 2:
            self._match_lines(by_lines)
        passes: dict[str, list[tuple[str, str, dict[str, object]]]] = {}
        for digest, people in pending.items():
            if people.records is None:
                continue
            table, where = people.records
            if digest in self._lines and people.lines is not None:
                table = "matched_orders o"
                where = where.replace(lines_clause(people.lines), self._line_flag(digest, "o."))
            passes.setdefault(table, []).append((digest, where, people.params))
        for table, sets in passes.items():
            if len(sets) >= 2:
                self._pass(table, sets)

    def _pass(self, table: str, sets: list[tuple[str, str, dict[str, object]]]) -> None:
        """One pass over ``table`` (with its alias) for the people of each set's records
        (its digest, the condition its records meet, its parameters)."""
        alias = table.split()[1]
        found = f"people_sets_{len(self._together_tables) + 1}"
        flags: list[str] = []
        params: dict[str, object] = {}
        for n, (digest, where, own) in enumerate(sets, 1):
            renamed, values = _renamed(where, own, f"s{n}_")
            params |= values
            flags.append(f"bool_or({renamed}) AS set_{n}")
            self._together[digest] = f"SELECT person_id FROM {found} WHERE set_{n}"
        self._together_tables.append(found)
        self.execute(
            f"CREATE TABLE {found} AS SELECT {alias}.person_id, {', '.join(flags)} "
            f"FROM {table} WHERE {alias}.person_id IS NOT NULL GROUP BY {alias}.person_id",
            params,
        )

    def _match_lines(self, sets: dict[str, PeopleSetSQL]) -> None:
        """Table matched_orders: the counted orders of known people that have a line
        meeting some set's conditions on lines, with a bit for each set (in integer
        masks, ``_line_flag``) that says whether the order is one of its own.

        What a line item is matched by (its product, sku, title, collection, vendor)
        takes a few thousand distinct values where there are millions of lines: each
        set's conditions are asked of those kinds of line, then the lines are joined to
        the kinds that meet some set's. A condition's subqueries of the items read the
        kinds' columns, which hold the same distinct values."""
        described = self.con.execute("DESCRIBE items").fetchall()
        columns = [row[0] for row in described if row[0] != "order_id"]
        kinds, matching = "line_kinds", "line_kinds_matching"
        self._together_tables += [kinds, matching, "matched_orders"]
        self.execute(f"CREATE TABLE {kinds} AS SELECT DISTINCT {', '.join(columns)} FROM items")
        masks: dict[str, list[str]] = {}
        wanted: list[str] = []
        params: dict[str, object] = {}
        for n, (digest, people) in enumerate(sets.items()):
            lines, values = _renamed(people.lines or "", people.params, f"l{n}_")
            params |= values
            # A bit per set, some sixty to a mask: OR-ing integers per order costs less
            # than a bool_or per set (at a million people, 1.5 s against 1.8 s).
            mask, bit = f"line_mask_{n // _MASK_BITS}", n % _MASK_BITS
            masks.setdefault(mask, []).append(f"CASE WHEN {lines} THEN {1 << bit} ELSE 0 END")
            wanted.append(f"({lines})")
            self._lines[digest] = (mask, bit)
        made = ", ".join(f"CAST({' | '.join(bits)} AS BIGINT) AS {m}" for m, bits in masks.items())
        self.execute(
            f"CREATE TABLE {matching} AS WITH items AS (FROM {kinds}) "
            f"SELECT i.*, {made} FROM items i WHERE {' OR '.join(wanted)}",
            params,
        )
        same = " AND ".join(f"i.{column} IS NOT DISTINCT FROM k.{column}" for column in columns)
        any_of = ", ".join(f"bit_or(k.{mask}) AS {mask}" for mask in masks)
        # Every such set reads counted orders of known people (predicates._purchased_where).
        self.execute(
            "CREATE TABLE matched_orders AS SELECT o.* EXCLUDE (order_id), m.* EXCLUDE (order_id) "
            f"FROM orders o JOIN (SELECT i.order_id, {any_of} FROM items i "
            f"JOIN {matching} k ON {same} GROUP BY i.order_id) m "
            "ON m.order_id = o.order_id WHERE o.person_id IS NOT NULL AND o.counted = 1"
        )
        self.execute(f"DROP TABLE {matching}")
        self.execute(f"DROP TABLE {kinds}")

    def _line_flag(self, digest: str, alias: str = "") -> str:
        """SQL true for an order of matched_orders that is one of the set's own."""
        mask, bit = self._lines[digest]
        return f"({alias}{mask} & {1 << bit}) <> 0"

    def _place(self, people: PeopleSetSQL) -> str:
        """SQL reading a set of people: kept by an earlier command of the same facts, or
        computed now (once per command) and kept for the next."""
        digest = people.digest
        if digest in self._sets:
            return self._sets[digest]
        kept = self._kept_set(people)
        if kept.exists() and self.copy.hold(kept):
            found = f"SELECT person_id FROM read_parquet({_literal(str(kept))})"
        else:
            table = f"people_set_{len(self._sets) + 1}"
            sql, params = people.sql, people.params
            if digest in self._together:
                sql, params = self._together[digest], {}
            elif digest in self._lines and people.lines is not None:
                # Its orders, found with the others': the orders the set reads, shadowed.
                sql = (
                    "WITH orders AS (SELECT * FROM matched_orders "
                    f"WHERE {self._line_flag(digest)}) "
                    + sql.replace(lines_clause(people.lines), "true")
                )
            self.execute(
                f"CREATE TABLE {table} AS SELECT DISTINCT person_id FROM ({sql}) "
                "WHERE person_id IS NOT NULL",
                params,
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
        [(members, spent)] = self.execute(
            "SELECT count(*), CAST(coalesce(sum(f.total_spent), 0) AS BIGINT) FROM facts f "
            f"WHERE {condition}",
            params,
        ).fetchall()
        return Figures(int(members), int(spent))

    def member_sql(
        self, segment: ast.Segment, *, subscribed_only: bool = False
    ) -> tuple[str, dict[str, object]]:
        """A query of the members' facts (every column, position included), unordered:
        the export sorts its finished lines by position, once."""
        condition, params = self.compile(segment)
        if subscribed_only:
            condition = f"({condition}) AND f.accepts_marketing = 1"
        return f"SELECT f.* FROM facts f WHERE {condition}", params

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
        self._macros_for(sql)
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
