"""Shared test helpers: a CLI runner bound to a fresh database, and file writers."""

from __future__ import annotations

import itertools
import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

from segcli.cli import cli

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
# For tests on the real files: a checkout without them beside it skips those tests.
needs_real_data = pytest.mark.skipif(not REAL_DATA.exists(), reason="shared/data/real is not here")
# Online Retail's columns as native ones: its invoice lines are orders in the line-item form.
RETAIL_MAPPING = {
    "invoiceno": "order_id",
    "customerid": "customer_id",
    "invoicedate": "created_at",
    "stockcode": "sku",
    "description": "title",
    "quantity": "quantity",
    "unitprice": "price",
    "country": "country",
}

# Hypothesis runs: the default one (shared machines are noisy, so no deadline), and a long
# one for fuzzing, chosen with `pytest --hypothesis-profile=long`.
settings.register_profile("default", deadline=None)
settings.register_profile("long", deadline=None, max_examples=1_000)


ENGINES = ("duckdb", "sqlite")


def _parametrized_by_the_test(metafunc: pytest.Metafunc) -> set[str]:
    """The names the test's own ``parametrize`` marks give values to."""
    names: set[str] = set()
    for mark in metafunc.definition.iter_markers("parametrize"):
        argnames = mark.args[0] if mark.args else mark.kwargs["argnames"]
        if isinstance(argnames, str):
            argnames = [name.strip() for name in argnames.split(",")]
        names.update(argnames)
    return names


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each ``both_engines`` test once per engine, and each ``only_engine(name)`` test
    on that engine; ``no_engine`` (a test that evaluates nothing) and unmarked tests run
    once, on the default engine."""
    definition = metafunc.definition
    only = definition.get_closest_marker("only_engine")
    if only is not None:
        engines: tuple[str, ...] = only.args
    elif definition.get_closest_marker("both_engines") is not None:
        engines = ENGINES
    else:
        return
    if definition.get_closest_marker("no_engine") is not None:
        return
    # A test that lists its own engines (paired with what each engine does) keeps them.
    if "engine" in _parametrized_by_the_test(metafunc):
        return
    assert set(engines) <= set(ENGINES), engines
    # Module scope: a module's tests run on one engine, then on the other, so that a
    # module's shared store and answers are built once per engine, not once per test.
    metafunc.parametrize("engine", engines, indirect=True, ids=str, scope="module")


@pytest.fixture(scope="module", autouse=True)
def engine(request: pytest.FixtureRequest):
    """The engine that evaluates segments (SEGCLI_ENGINE), for the tests
    ``pytest_generate_tests`` gives one; None leaves the environment as it is."""
    chosen = getattr(request, "param", None)
    if chosen is None:
        yield None
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEGCLI_ENGINE", chosen)
        yield chosen


def fuzz_examples(count: int) -> int:
    """``count`` cases in the default run; ten times as many in the long one."""
    return count * max(1, settings.default.max_examples // 100)


class Segcli:
    """Runs segcli commands against one database in a temporary directory."""

    def __init__(self, tmp_path: Path):
        self.dir = tmp_path
        self.db = tmp_path / "store.db"
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None):
        return self.runner.invoke(cli, ["--db", str(self.db), *map(str, args)], input=input)

    def write(self, name: str, text: str, *, encoding: str = "utf-8") -> Path:
        """Write a file the test owns (text exactly as given: no newline translation)."""
        path = self.dir / name
        path.write_bytes(text.encode(encoding))
        return path

    def imported(self, files: dict[str, str]) -> Segcli:
        """Import native files given as {kind: text}, in that order; each must import."""
        for kind, text in files.items():
            result = self("import", kind, self.write(f"{kind}.csv", text))
            assert result.exit_code == 0, result.stderr
        return self

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute(sql, params).fetchall()

    def value(self, sql: str, params: tuple = ()):
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None

    def dump(self) -> dict[str, list[tuple]]:
        """Every stored record (person ids left out: they depend on import order)."""
        dump = {}
        for table in (
            "customers",
            "orders",
            "items",
            "products",
            "reviews",
            "subscribers",
            "carts",
        ):
            columns = [row[1] for row in self.rows(f"PRAGMA table_info({table})")]
            kept = ", ".join(c for c in columns if c != "person_id")
            dump[table] = self.rows(f"SELECT {kept} FROM {table} ORDER BY 1, 2")
        return dump

    def people(self) -> list[tuple]:
        """People with their attributes and records, by key: independent of person ids."""
        return self.rows(
            """
            SELECT p.person_key, p.customer_id, p.email, p.first_name, p.last_name,
                p.created_at, p.first_seen_at, p.customer_accepts_marketing, p.country,
                p.tags, p.custom,
                (SELECT group_concat(order_id) FROM (SELECT order_id FROM orders o
                    WHERE o.person_id = p.person_id ORDER BY order_id)),
                (SELECT group_concat(record_key) FROM (SELECT record_key FROM subscribers s
                    WHERE s.person_id = p.person_id ORDER BY record_key)),
                (SELECT group_concat(record_key) FROM (SELECT record_key FROM carts c
                    WHERE c.person_id = p.person_id ORDER BY record_key)),
                (SELECT group_concat(record_key) FROM (SELECT record_key FROM reviews r
                    WHERE r.person_id = p.person_id ORDER BY record_key))
            FROM people p ORDER BY p.person_key
            """
        )


def table_rows(stdout: str) -> list[list[str]]:
    """The body rows of the plain tables a command wrote to a pipe, as lists of cells.

    A table's columns are the runs of ``-`` under its header; its rows are the lines after
    them up to a blank line (the caption, if any, comes after that).
    """
    rows = []
    lines = stdout.splitlines()
    for at, line in enumerate(lines):
        if not re.fullmatch(r"-+(  -+)*", line):
            continue
        spans = [match.span() for match in re.finditer(r"-+", line)]
        for row in itertools.takewhile(bool, lines[at + 1 :]):
            rows.append([row[start:end].strip() for start, end in spans])
    return rows


def checked(segcli: Segcli, *args, exit_code: int = 0):
    """Run segcli; check the exit code, that stdout is empty and that nothing crashed."""
    result = segcli(*args)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.exit_code == exit_code, result.stderr
    assert result.stdout == ""
    return result


class SegmentStore:
    """A store imported into segcli's database, with a segments directory."""

    def __init__(self, segcli: Segcli, segments: Path):
        self.segcli = segcli
        self.segments = segments

    def __call__(self, *args):
        return self.segcli("--segments", self.segments, *args)

    def segment(self, name: str, text: str) -> Path:
        path = self.segments / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        return path


def segment_store(segcli: Segcli, files: dict[str, str], segments: dict[str, str]):
    """A store of ``files`` (kind: CSV text) and a segments directory of ``segments``
    (name: YAML text), both in the test's directory."""
    for kind, text in files.items():
        result = segcli("import", kind, segcli.write(f"{kind}.csv", text))
        assert result.exit_code == 0, result.stderr
    directory = segcli.dir / "segments"
    directory.mkdir()
    store = SegmentStore(segcli, directory)
    for name, text in segments.items():
        store.segment(name, text)
    return store


@pytest.fixture
def segcli(tmp_path: Path) -> Segcli:
    return Segcli(tmp_path)
