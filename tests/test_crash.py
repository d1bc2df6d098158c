"""An import killed at any moment (even with SIGKILL) leaves the database as it was."""

from __future__ import annotations

import csv
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from segcli.examples.generator import generate_store

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")


def _segcli(db: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "segcli", "--db", str(db), "import", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _state(db: Path) -> tuple[str, list]:
    with sqlite3.connect(db) as conn:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        counts = [
            conn.execute(f"SELECT count(*), total(rowid) FROM {table}").fetchone()
            for table in ("customers", "orders", "people", "imports")
        ]
        digest = conn.execute("SELECT count(*), sum(total), max(person_id) FROM orders").fetchone()
    return check, [*counts, digest]


# An import that dies at a chosen step, inside its transaction: os._exit skips every
# rollback and cleanup, as SIGKILL does, but at a known moment and on a small file.
DIES_AT = """
import os, sys
from pathlib import Path
from segcli.importer.load import ImportOptions, import_file
from segcli.store.db import open_store

def phase(name):
    if name == sys.argv[3]:
        os._exit(9)

with open_store(Path(sys.argv[1])) as store:
    import_file(store, "orders", Path(sys.argv[2]), ImportOptions(), on_phase=phase)
"""


@pytest.mark.parametrize("step", ["working out people", "saving"])
def test_an_import_that_dies_before_its_commit_leaves_the_database_as_before(tmp_path, step):
    db = tmp_path / "store.db"
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id,email\nC1,ann@example.com\nC2,bo@example.com\n")
    assert _segcli(db, "customers", str(customers)).wait(timeout=60) == 0
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,customer_id,email,created_at,total\n"
        "O1,C1,,2024-05-01,10.50\nO2,,new@example.com,2024-05-02,3\n"
    )
    before = _state(db)
    died = subprocess.run(
        [sys.executable, "-c", DIES_AT, str(db), str(orders), step], capture_output=True
    )
    assert died.returncode == 9, died.stderr
    assert _state(db) == before
    # The file itself was fine: run again to its end, it imports whole.
    assert _segcli(db, "orders", str(orders)).wait(timeout=60) == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 2


@pytest.fixture(scope="module")
def big_store(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("big")
    generate_store(directory, people=40_000, seed=11)
    return directory


@pytest.mark.slow
def test_killed_import_leaves_the_database_as_before(big_store, tmp_path):
    db = tmp_path / "store.db"
    first = _segcli(db, "customers", str(big_store / "customers.csv"))
    assert first.wait(timeout=300) == 0, first.stderr.read()
    before = _state(db)
    assert before[0] == "ok"
    # The same import run to its end on a copy: a kill that comes after the commit (while
    # the import reports) leaves exactly this.
    initial = tmp_path / "initial.db"
    reference = tmp_path / "reference.db"
    for path in (initial, reference):
        with sqlite3.connect(db) as source, sqlite3.connect(path) as copy:
            source.backup(copy)
    whole = _segcli(reference, "orders", str(big_store / "orders.csv"))
    assert whole.wait(timeout=300) == 0, whole.stderr.read()
    complete = _state(reference)

    chooser = random.Random(2024)
    kills = 0
    for _ in range(4):
        process = _segcli(db, "orders", str(big_store / "orders.csv"))
        time.sleep(chooser.uniform(0.3, 2.5))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=300)
        if process.returncode == 0:
            break  # finished before the kill: nothing more to prove with this timing
        state = _state(db)
        assert state in (before, complete)
        if state == complete:
            # Killed after its commit: the import was whole. Start again from before it.
            kills -= 1
            with sqlite3.connect(initial) as source, sqlite3.connect(db) as target:
                source.backup(target)
    assert kills >= 1, "every import finished before it could be killed; use a larger file"

    rerun = _segcli(db, "orders", str(big_store / "orders.csv"))
    assert rerun.wait(timeout=300) == 0, rerun.stderr.read()
    check, after = _state(db)
    assert check == "ok"
    with sqlite3.connect(db) as conn:
        orders = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
    with (big_store / "orders.csv").open(encoding="utf-8") as handle:
        assert orders == sum(1 for _ in handle) - 1


def _export(db: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "segcli", "--db", str(db), "segment", "export", "everyone"] + [
        "-o",
        str(out),
        "--as-of",
        "2030-01-01",
    ]


@pytest.mark.slow
def test_killed_export_leaves_no_output_file(big_store, tmp_path):
    db = tmp_path / "store.db"
    first = _segcli(db, "customers", str(big_store / "customers.csv"))
    assert first.wait(timeout=300) == 0, first.stderr.read()
    out = tmp_path / "members.csv"
    # The first export stores the facts: the next ones spend their time writing.
    assert subprocess.run(_export(db, out), capture_output=True, timeout=300).returncode == 0
    out.unlink()

    def writing() -> bool:
        return out.exists() or any(tmp_path.glob(".members.csv*"))

    chooser = random.Random(7)
    kills = 0
    for _ in range(10):
        process = subprocess.Popen(_export(db, out), stdout=subprocess.DEVNULL)
        while process.poll() is None and not writing():
            time.sleep(0.002)
        time.sleep(chooser.uniform(0, 0.05))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=300)
        if process.returncode == 0:
            out.unlink()
            continue  # finished before the kill
        assert not out.exists(), "a killed export left its output file"
    assert kills >= 3, "exports finished before they could be killed; use a larger store"

    done = subprocess.run(_export(db, out), capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(db) as conn:
        people = conn.execute("SELECT count(*) FROM people").fetchone()[0]
    with out.open(encoding="utf-8", newline="") as handle:
        assert sum(1 for _ in csv.reader(handle)) == people + 1
