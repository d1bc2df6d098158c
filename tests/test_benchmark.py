"""The benchmark script runs end to end at a tiny size (a smoke test: no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_benchmark_runs_every_phase_and_writes_its_figures(tmp_path):
    figures = tmp_path / "figures.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--people",
            "150",
            "--dir",
            str(tmp_path / "work"),
            "--json",
            str(figures),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    phases = json.loads(figures.read_text(encoding="utf-8"))["phases"]
    names = [phase["name"] for phase in phases]
    for kind in ("products", "customers", "orders", "items", "reviews", "subscribers", "carts"):
        assert f"import {kind}" in names
    assert "import: all kinds" in names
    assert any(name.startswith("calculate all") for name in names)
    assert any(name.startswith("export ") for name in names)
    # The printed table holds the same phases, one line each.
    for name in names:
        assert name in done.stdout
    imported = {p["name"]: p["rows"] for p in phases if p["name"].startswith("import")}
    generated = next(p for p in phases if p["name"].startswith("generate"))["rows"]
    assert imported["import: all kinds"] == generated
    assert sum(v for k, v in imported.items() if k != "import: all kinds") == generated


def test_benchmark_script_starts_and_names_its_options():
    """The quick check: the script and what it imports load, and its options are there."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    for option in ("--people", "--seed", "--dir", "--json"):
        assert option in done.stdout
