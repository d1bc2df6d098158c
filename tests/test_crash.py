"""An import killed at any moment (even with SIGKILL) leaves the database as it was."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from segcli.generator import generate_store

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


@pytest.fixture(scope="module")
def big_store(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("big")
    generate_store(directory, people=40_000, seed=11)
    return directory


def test_killed_import_leaves_the_database_as_before(big_store, tmp_path):
    db = tmp_path / "store.db"
    first = _segcli(db, "customers", str(big_store / "customers.csv"))
    assert first.wait(timeout=300) == 0, first.stderr.read()
    before = _state(db)
    assert before[0] == "ok"

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
        assert _state(db) == before
    assert kills >= 1, "every import finished before it could be killed; use a larger file"

    rerun = _segcli(db, "orders", str(big_store / "orders.csv"))
    assert rerun.wait(timeout=300) == 0, rerun.stderr.read()
    check, after = _state(db)
    assert check == "ok"
    with sqlite3.connect(db) as conn:
        orders = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
    with (big_store / "orders.csv").open(encoding="utf-8") as handle:
        assert orders == sum(1 for _ in handle) - 1
