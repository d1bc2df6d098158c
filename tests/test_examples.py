"""The example segments: valid, covering the whole language, and consistent across commands.

Every example file validates; together they use every field, operator, symbolic spelling,
shorthand, predicate, predicate key and date spelling (so a new operator or key without an
example fails here); every example and built-in has the same members through
``segment calculate``, ``segment export``, ``segment show``, ``segment sql`` and
``customer show --explain`` on the example store as of 2026-11-01, on each engine (SQLite's
printed SQL selecting what DuckDB exports too); and ``segment sql`` prints exactly the SQL
kept in tests/golden/sql (``SEGCLI_UPDATE_GOLDEN=1`` rewrites it).
"""

from __future__ import annotations

import ast as python_ast
import json
import os
import re
import sqlite3
from dataclasses import fields as dataclass_fields
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

import segcli
from segcli.cli import cli
from segcli.rules import ast, parse
from segcli.rules import fields as F
from segcli.rules.dates import UNITS, DateValue
from segcli.rules.loader import Mapping, Scalar, Sequence, load_yaml
from segcli.rules.operators import OPERATORS, SYMBOLS, compare_custom, fold
from segcli.rules.validate import walk
from segcli.segments import catalog as catalog_module
from segcli.segments.builtins import BUILTINS
from segcli.segments.catalog import load_catalog
from segcli.segments.evaluate import COUNTED_ORDERS_SQL, FACTS_SQL
from tests.conftest import table_rows

EXAMPLES = Path(segcli.__file__).parent / "examples" / "segments"
GOLDEN = Path(__file__).parent / "golden" / "sql"
AS_OF = "2026-11-01"
UPDATE_GOLDEN = os.environ.get("SEGCLI_UPDATE_GOLDEN") == "1"

CATALOG = load_catalog(EXAMPLES)
EXAMPLE_NAMES = sorted(name for name, s in CATALOG.segments.items() if not s.builtin)
ALL_NAMES = [*BUILTINS, *EXAMPLE_NAMES]
PREDICATE_NAMES = {
    ast.Purchased: "purchased",
    ast.Reviewed: "reviewed",
    ast.AbandonedCart: "abandoned_cart",
    ast.HasOrder: "has_order",
    ast.InSegment: "in_segment",
}


def _examples() -> list[ast.Segment]:
    return [CATALOG.segments[name] for name in EXAMPLE_NAMES]


def _nodes():
    for segment in _examples():
        yield from walk(segment.criteria)


def _yaml_items(value):
    """Every (key, value) pair of every mapping in a loaded YAML document."""
    if isinstance(value, Mapping):
        for key, item in value.items:
            yield key, item
            yield from _yaml_items(item)
    elif isinstance(value, Sequence):
        for item in value.items:
            yield from _yaml_items(item)


def _documents():
    for path in sorted(EXAMPLES.glob("*.yaml")):
        document = load_yaml(path.read_text(encoding="utf-8"), str(path))
        assert document.root is not None, document.problems
        yield path, document.root


# ---------------------------------------------------------------------------------
# The files


def test_the_examples_directory_has_only_valid_segment_files():
    assert CATALOG.problems == []
    assert CATALOG.broken == set()
    assert len(EXAMPLE_NAMES) == len(list(EXAMPLES.iterdir()))


def test_segment_validate_accepts_every_example():
    result = CliRunner().invoke(cli, ["--segments", str(EXAMPLES), "segment", "validate"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"{len(EXAMPLE_NAMES)} segment files checked: no problems\n"
    assert result.stdout == ""


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_each_example_validates_on_its_own(name):
    path = EXAMPLES / f"{name}.yaml"
    result = CliRunner().invoke(
        cli, ["--segments", str(EXAMPLES), "segment", "validate", str(path)]
    )
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_example_is_named_after_its_file_and_explained(path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# "), "a comment saying what a merchant uses it for comes first"
    root = load_yaml(text, str(path)).root
    keys = [key.value for key, _ in root.items]
    # Parameters, where a merchant would change something (segment new --template).
    assert keys in (
        ["name", "title", "description", "criteria"],
        ["name", "title", "description", "criteria", "parameters"],
    )
    assert root.get("name").value == path.stem
    assert re.fullmatch(r"[a-z][a-z0-9-]*", path.stem)
    segment = CATALOG.segments[path.stem]
    assert segment.title and segment.description


# ---------------------------------------------------------------------------------
# Coverage of the language


def test_the_examples_use_every_field():
    used = set()
    for node in _nodes():
        if isinstance(node, ast.Compare):
            used.add("custom.NAME" if node.field.startswith(F.CUSTOM_PREFIX) else node.field)
    assert used == {*F.FIELDS, "custom.NAME"}


def test_the_examples_use_every_operator():
    used = {node.op for node in _nodes() if isinstance(node, ast.Compare)}
    assert used == set(OPERATORS)


def test_the_examples_use_every_symbolic_spelling_of_an_operator():
    used = {
        key.text
        for _, root in _documents()
        for key, _ in _yaml_items(root)
        if isinstance(key, Scalar) and key.text in SYMBOLS
    }
    assert used == set(SYMBOLS)


def test_the_examples_use_the_date_operators_and_compare_custom_fields():
    date_ops, custom_ops = set(), set()
    for node in _nodes():
        if isinstance(node, ast.Compare):
            kind = F.lookup(node.field).type
            if kind == F.DATE:
                date_ops.add(node.op)
            elif kind == F.CUSTOM:
                custom_ops.add(node.op)
    # lt, gt and eq on dates are before, after and on (SPEC 3.6).
    assert {"before", "after", "on", "within", "between"} <= date_ops
    assert {"eq", "in", "gt"} <= custom_ops


def test_the_examples_use_every_shorthand():
    used = set()
    for _, root in _documents():
        for key, value in _yaml_items(root):
            field = F.lookup(key.text) if isinstance(key.value, str) else None
            if key.text == "criteria" and isinstance(value, Sequence):
                used.add("criteria: [list]")
            elif key.text == "not" and isinstance(value, Sequence):
                used.add("not: [list]")
            elif key.text == "times" and isinstance(value, Scalar):
                used.add("times: N")
            elif key.text in parse.PREDICATES and isinstance(value, Scalar):
                if isinstance(value.value, bool):
                    used.add(f"{key.text}: {str(value.value).lower()}")
            elif field is not None and not isinstance(value, Mapping):
                shape = "list" if isinstance(value, Sequence) else "scalar"
                used.add(f"{'tags' if field.type == F.TAGS else 'field'}: {shape}")
            if isinstance(value, Mapping) and len(value.items) > 1:
                if field is not None:
                    used.add("several operators")
                elif key.text == "criteria":
                    used.add("several keys")
    assert used >= {
        "criteria: [list]",
        "not: [list]",
        "times: N",
        "field: scalar",
        "field: list",
        "tags: scalar",
        "tags: list",
        "several operators",
        "several keys",
        "abandoned_cart: true",
        "abandoned_cart: false",
    }


def _predicate_keys(node) -> set[str]:
    keys = set()
    for field in dataclass_fields(node):
        if field.name in ("pos", "window"):
            continue
        if getattr(node, field.name):
            keys.add(field.name)
    if node.window.after is not None:
        keys.add("after")
    if node.window.before is not None:
        keys.add("before")
    return keys


def test_the_examples_use_every_predicate_and_every_predicate_key():
    used: dict[str, set[str]] = {}
    for node in _nodes():
        name = PREDICATE_NAMES.get(type(node))
        if name is not None:
            keys = set() if name == "in_segment" else _predicate_keys(node)
            used.setdefault(name, set()).update(keys)
    assert set(used) == set(parse.PREDICATES)
    for name, keys in parse._PREDICATE_KEYS.items():
        assert used[name] == set(keys), name


def test_the_examples_use_every_group():
    kinds = {type(node) for node in _nodes()}
    assert {ast.All, ast.Any, ast.Not} <= kinds
    nested = any(
        isinstance(child, ast.Any | ast.Not)
        for node in _nodes()
        if isinstance(node, ast.All)
        for child in node.items
    )
    assert nested


def _dates(node):
    if isinstance(node, ast.Compare):
        values = node.value if isinstance(node.value, tuple) else (node.value,)
        yield from (value for value in values if isinstance(value, DateValue))
    elif isinstance(node, ast.Purchased | ast.Reviewed | ast.AbandonedCart | ast.HasOrder):
        yield from (v for v in (node.window.after, node.window.before) if v is not None)


def _spelling(value: DateValue) -> str:
    if value.is_instant:
        return "date-time"
    if value.day is not None:
        return "date"
    if value.text.lower() in ("today", "yesterday"):
        return value.text.lower()
    if value.text.startswith("-"):
        return f"-N{value.ago.unit[0]}"
    return f"N {value.ago.unit} ago"


def test_the_examples_use_every_date_spelling():
    used = {_spelling(value) for node in _nodes() for value in _dates(node)}
    units = set(UNITS.values())
    expected = {"date", "date-time", "today", "yesterday"}
    expected |= {f"N {unit} ago" for unit in units} | {f"-N{unit[0]}" for unit in units}
    assert used == expected


def test_dates_are_used_both_in_conditions_on_fields_and_in_predicate_windows():
    on_fields = {_spelling(v) for n in _nodes() if isinstance(n, ast.Compare) for v in _dates(n)}
    in_windows = {
        _spelling(v) for n in _nodes() if not isinstance(n, ast.Compare) for v in _dates(n)
    }
    assert "date-time" in on_fields and "date-time" in in_windows
    assert "date" in on_fields


# ---------------------------------------------------------------------------------
# The same members through every command, on the example store


class Store:
    """The example store imported into a temporary database, and a runner over it."""

    def __init__(self, directory: Path):
        self.db = directory / "example.db"
        self.runner = CliRunner()
        self._sql: dict[str, str] = {}
        result = self("demo")
        assert result.exit_code == 0, result.stderr

    def __call__(self, *args):
        return self.runner.invoke(
            cli, ["--db", str(self.db), "--segments", str(EXAMPLES), *map(str, args)]
        )

    def json(self, *args):
        result = self(*args)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    def sql(self, name: str) -> str:
        """What ``segment sql NAME`` prints (asked once per segment)."""
        if name not in self._sql:
            result = self("segment", "sql", name, "--as-of", AS_OF)
            assert result.exit_code == 0, result.stderr
            self._sql[name] = result.stdout
        return self._sql[name]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    # Every command parses every example file again; these tests run some 400 commands,
    # so each file's text is parsed once (the catalog itself is still built each time).
    read = catalog_module._read
    parsed: dict[tuple[Path, bytes], tuple] = {}

    def read_once(path: Path):
        key = (path.resolve(), path.read_bytes())
        if key not in parsed:
            parsed[key] = read(path)
        return parsed[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(catalog_module, "_read", read_once)
        yield Store(tmp_path_factory.mktemp("examples"))


@pytest.fixture(scope="module")
def counts(store, engine) -> dict[str, int]:
    """Each segment's count, by the engine of the tests that ask (once per engine)."""
    rows = store.json("segment", "calculate", "--as-of", AS_OF, "--format", "json")
    return {row["segment"]: row["count"] for row in rows}


@pytest.fixture(scope="module")
def everyone(store, engine) -> list[str]:
    """Everyone's person_key, as the engine of the tests that ask exports them."""
    return _exported(store, "everyone")


def _exported(store: Store, name: str) -> list[str]:
    result = store(
        "segment", "export", name, "--as-of", AS_OF, "--format", "jsonl", "--fields", "person_key"
    )
    assert result.exit_code == 0, result.stderr
    return [json.loads(line)["person_key"] for line in result.stdout.splitlines()]


def _lookup_key(person_key: str) -> str:
    """The customer id or email that ``customer show`` takes, from an exported person_key.

    The export writes the stored form, ``c:CUSTOMER_ID`` or ``e:EMAIL`` (see
    test_an_exported_person_key_finds_the_person).
    """
    return re.sub(r"^[ce]:", "", person_key)


def _sample(keys: list[str], size: int = 3) -> list[str]:
    """The first, the middle and the last of the sorted keys (all of them when few)."""
    keys = sorted(keys)
    if len(keys) <= size:
        return keys
    return sorted({keys[0], keys[len(keys) // 2], keys[-1]})


@pytest.mark.both_engines
def test_calculate_counts_every_segment(counts):
    assert set(counts) == set(ALL_NAMES)
    assert counts["everyone"] == 300


@pytest.mark.both_engines
@pytest.mark.slow
@pytest.mark.parametrize("name", ALL_NAMES)
def test_every_command_gives_the_same_members(store, counts, everyone, name):
    members = _exported(store, name)
    assert len(members) == len(set(members)) == counts[name]

    shown = store("segment", "show", name, "--as-of", AS_OF, "--limit", "1000")
    assert shown.exit_code == 0, shown.stderr
    title = re.fullmatch(
        rf"{re.escape(name)}: ([\d,]+) members? as of {AS_OF}", shown.stdout.splitlines()[0]
    )
    assert title, shown.stdout
    assert int(title[1].replace(",", "")) == counts[name]
    assert len(table_rows(shown.stdout)) == counts[name]

    outsiders = sorted(set(everyone) - set(members))
    for key, expected in [(k, True) for k in _sample(members)] + [
        (k, False) for k in _sample(outsiders)
    ]:
        person = store.json(
            "customer",
            "show",
            _lookup_key(key),
            "--as-of",
            AS_OF,
            "--explain",
            name,
            "--format",
            "json",
        )
        assert person["explain"]["member"] is expected, (key, person["explain"])
        assert (name in person["segments"]) is expected, key


def _sql_and_params(output: str) -> tuple[str, dict[str, object]]:
    text, parameters = output.split("-- parameters:\n")
    sql = "\n".join(line for line in text.splitlines() if not line.startswith("-- "))
    params = {}
    for line in parameters.splitlines():
        match = re.fullmatch(r"--   :(\w+) = (.*)", line)
        assert match, line
        params[match[1]] = python_ast.literal_eval(match[2])
    return sql.rstrip().rstrip(";"), params


@pytest.mark.both_engines
@pytest.mark.parametrize("name", ALL_NAMES)
def test_the_printed_sql_selects_the_members(store, name):
    sql, params = _sql_and_params(store.sql(name))
    with sqlite3.connect(store.db) as conn:
        conn.create_function("segcli_fold", 1, fold, deterministic=True)
        conn.create_function("segcli_compare", 2, compare_custom, deterministic=True)
        person_ids = [row[0] for row in conn.execute(sql, params)]
        keys = [
            conn.execute("SELECT person_key FROM people WHERE person_id = ?", (pid,)).fetchone()[0]
            for pid in person_ids
        ]
    assert len(keys) == len(set(keys))
    assert set(keys) == set(_exported(store, name))


# ---------------------------------------------------------------------------------
# Golden SQL


def _values(segment: ast.Segment):
    """Every text, number and date written in a segment's criteria."""
    for node in walk(segment.criteria):
        if isinstance(node, ast.Compare):
            values = node.value if isinstance(node.value, tuple) else (node.value,)
        elif isinstance(node, ast.Purchased):
            values = (*node.product, *node.collection, *node.product_type, *node.vendor)
            values += tuple(c.value for c in node.times)
        elif isinstance(node, ast.Reviewed):
            values = (*node.product, *(c.value for c in node.rating))
        elif isinstance(node, ast.HasOrder):
            values = (*node.status, *(c.value for c in node.total))
        else:
            values = ()
        for value in values:
            yield from value if isinstance(value, tuple) else (value,)
        for value in _dates(node):
            yield value


# The per-person facts query every segment shares is kept out of the golden files (it is
# segcli/segments/evaluate.py's own text): each file holds the segment's own SQL.
SHARED_SQL = {
    COUNTED_ORDERS_SQL.strip(): "<COUNTED_ORDERS_SQL>",
    FACTS_SQL.strip(): "<FACTS_SQL>",
}


def _own_sql(output: str) -> str:
    for shared, marker in SHARED_SQL.items():
        assert shared in output
        output = output.replace(shared, marker)
    return output


@pytest.mark.only_engine("sqlite")
@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_segment_sql_is_the_golden_sql(store, name):
    output = _own_sql(store.sql(name))
    golden = GOLDEN / f"{name}.sql"
    if UPDATE_GOLDEN:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(output, encoding="utf-8")
    assert golden.exists(), f"no {golden}: run with SEGCLI_UPDATE_GOLDEN=1"
    assert output == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_value_reaches_sql_only_as_a_parameter(name):
    text = (GOLDEN / f"{name}.sql").read_text(encoding="utf-8")
    sql, params = _sql_and_params(text)
    placeholders = set(re.findall(r":(\w+)", sql))
    # Every placeholder is bound, and every value of the segment's own is used.
    assert placeholders <= set(params)
    assert {name for name in params if re.fullmatch(r"p\d+", name)} <= placeholders
    # Golden files hold the segment's own SQL, the shared facts query marked only.
    for marker in SHARED_SQL.values():
        assert marker in sql
    assert "'" not in sql and '"' not in sql
    for value in _values(CATALOG.segments[name]):
        if isinstance(value, str) and len(value) > 2:
            assert value.casefold() not in sql.casefold(), value
        elif isinstance(value, DateValue):
            assert value.text not in sql
        elif isinstance(value, Decimal | int) and not isinstance(value, bool) and value > 3:
            assert not re.search(rf"\b{value}\b", sql), value


def test_no_golden_file_without_an_example():
    assert sorted(path.stem for path in GOLDEN.glob("*.sql")) == EXAMPLE_NAMES


# ---------------------------------------------------------------------------------
# The reference in docs/segments.md

DOC = (Path(__file__).resolve().parents[1] / "docs" / "segments.md").read_text(encoding="utf-8")
DOC_BLOCKS = re.findall(r"```yaml\n(.*?)```", DOC, re.S)


@pytest.mark.parametrize("block", DOC_BLOCKS, ids=[f"block{i}" for i in range(len(DOC_BLOCKS))])
def test_every_yaml_example_of_the_reference_is_valid(block):
    if re.search(r"^criteria:", block, re.M):
        segment, problems = parse.parse_segment_text(block, "docs/segments.md", "doc-example")
    else:
        segment, problems = parse.parse_criteria_text(block, "docs/segments.md")
    assert segment is not None and problems == [], problems


def test_the_reference_names_every_field_operator_predicate_and_key():
    words = {
        *F.FIELDS,
        "custom.NAME",
        *OPERATORS,
        *SYMBOLS,
        *parse.PREDICATES,
        *(key for keys in parse._PREDICATE_KEYS.values() for key in keys),
        *parse.LIFECYCLE_STAGES,
        *BUILTINS,
    }
    missing = sorted(word for word in words if f"`{word}`" not in DOC and f"`{word}:" not in DOC)
    assert missing == []


# ---------------------------------------------------------------------------------
# Bugs found while writing the examples


@pytest.mark.both_engines
def test_average_order_value_is_set_holds_for_people_with_orders(store, counts):
    # It once compiled to f.average_order_value, a column the facts table does not have.
    rows = store.json(
        "segment", "calculate", "--as-of", AS_OF, "--format", "json",
        "--criteria", "average_order_value: {is_set: true}",
    )  # fmt: skip
    assert rows[0]["count"] == counts["all-customers"]


@pytest.mark.both_engines
def test_the_shorthand_on_a_date_field_means_on(store):
    # It once passed validation and then failed with KeyError 'eq' when evaluated.
    def count(criteria: str) -> int:
        rows = store.json(
            "segment", "calculate", "--as-of", AS_OF, "--format", "json", "--criteria", criteria
        )
        return rows[0]["count"]

    assert count("created_at: 2026-10-24") == count("created_at: {on: 2026-10-24}") == 1


@pytest.mark.both_engines
def test_an_exported_person_key_finds_the_person(store):
    """person_key (c:CUSTOMER_ID or e:EMAIL) is what customer show takes back."""
    keys = _exported(store, "everyone")
    assert "c:C000001" in keys
    for key in _sample(keys):
        result = store("customer", "show", key, "--as-of", AS_OF, "--format", "json")
        assert result.exit_code == 0, result.stderr


@pytest.mark.both_engines
def test_a_review_is_found_by_the_products_sku(store):
    """The example store's reviews carry only product ids; products.csv links the SKU."""

    def count(criteria: str) -> int:
        rows = store.json(
            "segment", "calculate", "--as-of", AS_OF, "--format", "json", "--criteria", criteria
        )
        return rows[0]["count"]

    by_id = count("reviewed: {product: P00001}")
    assert by_id > 0
    assert count("reviewed: {product: HOM-00001}") == by_id


@pytest.mark.only_engine("sqlite")
@pytest.mark.parametrize(
    ("criteria", "indexes"),
    # Since schema 11 the store keeps only the indexes importing and customer show use
    # (DuckDB evaluates): the SQLite engine reads line items, reviews and orders whole to
    # find them by product, collection, vendor or date, and searches people's records.
    [
        ("reviewed: {rating: {gte: 4}}", ["reviews_person_date"]),
        ("abandoned_cart: {after: 2026-01-01}", ["carts_person_date"]),
    ],
)
def test_segment_sql_plan_shows_the_indexes_a_query_uses(store, criteria, indexes):
    result = store("segment", "sql", "--criteria", criteria, "--plan", "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    plan = result.stdout
    assert plan.startswith("-- query plan of segment criteria, as of 2026-11-01\n")
    for index in indexes:
        assert f"INDEX {index}" in plan, plan
    # Line items, orders and reviews are searched by index, never read whole.
    for alias in ("i", "o", "r"):
        assert f"SCAN {alias}\n" not in plan + "\n", plan
