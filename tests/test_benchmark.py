"""The benchmark script runs end to end at a tiny size (a smoke test: no timing is asserted),
and its peer, DuckDB over the generated CSV files, gives segcli's answers."""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import io
import json
import re
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from segcli.cli import cli
from segcli.examples.generator import generate_store

ROOT = Path(__file__).resolve().parents[1]


def script(name: str, *args: object, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run one of the benchmarks' scripts to its end, its output kept as text."""
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / name), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow
def test_benchmark_runs_every_phase_and_writes_its_figures(tmp_path):
    figures = tmp_path / "figures.json"
    done = script("run.py", "--people", 150, "--dir", tmp_path / "work", "--json", figures)
    assert done.returncode == 0, done.stderr
    phases = json.loads(figures.read_text(encoding="utf-8"))["phases"]
    names = [phase["name"] for phase in phases]
    for kind in ("products", "customers", "orders", "items", "reviews", "subscribers", "carts"):
        assert f"import {kind}" in names
    assert "import: all kinds" in names
    assert any(name.startswith("calculate all") for name in names)
    assert any(name.startswith("export ") for name in names)
    # Both engines, the analytic copy from scratch and after one more orders file.
    assert "build the analytic copy from scratch" in names
    assert any(name.endswith("--engine sqlite") for name in names)
    assert any(name.startswith("customer show --explain") for name in names)
    assert any(name.startswith("refresh the copy after it (") for name in names)
    # The printed table holds the same phases, one line each.
    for name in names:
        assert name in done.stdout
    imported = {p["name"]: p["rows"] for p in phases if p["name"].startswith("import")}
    generated = next(p for p in phases if p["name"].startswith("generate"))["rows"]
    assert imported["import: all kinds"] == generated
    assert sum(v for k, v in imported.items() if k != "import: all kinds") == generated
    # The peer reads what was generated, agrees with segcli, and segcli's calculation of
    # all segments is printed as a ratio to its time.
    written = json.loads(figures.read_text(encoding="utf-8"))
    (peer_phase,) = [p for p in phases if p["name"].startswith("peer: DuckDB")]
    assert peer_phase["rows"] == generated
    assert written["peer_differences"] == []
    assert "segments give segcli's counts and spend" in done.stdout
    for phase in phases:
        if phase["name"].startswith("calculate all"):
            assert phase["ratio"] == pytest.approx(phase["seconds"] / peer_phase["seconds"])
    # Where the sqlite3 shell is, it copies the imported store, every row of every table,
    # as the floor of what writing the store costs.
    references = [p for p in phases if p["name"].startswith("reference: sqlite3")]
    if references:
        (floor,) = [p for p in phases if p["name"].startswith("floor: ")]
        assert floor["ratio"] == pytest.approx(floor["seconds"] / references[0]["seconds"])
        assert floor["rows"] > generated  # people, and the store's own tables
        copied = {}
        for name in ("store.db", "floor.db"):
            with contextlib.closing(sqlite3.connect(tmp_path / "work" / name)) as conn:
                copied[name] = {
                    table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                    for table in ("people", "orders", "items", "customers", "subscribers")
                }
        # The store gained one more orders file after the floor was measured.
        assert copied["floor.db"]["people"] > 0
        assert copied["floor.db"]["items"] == copied["store.db"]["items"]
        assert copied["floor.db"]["customers"] == copied["store.db"]["customers"]
    # Every segment's snapshot of two days, timed against calculate; a year of weekly
    # points of one segment.
    count = next(p for p in phases if p["name"].startswith("calculate all"))["rows"]
    for which in ("first", "the day after"):
        (snapshot,) = [p for p in phases if p["name"] == f"snapshot all {count} segments, {which}"]
        assert snapshot["ratio"] > 0
    with contextlib.closing(sqlite3.connect(tmp_path / "work" / "store.db")) as conn:
        taken = conn.execute("SELECT count(*), count(DISTINCT as_of) FROM snapshots").fetchone()
    assert taken == (2 * count, 2)
    assert "history of repeat-customers, 52 weekly points" in names

    # A year of daily snapshots, here three days of it, on the benchmark's store.
    done = script("snapshots.py", tmp_path / "work" / "store.db", "--days", 3)
    assert done.returncode == 0, done.stderr
    assert "3 daily snapshots of every segment" in done.stdout
    assert re.search(r"snapshot tables: [0-9.]+ MB", done.stdout)


def test_benchmark_script_starts_and_names_its_options():
    """The quick check: the script and what it imports load, and its options are there."""
    done = script("run.py", "--help", timeout=60)
    assert done.returncode == 0, done.stderr
    for option in ("--people", "--seed", "--dir", "--json"):
        assert option in done.stdout


# The peer: DuckDB alone, over the generator's CSV files, in hand-written SQL.
def _load_peer():
    spec = importlib.util.spec_from_file_location("benchmark_peer", ROOT / "benchmarks" / "peer.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Its dataclass looks its module up by name while it is being defined.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


peer = _load_peer()
EXAMPLE_SEGMENTS = ROOT / "segcli" / "examples" / "segments"
KINDS = ("products", "customers", "orders", "items", "reviews", "subscribers", "carts")
# The benchmark's day, and one in the middle of the history, where later orders, reviews,
# carts, subscriptions and people are left out and every window falls elsewhere.
AS_OF_DATES = ("2026-11-01", "2025-06-15")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A generated store of 3,000 people: its CSV files, and a database segcli imported them to."""
    work = tmp_path_factory.mktemp("peer")
    generate_store(work / "data", 3_000, seed=7)
    db = work / "store.db"
    for kind in KINDS:
        result = CliRunner().invoke(
            cli, ["--db", str(db), "import", kind, str(work / "data" / f"{kind}.csv")]
        )
        assert result.exit_code == 0, result.stderr
    return work / "data", db


def segcli_answer(db: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--db", str(db), "--segments", str(EXAMPLE_SEGMENTS), *args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def peer_answer(data: Path, as_of: str, people: Path) -> dict:
    done = script("peer.py", data, "--as-of", as_of, "--people", people)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("as_of", AS_OF_DATES)
def test_peer_counts_are_segcli_counts_for_every_segment_it_covers(generated, as_of, tmp_path):
    data, db = generated
    answer = peer_answer(data, as_of, tmp_path / "people.csv")
    calculated = json.loads(
        segcli_answer(db, "segment", "calculate", "--as-of", as_of, "--format", "json"),
        parse_float=Decimal,
    )
    covered = {figure["segment"] for figure in answer["segments"]}
    # Every built-in segment and every example segment: the ratio printed against segcli's
    # calculation of all of them compares like with like.
    assert covered == {figure["segment"] for figure in calculated}
    assert peer.differences(answer["segments"], calculated) == []
    # segcli's table shows A to one decimal; the peer keeps it as days over gaps.
    days, gaps = answer["average_repeat_days"]
    table = segcli_answer(db, "segment", "calculate", "everyone", "--as-of", as_of)
    assert f"average repeat-purchase time A = {days / gaps:.1f} days" in table
    if as_of == AS_OF_DATES[0]:
        # Every condition finds someone, so that each comparison above means something.
        assert all(figure["count"] > 0 for figure in answer["segments"])


@pytest.mark.slow
@pytest.mark.parametrize("as_of", AS_OF_DATES)
def test_peer_figures_are_segcli_figures_person_by_person(generated, as_of, tmp_path):
    data, db = generated
    peer_answer(data, as_of, tmp_path / "people.csv")
    exported = segcli_answer(
        db,
        "segment",
        "export",
        "everyone",
        "--as-of",
        as_of,
        "--fields",
        ",".join(peer.PEOPLE_COLUMNS),
        "--format",
        "csv",
    )

    def people(text: str) -> dict[str, dict[str, object]]:
        rows = csv.DictReader(io.StringIO(text))
        # Money compared as the exact amount: segcli writes 60.95, DuckDB 60.9500.
        return {
            row["person_key"]: row | {"total_spent": Decimal(row["total_spent"])} for row in rows
        }

    ours = people((tmp_path / "people.csv").read_text(encoding="utf-8"))
    theirs = people(exported)
    assert len(theirs) > 1_000
    assert ours.keys() == theirs.keys()
    differing = [key for key in theirs if ours[key] != theirs[key]]
    assert differing == [], [(ours[key], theirs[key]) for key in differing[:3]]


def test_differences_name_each_segment_and_figure_that_differs():
    segcli_figures = [
        {"segment": "vip-customers", "count": 12, "total_spent": Decimal("19000.50")},
        {"segment": "norway", "count": 4, "total_spent": Decimal("120.00")},
    ]
    peer_figures = [
        {"segment": "vip-customers", "count": 12, "total_spent": "19000.5000"},
        {"segment": "norway", "count": 5, "total_spent": "120.0001"},
        {"segment": "win-back", "count": 1, "total_spent": "0"},
    ]
    assert peer.differences(peer_figures, segcli_figures) == [
        "norway: count segcli 4, peer 5",
        "norway: total_spent segcli 120.00, peer 120.0001",
        "win-back: not in segcli's answer",
    ]


def test_peer_refuses_files_that_are_not_the_generators(tmp_path):
    generate_store(tmp_path, 20, seed=1)
    customers = tmp_path / "customers.csv"
    header, rest = customers.read_text(encoding="utf-8").split("\n", 1)
    customers.write_text(header.replace("loyalty_tier", "tier") + "\n" + rest, encoding="utf-8")
    done = script("peer.py", tmp_path, "--as-of", "2026-11-01", timeout=120)
    assert done.returncode != 0
    assert "expected the columns" in done.stderr
    assert done.stdout == ""
