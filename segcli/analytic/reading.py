"""Reading the SQLite store into Arrow and Parquet, for the analytic copy.

ADBC's SQLite driver reads a query into Arrow record batches in C (three to four times
as fast as the sqlite3 module and building Arrow arrays in Python) and streams them, so a
table of millions of rows never sits in memory whole. It infers each column's type from
the first batch; a column that starts with a run of NULLs would be taken for an integer
and fail at its first text. Each read therefore starts with one row of the columns' own
types, dropped before writing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import adbc_driver_sqlite.dbapi as adbc
import pyarrow as pa

from segcli.errors import StoreError

# Rows per Arrow batch read from SQLite, and per Parquet row group: large enough that a
# batch costs little, small enough that DuckDB reads the groups in parallel.
BATCH_ROWS = 65_536
_TYPED_VALUES = {"text": "''", "integer": "0"}
# DuckDB's memory while it writes a table (sorting a million people): it spills beyond.
_MEMORY_LIMIT = "500MB"


class StoreReader:
    """One read of the store, at one state of its data: the data versions and every
    table read through it are of the same moment, whatever imports commit meanwhile."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.conn = adbc.connect(str(path))
        except Exception as error:
            raise StoreError(f"cannot read {path} for the analytic copy: {error}") from error
        # A transaction from the first read on: SQLite's snapshot of the WAL database.
        self.cursor = self.conn.cursor()

    def __enter__(self) -> StoreReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.cursor.close()
        self.conn.rollback()
        self.conn.close()

    def versions(self) -> dict[str, int]:
        """Each stamped table's data version, as of this read."""
        self.cursor.execute("SELECT name, version FROM data_versions")
        return {str(name): int(version) for name, version in self.cursor.fetchall()}

    def batches(self, table: str, columns: dict[str, str]) -> pa.RecordBatchReader:
        """The table's ``columns`` (name → "text" or "integer"), in Arrow batches."""
        typed = ", ".join(f"{_TYPED_VALUES[kind]} AS {name}" for name, kind in columns.items())
        # Identifiers come from segcli's own table of copied columns, never from input.
        sql = f"SELECT {typed} UNION ALL SELECT {', '.join(columns)} FROM main.{table}"
        self.cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
        self.cursor.execute(sql)
        return self.cursor.fetch_record_batch()

    def write_parquet(self, table: str, columns: dict[str, str], path: Path) -> None:
        """Write the table's ``columns`` to a Parquet file at ``path`` (people in
        person-key order, numbered by ``position``: the order of every member list)."""
        import duckdb

        batches = self.batches(table, columns)
        con = duckdb.connect(config={"memory_limit": _MEMORY_LIMIT, "threads": 2})
        try:
            con.register(
                "copied",
                pa.RecordBatchReader.from_batches(batches.schema, _typed_row_dropped(batches)),
            )
            from segcli.analytic.copy import KEYED_BY_DIGEST, ORDER_KEY_SQL

            select = "SELECT * FROM copied"
            if table in KEYED_BY_DIGEST:
                key = KEYED_BY_DIGEST[table]
                select = f"SELECT * REPLACE ({ORDER_KEY_SQL.format(key=key)} AS {key}) FROM copied"
            if table == "people":
                select = (
                    "SELECT row_number() OVER (ORDER BY person_key) AS position, * "
                    "FROM copied ORDER BY person_key"
                )
            target = str(path).replace("'", "''")
            con.execute(
                f"COPY ({select}) TO '{target}' (FORMAT parquet, COMPRESSION zstd, "
                f"ROW_GROUP_SIZE {BATCH_ROWS})"
            )
        except (OSError, duckdb.IOException) as error:
            raise StoreError(_reason(error)) from error
        except duckdb.Error as error:
            raise _mistyped(self.path, table, error) from error
        finally:
            con.close()


def _typed_row_dropped(batches: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    first = True
    for batch in batches:
        if first:
            batch, first = batch.slice(1), False
        if batch.num_rows:
            yield batch


def _reason(error: BaseException) -> str:
    """The operating system's words for a failed write, from an OSError or DuckDB's."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = str(error)
    for words in ("File too large", "No space left on device", "Permission denied"):
        if words in text:
            return words
    return text.splitlines()[0] if text else type(error).__name__


def _mistyped(path: Path, table: str, error: Any) -> StoreError:
    return StoreError(
        f"cannot copy table {table} of {path} for evaluation: {error}",
        hint="a value of another type than its column's was written into the store by "
        "another program; --engine sqlite evaluates without the copy",
    )


def main(argv: list[str]) -> int:
    """``python -m segcli.analytic.reading STORE SCHEMA_VERSION TABLE...``: refresh the
    tables' files of the analytic copy; prints the tables written."""
    from segcli.analytic.copy import refresh

    path, schema_version, *tables = argv
    try:
        written = refresh(Path(path), int(schema_version), tables)
    except StoreError as error:
        print(error, file=sys.stderr)
        return 1
    print(" ".join(written))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
