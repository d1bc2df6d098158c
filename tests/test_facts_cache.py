"""Stored facts: everyone's facts of one as-of date, kept in the database for the next
command, used only while they are of the same date, data and SQL, and never mixed up
with another command's."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import date
from pathlib import Path

import pytest

from segcli.demo import EXAMPLE_FILES, EXAMPLE_STORE_TODAY, example_data_dir, example_segments_dir
from segcli.importer.load import ImportOptions, import_file
from segcli.segments import evaluate
from segcli.segments.catalog import load_catalog
from segcli.segments.evaluate import Evaluation, facts_key
from segcli.store.db import open_store
from tests.conftest import Segcli, checked

SEGMENTS = example_segments_dir()
EARLIER = date(2025, 6, 30)
# A new order placed on the example store's last day by its first customer.
NEW_ORDER = (
    "order_id,customer_id,email,created_at,total,status,currency\n"
    "O-NEW-1,C000001,m.moreau2@example.net,2026-11-01T10:00:00Z,5000.00,paid,USD\n"
)


def example_store(segcli: Segcli) -> None:
    for kind, name in EXAMPLE_FILES:
        checked(segcli, "import", kind, example_data_dir() / name)


def calculated(segcli: Segcli, as_of: date) -> list[dict]:
    result = segcli(
        "--segments", SEGMENTS, "segment", "calculate", "--as-of", as_of, "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def stored_key(segcli: Segcli) -> str | None:
    try:
        return segcli.value("SELECT key FROM facts_cache_key")
    except sqlite3.OperationalError:
        return None


@pytest.fixture
def builds(monkeypatch) -> list[str]:
    """The tables facts are built into, in order."""
    calls: list[str] = []
    build = Evaluation._build

    def counted(self, table):
        calls.append(table)
        return build(self, table)

    monkeypatch.setattr(Evaluation, "_build", counted)
    return calls


def test_facts_are_stored_and_used_again_for_the_same_date(segcli, builds):
    example_store(segcli)
    first = calculated(segcli, EXAMPLE_STORE_TODAY)
    assert builds == ["main.facts_cache"]
    assert stored_key(segcli).startswith(EXAMPLE_STORE_TODAY.isoformat())
    assert calculated(segcli, EXAMPLE_STORE_TODAY) == first
    assert builds == ["main.facts_cache"]


def test_an_import_makes_stored_facts_stale(tmp_path, builds):
    segcli = Segcli(tmp_path)
    example_store(segcli)
    before = calculated(segcli, EXAMPLE_STORE_TODAY)
    checked(segcli, "import", "orders", segcli.write("new.csv", NEW_ORDER))
    after = calculated(segcli, EXAMPLE_STORE_TODAY)
    assert builds == ["main.facts_cache", "main.facts_cache"]
    assert after != before
    # The same as a database that never had stored facts.
    (tmp_path / "fresh").mkdir()
    fresh = Segcli(tmp_path / "fresh")
    example_store(fresh)
    checked(fresh, "import", "orders", fresh.write("new.csv", NEW_ORDER))
    assert calculated(fresh, EXAMPLE_STORE_TODAY) == after


def test_each_date_has_its_own_facts(tmp_path):
    segcli = Segcli(tmp_path)
    example_store(segcli)
    (tmp_path / "fresh").mkdir()
    fresh = Segcli(tmp_path / "fresh")
    example_store(fresh)
    expected = {}
    for as_of in (EXAMPLE_STORE_TODAY, EARLIER):
        expected[as_of] = calculated(fresh, as_of)
        fresh.rows("DROP TABLE facts_cache_key")
    assert expected[EXAMPLE_STORE_TODAY] != expected[EARLIER]
    for as_of in (EXAMPLE_STORE_TODAY, EARLIER, EXAMPLE_STORE_TODAY, EARLIER):
        assert calculated(segcli, as_of) == expected[as_of]


def test_other_sql_makes_stored_facts_stale(segcli, builds, monkeypatch):
    example_store(segcli)
    first = calculated(segcli, EXAMPLE_STORE_TODAY)
    monkeypatch.setattr(evaluate, "FACTS_VERSION", "another version")
    assert calculated(segcli, EXAMPLE_STORE_TODAY) == first
    assert builds == ["main.facts_cache", "main.facts_cache"]
    assert stored_key(segcli).endswith("another version")


def test_customer_show_reads_the_stored_facts_alike(segcli):
    example_store(segcli)
    args = ("customer", "show", "C000001", "--as-of", EXAMPLE_STORE_TODAY, "--format", "json")
    alone = segcli("--segments", SEGMENTS, *args)
    assert alone.exit_code == 0, alone.stderr
    calculated(segcli, EXAMPLE_STORE_TODAY)
    assert stored_key(segcli) is not None
    stored = segcli("--segments", SEGMENTS, *args)
    assert stored.stdout == alone.stdout


def test_export_of_everyone_is_in_person_key_order(segcli):
    example_store(segcli)
    for _ in range(2):  # built, then stored
        result = segcli(
            "segment", "export", "everyone", "--as-of", EXAMPLE_STORE_TODAY,
            "--fields", "person_key",
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        keys = result.stdout.splitlines()[1:]
        assert keys == sorted(keys)
        assert len(keys) == segcli.value("SELECT count(*) FROM people")


def _example_store_at(path: Path):
    store = open_store(path)
    for kind, name in EXAMPLE_FILES:
        import_file(store, kind, example_data_dir() / name, ImportOptions())
    return store


def test_an_evaluation_keeps_its_facts_while_another_replaces_them(tmp_path):
    path = tmp_path / "store.db"
    catalog = load_catalog(SEGMENTS)
    first = _example_store_at(path)
    early = Evaluation(first, EARLIER, catalog.segments)
    segment = catalog.segments["active-repeat"]
    before = early.figures(segment)
    members = [m["person_key"] for m in early.members(segment)]
    # Another command evaluates another date: it stores its own facts meanwhile.
    second = open_store(path)
    late = Evaluation(second, EXAMPLE_STORE_TODAY, catalog.segments)
    assert second.scalar("SELECT key FROM facts_cache_key") == facts_key(
        second, EXAMPLE_STORE_TODAY
    )
    assert late.figures(segment) != before
    assert early.figures(segment) == before
    assert [m["person_key"] for m in early.members(segment)] == members
    first.close()
    second.close()


def test_an_import_after_an_evaluation_on_the_same_connection(tmp_path):
    catalog = load_catalog(SEGMENTS)
    store = _example_store_at(tmp_path / "store.db")
    everyone = catalog.segments["everyone"]
    before = Evaluation(store, EXAMPLE_STORE_TODAY, catalog.segments).figures(everyone)
    new = tmp_path / "new.csv"
    new.write_text(NEW_ORDER.replace("C000001", "C-NEW").replace("m.moreau2", "someone.new"))
    import_file(store, "orders", new, ImportOptions())
    after = Evaluation(store, EXAMPLE_STORE_TODAY, catalog.segments).figures(everyone)
    assert after.members == before.members + 1
    store.close()


def test_a_database_being_written_is_evaluated_without_waiting_or_storing(tmp_path):
    path = tmp_path / "store.db"
    catalog = load_catalog(SEGMENTS)
    store = _example_store_at(path)
    expected = Evaluation(store, EXAMPLE_STORE_TODAY, catalog.segments).figures(
        catalog.segments["vip-customers"]
    )
    store.end_reading()
    store.execute("DROP TABLE facts_cache_key")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # as an import does
    figures = []

    def evaluate_now():
        with open_store(path) as reader:
            evaluation = Evaluation(reader, EXAMPLE_STORE_TODAY, catalog.segments)
            figures.append(evaluation.figures(catalog.segments["vip-customers"]))

    # The database waits 30 s for a writer; stored facts are not worth that wait.
    worker = threading.Thread(target=evaluate_now)
    worker.start()
    worker.join(timeout=20)
    alive = worker.is_alive()
    writer.execute("ROLLBACK")
    worker.join()
    assert not alive
    assert figures == [expected]
    assert store.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'facts_cache_key'") == 0
    writer.close()
    store.close()
