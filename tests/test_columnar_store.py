"""A store imported by the columnar path (plain files read and parsed by DuckDB) is the
store the csv module's path imports, table for table and row for row: on the demo data,
on a generated store and on the real files, including files imported twice."""

from __future__ import annotations

import gzip
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from segcli.importer import load
from segcli.importer.load import import_file
from segcli.importer.options import ImportOptions
from segcli.store.db import open_store
from segcli.store.schema import RECORD_TABLES
from tests.conftest import REAL_DATA, RETAIL_MAPPING, needs_real_data

EXAMPLE_DATA = Path(__file__).resolve().parents[1] / "segcli" / "examples" / "data"
KINDS = ("products", "customers", "orders", "items", "reviews", "subscribers", "carts")
TABLES = (*RECORD_TABLES, "people", "product_collections")


def imported(db: Path, files: list[tuple[str, Path, ImportOptions]], *, columnar: bool) -> list:
    """Import the files in order; each file's result as the command reports it."""
    results = []
    with pytest.MonkeyPatch.context() as patch:
        if not columnar:
            patch.setattr(load, "plain_file", lambda *args, **kwargs: None)
        else:
            used = []
            original = load.plain_file
            patch.setattr(
                load, "plain_file", lambda *a, **k: used.append(original(*a, **k)) or used[-1]
            )
        with closing(open_store(db)) as store:
            for kind, path, options in files:
                result = import_file(store, kind, path, options)
                results.append(
                    (
                        result.rows_read,
                        result.inserted,
                        result.updated,
                        result.unchanged,
                        result.rejected,
                        [(r.line, r.reason) for r in result.rejects],
                    )
                )
        if columnar:
            # The test is about the columnar path: some file took it.
            assert any(plain is not None for plain in used)
    return results


def tables(db: Path) -> dict[str, list]:
    with closing(sqlite3.connect(db)) as conn:
        return {
            table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in TABLES
        }


def assert_same_store(tmp_path: Path, files: list[tuple[str, Path, ImportOptions]]) -> None:
    by_csv = imported(tmp_path / "csv.db", files, columnar=False)
    by_columns = imported(tmp_path / "columns.db", files, columnar=True)
    assert by_columns == by_csv
    assert tables(tmp_path / "columns.db") == tables(tmp_path / "csv.db")


def test_the_demo_data_imports_the_same_store_twice_over(tmp_path):
    files = [(kind, EXAMPLE_DATA / f"{kind}.csv", ImportOptions()) for kind in KINDS]
    # The second round: every plain file again (unchanged rows), through the merges.
    assert_same_store(tmp_path, files + files)


def test_a_generated_store_imports_the_same(tmp_path):
    from segcli.examples.generator import main as generate

    generate([str(tmp_path / "data"), "--people", "1500", "--seed", "11"])
    files = [(kind, tmp_path / "data" / f"{kind}.csv", ImportOptions()) for kind in KINDS]
    assert_same_store(tmp_path, files)


def test_files_with_windows_line_ends_import_the_same(tmp_path):
    """As a spreadsheet saves them: every line ends in a carriage return and a newline."""
    files = []
    for kind in KINDS:
        text = (EXAMPLE_DATA / f"{kind}.csv").read_text(encoding="utf-8")
        path = tmp_path / f"{kind}.csv"
        path.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
        files.append((kind, path, ImportOptions()))
    assert_same_store(tmp_path, files)


def test_bad_rows_are_rejected_alike(tmp_path):
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,customer_id,email,created_at,total,status,currency\n"
        "O1,C1,a@x.com,2026-01-02T10:00:00+02:00,10.5,paid,usd\n"
        "O2,C2,b@x.com,2026-02-30,1,paid,USD\n"
        "O3,,,2026-01-03,1,paid,USD\n"
        "O4,C3,c@x.com,2026-01-04,12.34567,paid,USD\n"
        "O5,C4,not an email,2026-01-05,3,paid,USD\n"
        "O6,C5,d@x.com,2026-01-06 07:08:09.5,1e3,Refunded,USD,extra\n"
        "O1,C1,a@x.com,2026-01-07,11,paid,USD\n",
        encoding="utf-8",
    )
    assert_same_store(tmp_path, [("orders", orders, ImportOptions())])


def test_a_line_too_long_for_duckdb_is_read_by_the_csv_module_alike(tmp_path):
    from segcli.importer.plain import _MAX_LINE

    subscribers = tmp_path / "subscribers.csv"
    subscribers.write_text(
        "email,subscribed_at,status,source\n"
        "a@x.com,2026-01-02T10:00:00Z,subscribed,popup\n"
        f"b@x.com,2026-01-03,subscribed,{'q' * (_MAX_LINE + 10)}\n"
        "c@x.com,2026-01-04,unsubscribed,\n",
        encoding="utf-8",
    )
    assert_same_store(tmp_path, [("subscribers", subscribers, ImportOptions())])
    with closing(sqlite3.connect(tmp_path / "columns.db")) as conn:
        assert conn.execute("SELECT max(length(source)) FROM subscribers").fetchone() == (
            _MAX_LINE + 10,
        )


def without_quoted_lines(source: Path, target: Path, *, compressed: bool = False) -> Path:
    """A copy of a real file without its lines that quote a cell (a description with a
    comma): the rest is a plain file, which the columnar path reads."""
    opener = gzip.open if compressed else open
    with opener(source, "rt", encoding="utf-8", newline="") as handle:
        kept = [line for line in handle if '"' not in line]
    target.write_text("".join(kept), encoding="utf-8", newline="")
    return target


RETAIL_OPTIONS = ImportOptions(mapping=RETAIL_MAPPING)


@needs_real_data
def test_a_day_of_online_retail_imports_the_same(tmp_path):
    day = without_quoted_lines(REAL_DATA / "online-retail" / "2010-12-01.csv", tmp_path / "day.csv")
    assert_same_store(tmp_path, [("orders", day, RETAIL_OPTIONS)])


@pytest.mark.slow
@needs_real_data
def test_the_whole_online_retail_year_imports_the_same(tmp_path):
    year = without_quoted_lines(
        REAL_DATA / "online-retail" / "online-retail-dataset.csv.gz",
        tmp_path / "year.csv",
        compressed=True,
    )
    assert_same_store(
        tmp_path, [("orders", year, RETAIL_OPTIONS), ("orders", year, RETAIL_OPTIONS)]
    )


def test_a_file_is_imported_with_a_small_page_cache_and_the_store_keeps_its_own(tmp_path):
    """An import's peak memory does not grow with the store: SQLite's page cache is
    load.IMPORT_CACHE_KIB while a file is imported, and the store's own afterwards."""
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,customer_id,email,created_at,total,status,currency\n"
        "O1,C1,a@x.com,2026-01-02,10.5,paid,USD\n",
        encoding="utf-8",
    )
    seen = []
    with closing(open_store(tmp_path / "store.db")) as store:
        before = store.scalar("PRAGMA cache_size")

        def phase(_: str) -> None:
            seen.append(store.scalar("PRAGMA cache_size"))

        import_file(store, "orders", orders, ImportOptions(), on_phase=phase)
        assert store.scalar("PRAGMA cache_size") == before
    assert seen and set(seen) == {-load.IMPORT_CACHE_KIB}
    assert before != -load.IMPORT_CACHE_KIB
