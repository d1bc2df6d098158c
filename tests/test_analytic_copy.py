"""The analytic copy DuckDB evaluates: derived from the store, stamped with each table's
data version, refreshed table by table and only where stale, safe to delete, whole after
a kill, shared by processes at once, and private."""

from __future__ import annotations

import gc
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from segcli.analytic.copy import COPIED, AnalyticCopy, copy_directory, refresh
from segcli.examples.demo import EXAMPLE_FILES, example_data_dir, example_segments_dir
from segcli.store.db import open_store
from tests.conftest import Segcli

AS_OF = "2026-11-01"
SEGMENTS = example_segments_dir()


def example_store(segcli: Segcli) -> None:
    for kind, name in EXAMPLE_FILES:
        result = segcli("import", kind, example_data_dir() / name)
        assert result.exit_code == 0, result.stderr


# Every example segment counted, in CSV: the command the tests compare.
CALCULATE = ("--segments", str(SEGMENTS), "segment", "calculate", "--as-of", AS_OF)
CALCULATE += ("--format", "csv")


def calculated(segcli: Segcli, *options: str) -> str:
    result = segcli(*options, *CALCULATE)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def opened(db: Path) -> AnalyticCopy:
    """The store's copy, made current (its ``refreshed`` says what was read again)."""
    with open_store(db) as store:
        copy = AnalyticCopy(store)
        copy.open()
        copy.close()
    return copy


def contents(db: Path) -> dict[str, list[tuple]]:
    """Every table of the current copy, rows sorted."""
    with open_store(db) as store, AnalyticCopy(store) as copy:
        files = copy.open()
        con = duckdb.connect()
        return {
            table: sorted(con.execute(f"SELECT * FROM read_parquet('{path}')").fetchall(), key=repr)
            for table, path in files.items()
        }


def fresh_contents(segcli: Segcli) -> dict[str, list[tuple]]:
    """The copy built from nothing, of a copy of the store."""
    elsewhere = segcli.dir / "fresh"
    shutil.rmtree(elsewhere, ignore_errors=True)
    elsewhere.mkdir()
    db = elsewhere / "store.db"
    with open_store(segcli.db) as store:
        store.execute(f"VACUUM INTO '{db}'")
    return contents(db)


def test_the_first_evaluation_builds_every_table_and_the_next_reads_none(segcli):
    example_store(segcli)
    assert opened(segcli.db).refreshed == list(COPIED)
    assert opened(segcli.db).refreshed == []
    assert contents(segcli.db) == fresh_contents(segcli)


def test_an_order_is_known_by_its_digest_exactly_in_orders_and_line_items(segcli):
    # The number is the MD5 digest (read little-endian, as DuckDB's md5_number reads it)
    # without its two lowest bits, every one of the others kept: a DOUBLE would keep 53.
    example_store(segcli)
    with open_store(segcli.db) as store:
        ids = [row[0] for row in store.execute("SELECT order_id FROM orders")]
        items = {row[0] for row in store.execute("SELECT order_id FROM items")}
    copied = contents(segcli.db)

    def key(order_id: str) -> int:
        return int.from_bytes(hashlib.md5(order_id.encode()).digest(), "little") >> 2

    assert sorted(int(row[0]) for row in copied["orders"]) == sorted(key(i) for i in ids)
    assert {int(row[0]) for row in copied["items"]} == {key(i) for i in items}
    assert all(key(i) > 2**53 for i in ids[:5])  # numbers a DOUBLE would round


# What importing one more file of a kind makes stale: its own tables, and people when it
# brings new people (every kind that names people does here); nothing else.
MORE = {
    "products": (
        "product_id,sku,title,collections,product_type,vendor\n"
        "P-NEW,SKU-NEW,Brand New Kettle,Kitchen,Kitchen,Maison Lumière\n",
        {"products", "product_collections"},
    ),
    "customers": (
        "customer_id,email,first_name,last_name,created_at\n"
        "C-NEW,new.person@example.com,New,Person,2026-10-30T10:00:00Z\n",
        {"customers", "people"},
    ),
    "orders": (
        "order_id,customer_id,email,created_at,total,status,currency\n"
        "O-NEW,C-NEW2,new.buyer@example.com,2026-10-31T10:00:00Z,10.00,paid,USD\n",
        {"orders", "people"},
    ),
    "items": (
        "order_id,product_id,title,quantity,price\nO00000002,P00001,Nordic Copper Teapot,1,89.00\n",
        {"items"},
    ),
    "reviews": (
        "review_id,customer_id,email,product_id,rating,created_at\n"
        "R-NEW,,new.reviewer@example.com,P00001,5,2026-10-30T10:00:00Z\n",
        {"reviews", "people"},
    ),
    "subscribers": (
        "email,subscribed_at,status\nnew.subscriber@example.com,2026-10-30T10:00:00Z,subscribed\n",
        {"subscribers", "people"},
    ),
    "carts": (
        "cart_id,email,created_at,total\nK-NEW,new.carter@example.com,2026-10-30T10:00:00Z,5.00\n",
        {"carts", "people"},
    ),
}


@pytest.mark.parametrize("kind", list(MORE))
def test_an_import_makes_stale_what_it_changed_and_only_that(segcli, kind):
    example_store(segcli)
    opened(segcli.db)
    before = calculated(segcli)
    text, stale = MORE[kind]
    result = segcli("import", kind, segcli.write(f"more-{kind}.csv", text))
    assert result.exit_code == 0, result.stderr
    assert set(opened(segcli.db).refreshed) == stale & set(COPIED)
    assert contents(segcli.db) == fresh_contents(segcli)
    # Both engines agree on the store after the import, and the copy is used as it is.
    assert calculated(segcli) == calculated(segcli, "--engine", "sqlite")
    assert opened(segcli.db).refreshed == []
    assert before  # the store had members before


def test_an_import_that_changes_nothing_leaves_the_copy_current(segcli):
    example_store(segcli)
    opened(segcli.db)
    for kind, name in EXAMPLE_FILES:
        result = segcli("import", kind, example_data_dir() / name)
        assert result.exit_code == 0, result.stderr
    assert opened(segcli.db).refreshed == []


def test_the_copy_is_safe_to_delete(segcli):
    example_store(segcli)
    first = calculated(segcli)
    shutil.rmtree(copy_directory(segcli.db))
    assert calculated(segcli) == first
    assert copy_directory(segcli.db).is_dir()


def test_the_copy_is_private(segcli):
    example_store(segcli)
    calculated(segcli)
    directory = copy_directory(segcli.db)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for path in directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_new_store_at_the_same_path_never_reads_the_old_copy(segcli):
    example_store(segcli)
    calculated(segcli)
    for leftover in segcli.dir.glob("store.db*"):
        if leftover.is_file():
            leftover.unlink()
    result = segcli(
        "import", "customers", segcli.write("c.csv", "customer_id,email\nC1,one@example.com\n")
    )
    assert result.exit_code == 0, result.stderr
    assert "everyone,Everyone,1," in calculated(segcli)


def test_a_restored_backup_imported_into_never_meets_a_file_of_its_versions(segcli):
    example_store(segcli)
    backup = segcli.dir / "backup.db"
    with open_store(segcli.db) as store:
        store.execute(f"VACUUM INTO '{backup}'")
    text, _ = MORE["orders"]
    assert segcli("import", "orders", segcli.write("a.csv", text)).exit_code == 0
    calculated(segcli)
    # The backup comes back, and another file is imported into it (connections the
    # commands run here left for the collector are closed first, as at a process's end).
    gc.collect()
    for leftover in segcli.dir.glob("store.db-*"):
        leftover.unlink()
    shutil.copy(backup, segcli.db)
    other = text.replace("O-NEW,C-NEW2,new.buyer", "O-OTHER,C-OTHER,other.buyer")
    result = segcli("import", "orders", segcli.write("b.csv", other))
    assert result.exit_code == 0, result.stderr
    assert calculated(segcli) == calculated(segcli, "--engine", "sqlite")


def test_engines_agree_on_every_example_segment_as_of_several_dates(segcli):
    example_store(segcli)
    for day in ("2024-01-15", "2025-06-30", AS_OF, "2027-01-01"):
        duck = segcli(
            "--segments", SEGMENTS, "segment", "calculate", "--as-of", day, "--format", "json"
        )
        lite = segcli(
            "--engine",
            "sqlite",
            "--segments",
            SEGMENTS,
            "segment",
            "calculate",
            "--as-of",
            day,
            "--format",
            "json",
        )
        assert duck.exit_code == lite.exit_code == 0, duck.stderr + lite.stderr
        assert json.loads(duck.stdout) == json.loads(lite.stdout), day


def _segcli(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "segcli", "--db", str(db), *args]


@pytest.mark.slow
def test_two_processes_at_once_both_answer_and_share_the_copy(segcli):
    example_store(segcli)
    expected = calculated(segcli, "--engine", "sqlite")
    command = _segcli(segcli.db, *CALCULATE)
    for _ in range(3):
        shutil.rmtree(copy_directory(segcli.db), ignore_errors=True)
        children = [
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        for child in children:
            out, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
            assert out == expected
    files = [p.name for p in copy_directory(segcli.db).glob("*.parquet")]
    kept = ("facts-", "set-")
    tables = [name.split("-")[0] for name in files if not name.startswith(kept)]
    assert sorted(tables) == sorted(COPIED)
    assert not list(copy_directory(segcli.db).glob(".*.tmp"))


@pytest.mark.slow
def test_a_refresh_killed_half_way_leaves_the_old_file_or_the_new(segcli):
    example_store(segcli)
    expected_before = calculated(segcli, "--engine", "sqlite")
    calculated(segcli)
    text, _ = MORE["orders"]
    assert segcli("import", "orders", segcli.write("more.csv", text)).exit_code == 0
    expected_after = calculated(segcli, "--engine", "sqlite")
    assert expected_after != expected_before
    directory = copy_directory(segcli.db)
    with open_store(segcli.db) as store:
        schema = store.schema_version()
    # The refresh a command starts, killed at moments spread over its run.
    for delay in (0.05, 0.2, 0.4, 0.8):
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "segcli.analytic.reading",
                str(segcli.db),
                str(schema),
                "orders",
                "items",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        names = sorted(p.name.split("-")[0] for p in directory.glob("*.parquet"))
        assert names.count("orders") <= 2 and names.count("items") <= 2
        # Whatever the kill left, the next command answers as the store says.
        assert calculated(segcli) == expected_after
        assert not list(directory.glob(".*.tmp"))
        for table in ("orders", "items"):
            for path in directory.glob(f"{table}-*.parquet"):
                path.unlink()


def test_a_file_in_use_is_not_deleted_when_a_newer_one_replaces_it(segcli):
    example_store(segcli)
    with open_store(segcli.db) as store, AnalyticCopy(store) as reader:
        files = reader.open()
        text, _ = MORE["orders"]
        assert segcli("import", "orders", segcli.write("more.csv", text)).exit_code == 0
        with open_store(segcli.db) as again:
            written = refresh(segcli.db, again.schema_version(), ["orders"])
        assert written == ["orders"]
        # The reader's file is still there to read until it lets go.
        assert files["orders"].exists()
    with open_store(segcli.db) as store:
        refresh(segcli.db, store.schema_version(), ["orders"])
    assert not files["orders"].exists()


def test_info_says_where_the_copy_is_and_how_big(segcli):
    example_store(segcli)
    info = json.loads(segcli("info", "--format", "json").stdout)["analytic_copy"]
    assert info["path"] == str(copy_directory(segcli.db).resolve())
    assert (info["files"], info["bytes"]) == (0, 0)
    assert info["stale_tables"] == list(COPIED)
    calculated(segcli)
    info = json.loads(segcli("info", "--format", "json").stdout)["analytic_copy"]
    assert info["files"] >= len(COPIED) and info["bytes"] > 0
    assert info["stale_tables"] == []
    table = segcli("info").stdout
    assert "analytic copy" in table and str(copy_directory(segcli.db).resolve()) in table


def test_an_unwritable_directory_is_a_clear_error_and_sqlite_still_answers(segcli):
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    example_store(segcli)
    segcli.dir.chmod(0o500)
    try:
        result = segcli("--segments", SEGMENTS, "segment", "calculate", "--as-of", AS_OF)
        assert result.exit_code == 1
        assert "analytic copy" in result.stderr and "--engine sqlite" in result.stderr
        assert calculated(segcli, "--engine", "sqlite")
    finally:
        segcli.dir.chmod(0o700)


def test_sets_of_people_kept_by_a_command_are_not_read_after_an_import(segcli):
    """A set kept beside the facts reads line items, which the facts do not: an items
    import must make it be computed again."""
    example_store(segcli)
    criteria = ("--criteria", "{purchased: {product: P-BRAND-NEW}}", "--as-of", AS_OF)

    def members(*engine: str) -> str:
        result = segcli(*engine, "segment", "calculate", *criteria, "--format", "csv")
        assert result.exit_code == 0, result.stderr
        return result.stdout.splitlines()[1].split(",")[2]

    assert members() == members("--engine", "sqlite") == "0"
    assert members() == "0"  # read as kept
    # A line added to a paid order (O00000001 was cancelled: it counts for no one).
    line = "order_id,product_id,title,quantity,price\nO00000002,P-BRAND-NEW,New,1,5.00\n"
    assert segcli("import", "items", segcli.write("new-line.csv", line)).exit_code == 0
    assert members() == members("--engine", "sqlite") == "1"
