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

from segcli.examples.demo import (
    EXAMPLE_FILES,
    EXAMPLE_STORE_TODAY,
    example_data_dir,
    example_segments_dir,
)
from segcli.importer.load import ImportOptions, import_file
from segcli.rules import ast
from segcli.rules.parse import parse_criteria_text
from segcli.segments import evaluate, kept
from segcli.segments.catalog import load_catalog
from segcli.segments.evaluate import Evaluation, facts_key
from segcli.store.db import open_store
from tests.conftest import Segcli, checked

SEGMENTS = example_segments_dir()


@pytest.fixture(autouse=True)
def _sqlite_engine(monkeypatch):
    """The facts kept in the store are the SQLite engine's (DuckDB keeps the copy)."""
    monkeypatch.setenv("SEGCLI_ENGINE", "sqlite")


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
        fresh.rows("DELETE FROM facts_cache_key")
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
    store.execute("DELETE FROM facts_cache_key")
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")  # as an import does
    figures = []

    def evaluate_now():
        with open_store(path) as reader:
            evaluation = Evaluation(reader, EXAMPLE_STORE_TODAY, catalog.segments)
            figures.append(evaluation.figures(catalog.segments["vip-customers"]))

    # The database waits 30 s for a writer; stored facts are not worth that wait.
    assert finishes_before_the_writer(evaluate_now, writer)
    assert figures == [expected]
    assert store.scalar("SELECT count(*) FROM facts_cache_key") == 0
    store.close()


def finishes_before_the_writer(work, writer: sqlite3.Connection) -> bool:
    """Run ``work`` in a thread while ``writer`` holds the write lock (or takes it); True
    when it finished without waiting for the writer to let go (a busy wait is 30 s)."""
    worker = threading.Thread(target=work)
    worker.start()
    worker.join(timeout=20)
    alive = worker.is_alive()
    writer.execute("ROLLBACK")
    worker.join()
    writer.close()
    return not alive


# -- sets of people kept with the facts ---------------------------------------------


@pytest.fixture
def computed_sets(monkeypatch) -> list[str]:
    """The sets of people computed (not read as kept), by the SQL that selects them."""
    calls: list[str] = []
    place = kept.KeptSets.place

    def spied(self, people):
        found = place(self, people)
        if "temp.people_set_" in found and found not in calls:
            calls.append(found)
        return found

    monkeypatch.setattr(kept.KeptSets, "place", spied)
    return calls


def kept_sets(segcli: Segcli) -> int:
    try:
        return segcli.value("SELECT count(*) FROM facts_sets_key")
    except sqlite3.OperationalError:
        return 0


def test_sets_of_people_are_kept_and_read_by_the_next_command(segcli, computed_sets):
    example_store(segcli)
    first = calculated(segcli, EXAMPLE_STORE_TODAY)
    # Six example segments ask about products, collections, types or vendors, and more
    # about orders of some status, reviews and carts.
    assert len(computed_sets) >= 12
    assert kept_sets(segcli) == len(computed_sets)
    key = stored_key(segcli)
    assert segcli.rows("SELECT DISTINCT facts_key FROM facts_sets_key") == [(key,)]
    computed_sets.clear()
    assert calculated(segcli, EXAMPLE_STORE_TODAY) == first
    assert computed_sets == []
    # Exporting and showing read them too, and give what a store without them gives.
    export = ("--segments", SEGMENTS, "segment", "export", "gift-shoppers", "--as-of",
              EXAMPLE_STORE_TODAY)  # fmt: skip
    kept = segcli(*export)
    assert kept.exit_code == 0, kept.stderr
    assert computed_sets == []
    segcli.rows("DELETE FROM facts_sets_key")
    fresh = segcli(*export)
    assert fresh.stdout == kept.stdout
    assert len(computed_sets) == 1


def test_an_import_replaces_the_kept_sets(tmp_path, computed_sets):
    (tmp_path / "kept").mkdir()
    (tmp_path / "fresh").mkdir()
    segcli = Segcli(tmp_path / "kept")
    example_store(segcli)
    calculated(segcli, EXAMPLE_STORE_TODAY)
    before = kept_sets(segcli)
    checked(segcli, "import", "orders", segcli.write("new.csv", NEW_ORDER))
    computed_sets.clear()
    after = calculated(segcli, EXAMPLE_STORE_TODAY)
    assert len(computed_sets) == before
    assert segcli.rows("SELECT DISTINCT facts_key FROM facts_sets_key") == [(stored_key(segcli),)]
    # The same figures as a database that never kept anything.
    fresh = Segcli(tmp_path / "fresh")
    example_store(fresh)
    checked(fresh, "import", "orders", fresh.write("new.csv", NEW_ORDER))
    fresh.rows("DELETE FROM facts_sets_key")  # nothing kept
    assert calculated(fresh, EXAMPLE_STORE_TODAY) == after


def parse(text: str) -> ast.Condition:
    condition, problems = parse_criteria_text(text)
    assert not problems, problems
    return condition


def direct(evaluation: Evaluation, segment: ast.Segment) -> evaluate.Figures:
    """The segment's figures from SQL that computes every set itself."""
    condition, params = evaluation.compile(segment, sets=False)
    members, spent = evaluation.store.execute(
        f"SELECT count(*), coalesce(sum(f.total_spent), 0) FROM facts f WHERE {condition}",
        params,
    ).fetchone()
    return evaluate.Figures(members, spent)


def test_one_set_per_condition_and_values_whatever_the_segment(tmp_path):
    store = _example_store_at(tmp_path / "store.db")
    segments = {
        name: ast.Segment(name, name, "", parse(text), "test")
        for name, text in (
            ("outdoor", "purchased: {collection: Outdoor}"),
            # The same condition, its values at other placeholders.
            ("outdoor-consent", "[accepts_marketing: true, purchased: {collection: outdoor}]"),
            # The same SQL with another value: another set.
            ("best-sellers", "purchased: {collection: Best Sellers}"),
            ("winter", "purchased: {collection: Winter Warmers, times: 0}"),
        )
    }
    first = Evaluation(store, EXAMPLE_STORE_TODAY, segments)
    figures = {name: first.figures(segment) for name, segment in segments.items()}
    assert figures == {name: direct(first, segment) for name, segment in segments.items()}
    assert figures["best-sellers"] != figures["outdoor"]
    assert len(first.kept._fresh) == 3
    first.keep()
    assert store.scalar("SELECT count(*) FROM facts_sets_key") == 3
    again = Evaluation(store, EXAMPLE_STORE_TODAY, segments)
    assert {name: again.figures(segment) for name, segment in segments.items()} == figures
    assert again.kept._fresh == {}
    # Another as-of date: other facts, other sets.
    other = Evaluation(store, EARLIER, segments)
    assert store.scalar("SELECT count(*) FROM facts_sets") == 0
    other.figures(segments["outdoor"])
    assert len(other.kept._fresh) == 1
    store.close()


def test_sets_are_not_kept_while_the_database_is_written(tmp_path):
    path = tmp_path / "store.db"
    catalog = load_catalog(SEGMENTS)
    gift_shoppers = catalog.segments["gift-shoppers"]
    _example_store_at(path).close()
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    results = []

    def evaluate_and_keep():
        with open_store(path) as store:
            evaluation = Evaluation(store, EXAMPLE_STORE_TODAY, catalog.segments)
            results.append(evaluation.figures(gift_shoppers))
            writer.execute("BEGIN IMMEDIATE")  # as an import does, meanwhile
            evaluation.keep()
            results.append(len(evaluation.kept._fresh))

    # The database waits 30 s for a writer; kept sets are not worth that wait.
    assert finishes_before_the_writer(evaluate_and_keep, writer)
    assert len(results) == 2
    with open_store(path) as store:
        assert store.scalar("SELECT count(*) FROM facts_sets") == 0
        again = Evaluation(store, EXAMPLE_STORE_TODAY, catalog.segments)
        assert again.figures(gift_shoppers) == results[0]
        assert len(again.kept._fresh) > 0


def test_kept_sets_stay_within_their_room(tmp_path, monkeypatch):
    """Kept sets hold at most KEPT_ROWS_PER_PERSON rows per person; a set that would go
    over is not kept, and is computed again, with the same figures, next time."""
    path = tmp_path / "store.db"
    store = _example_store_at(path)
    segments = {
        name: ast.Segment(name, name, "", parse(text), "test")
        for name, text in (
            ("small", "purchased: {collection: Best Sellers, times: {gte: 3}}"),
            ("large", "has_order: true"),
        )
    }
    first = Evaluation(store, EXAMPLE_STORE_TODAY, segments)
    figures = {name: first.figures(segment) for name, segment in segments.items()}
    small, large = figures["small"].members, figures["large"].members
    assert 0 < small < large <= first.people
    # Room for the small set and not for both: 1 row per person, less the small set.
    monkeypatch.setattr(kept, "KEPT_ROWS_PER_PERSON", 1)
    monkeypatch.setattr(kept, "KEPT_ROWS_AT_LEAST", 0)
    with open_store(path) as other, other.transaction():
        other.execute(
            "INSERT INTO facts_sets SELECT 0, person_id FROM facts_cache LIMIT ?",
            (first.people - small - large + 1,),
        )
    first.keep()
    assert store.scalar("SELECT count(*) FROM facts_sets_key") == 1
    assert store.scalar("SELECT count(*) FROM facts_sets WHERE set_id != 0") == small
    again = Evaluation(store, EXAMPLE_STORE_TODAY, segments)
    assert {name: again.figures(segment) for name, segment in segments.items()} == figures
    assert len(again.kept._fresh) == 1
    store.close()
