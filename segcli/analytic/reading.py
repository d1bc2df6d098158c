"""Reading the SQLite store into Arrow and Parquet, for the analytic copy.

ADBC's SQLite driver reads a query into Arrow record batches in C (three to four times
as fast as the sqlite3 module and building Arrow arrays in Python) and streams them, so a
table of millions of rows never sits in memory whole. It infers each column's type from
the first batch; a column that starts with a run of NULLs would be taken for an integer
and fail at its first text. Each read therefore starts with one row of the columns' own
types, dropped before writing.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import adbc_driver_sqlite.dbapi as adbc
import pyarrow as pa
import pyarrow.parquet as pq

from segcli.errors import StoreError

_TYPED_VALUES = {"text": "''", "integer": "0"}


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
        from segcli.analytic.copy import BATCH_ROWS

        self.cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
        self.cursor.execute(sql)
        return self.cursor.fetch_record_batch()

    def write_parquet(self, table: str, columns: dict[str, str], out: IO[bytes]) -> int:
        """Write the table's ``columns`` to ``out`` as Parquet; returns the rows written."""
        batches = self.batches(table, columns)
        writer = pq.ParquetWriter(out, batches.schema, compression="zstd")
        rows = 0
        first = True
        try:
            for batch in batches:
                if first:
                    batch, first = batch.slice(1), False
                if batch.num_rows:
                    writer.write_batch(batch)
                    rows += batch.num_rows
        except OSError as error:
            raise _mistyped(self.path, table, error) from error
        finally:
            writer.close()
        return rows


def _mistyped(path: Path, table: str, error: Any) -> StoreError:
    return StoreError(
        f"cannot copy table {table} of {path} for evaluation: {error}",
        hint="a value of another type than its column's was written into the store by "
        "another program; --engine sqlite evaluates without the copy",
    )
