"""segment templates, segment new and calculate --criteria --save, through the CLI.

The templates are the example segment files. These tests read those files themselves
(segcli's YAML loader, for the text and line of every value) to know what the commands
should list and write, and count members on the example store as of 2026-11-01, imported
once per module as tests/test_examples.py does. A few tests use templates of their own
(``own_templates``) so that every kind of parameter is covered whatever the examples hold.
"""

from __future__ import annotations

import difflib
import json
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from segcli.cli import cli
from segcli.examples.demo import example_segments_dir
from segcli.rules.loader import Mapping, Scalar, Sequence, load_yaml
from segcli.rules.parse import LIFECYCLE_STAGES
from segcli.segments import templates as templates_module
from segcli.segments.builtins import BUILTINS
from tests.conftest import Segcli, SegmentStore, checked, fuzz_examples, table_rows

EXAMPLES = example_segments_dir()
AS_OF = "2026-11-01"
# The model of a template with parameters (docs and the brief point at it).
MODEL = "big-spender-lapsed"
NUMERIC_KINDS = ("money", "count", "days")


# ---------------------------------------------------------------------------------
# Reading a template file as the tests see it


@dataclass(frozen=True)
class Declared:
    """A parameter as declared in a template's ``parameters:`` block."""

    template: str
    name: str
    kind: str
    description: str
    paths: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.template}:{self.name}"


@dataclass(frozen=True)
class Template:
    name: str
    text: str
    root: Mapping
    parameters: tuple[Declared, ...]


def _template(text: str, source: str) -> Template:
    root = load_yaml(text, source).root
    assert isinstance(root, Mapping), source
    name = root.get("name").value
    block = root.get("parameters")
    parameters = []
    for key, spec in block.items if isinstance(block, Mapping) else ():
        at = spec.get("at")
        paths = at.items if isinstance(at, Sequence) else (at,)
        description = spec.get("description")
        parameters.append(
            Declared(
                name,
                key.value,
                spec.get("kind").value,
                description.value if description is not None else "",
                tuple(path.value for path in paths),
            )
        )
    return Template(name, text, root, tuple(parameters))


def _examples() -> dict[str, Template]:
    """Every example file, read now (someone may be editing them)."""
    templates = [
        _template(path.read_text(encoding="utf-8"), str(path))
        for path in sorted(EXAMPLES.glob("*.yaml"))
    ]
    return {template.name: template for template in templates}


def _at(root, path: str):
    """The value at a dotted path of mapping keys and list positions (from 0), or None.

    A key may hold dots itself (``custom.birthday_month``): at a mapping, the key is the
    longest run of the remaining steps that the mapping has.
    """
    node, steps = root, path.split(".")
    while steps:
        if isinstance(node, Mapping):
            keys = {key.text: value for key, value in node.items}
            runs = [".".join(steps[:n]) for n in range(len(steps), 0, -1)]
            key = next((run for run in runs if run in keys), None)
            if key is None:
                return None
            node, steps = keys[key], steps[key.count(".") + 1 :]
        elif isinstance(node, Sequence) and steps[0].isdigit() and int(steps[0]) < len(node.items):
            node, steps = node.items[int(steps[0])], steps[1:]
        else:
            return None
    return node


def _shown(kind: str, node) -> str:
    """A value of a file as a parameter's default: as it is given to --set."""
    if kind == "texts":
        items = node.items if isinstance(node, Sequence) else (node,)
        return ",".join(item.text for item in items)
    if kind == "days":
        return re.fullmatch(r"([0-9]+) days? ago", node.text)[1]
    return node.text


def _default(template: Template, parameter: Declared) -> str:
    return _shown(parameter.kind, _at(template.root, parameter.paths[0]))


def _holds(kind: str, node, given: str) -> bool:
    """Whether ``node`` holds the value ``given`` to --set for a ``kind`` parameter."""
    if kind in ("money", "count"):
        return isinstance(node, Scalar) and not node.quoted and node.value == Decimal(given)
    if kind == "days":
        match = isinstance(node, Scalar) and re.fullmatch(r"([0-9]+) days? ago", str(node.value))
        return bool(match) and int(match[1]) == int(given)
    if kind == "text":
        return isinstance(node, Scalar) and node.value == given.strip()
    return isinstance(node, Sequence) and [item.value for item in node.items] == [
        part.strip() for part in given.split(",")
    ]


def _leaves(node, path: str = "") -> dict[str, tuple]:
    """Every scalar of a loaded document by its dotted path: its value and its quoting."""
    if isinstance(node, Mapping):
        leaves = {}
        for key, value in node.items:
            leaves |= _leaves(value, f"{path}.{key.text}" if path else key.text)
        return leaves
    if isinstance(node, Sequence):
        leaves = {}
        for index, item in enumerate(node.items):
            leaves |= _leaves(item, f"{path}.{index}")
        return leaves
    return {path: (type(node.value).__name__, node.value, node.quoted)}


def _others(leaves: dict[str, tuple], changed: set[str]) -> dict[str, tuple]:
    """The leaves outside the paths in ``changed`` (and what lies under them)."""
    return {
        path: leaf
        for path, leaf in leaves.items()
        if not any(path == c or path.startswith(f"{c}.") for c in changed)
    }


def _one_line_description(text: str) -> tuple[list[str], int, int]:
    """``text``'s lines with a block-scalar description (``description: >-`` and its
    indented lines) on one line, as new --set writes it; the description's line number and
    how many lines it lost."""
    lines = text.splitlines()
    for at, line in enumerate(lines):
        if re.fullmatch(r"description: *[>|][-+]?", line):
            end = at + 1
            while end < len(lines) and lines[end].startswith(" "):
                end += 1
            return [*lines[:at], "description: (block)", *lines[end:]], at + 1, end - at - 1
    return lines, 0, 0


def _changed_lines(before: str, after: str) -> set[int]:
    """The lines of ``before`` (numbered from 1) whose text ``after`` changed; a block
    description counts as its first line, a block list as the lines it took."""
    old, at, lost = _one_line_description(before)
    new, _, _ = _one_line_description(after)
    if len(old) == len(new):
        changed = {n for n, (a, b) in enumerate(zip(old, new, strict=True), 1) if a != b}
    else:
        changed = set()
        matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
        for tag, start, end, _, _ in matcher.get_opcodes():
            if tag != "equal":
                changed.update(range(start + 1, max(end, start + 1) + 1))
    return {n + lost if at and n > at else n for n in changed}


def _criteria_text(text: str) -> str:
    """The criteria of a segment file's text, as --criteria takes them."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("criteria:"))
    inline = lines[start].removeprefix("criteria:").strip()
    if inline and not inline.startswith("#"):
        return inline
    body = []
    for line in lines[start + 1 :]:
        if line.strip() and not line[0].isspace() and not line.startswith("#"):
            break  # the next top-level key
        body.append(line)
    return "\n".join(body)


EXAMPLE_TEMPLATES = _examples()
TEMPLATE_NAMES = sorted(EXAMPLE_TEMPLATES)
PARAMETERS = [p for t in EXAMPLE_TEMPLATES.values() for p in t.parameters]
WITH_PARAMETERS = sorted(name for name, t in EXAMPLE_TEMPLATES.items() if t.parameters)
NUMERIC = [p for p in PARAMETERS if p.kind in NUMERIC_KINDS]

SEGMENT_NAMES = {*EXAMPLE_TEMPLATES, *BUILTINS}


def _another_text(text: str) -> str:
    """A valid text in place of ``text`` that differs from it."""
    if text.lower() in LIFECYCLE_STAGES:
        return next(stage for stage in LIFECYCLE_STAGES if stage != text.lower())
    if text in SEGMENT_NAMES:  # an in_segment: a segment that exists everywhere
        return "everyone" if text != "everyone" else "all-customers"
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        return "2024-02-29" if text != "2024-02-29" else "2024-03-01"
    return f"{text} 2"


def _another(kind: str, default: str) -> str:
    """A valid value of ``kind``, as given to --set, that differs from ``default``."""
    if kind == "money":
        return str(Decimal(default) + Decimal("0.25"))
    if kind in ("count", "days"):
        return str(int(default) + 1)
    if kind == "text":
        return _another_text(default)
    return ",".join(_another_text(part) for part in default.split(","))


# ---------------------------------------------------------------------------------
# Templates of the tests' own: every kind, and shapes the examples may not have

EVERY_KIND = """\
# Every kind of parameter, for the tests.
name: every-kind
title: Every kind
description: One parameter of each kind.
criteria:
  all:
    - total_spent: {gte: 100}   # at least this much
    - any:
        - orders_count: {gte: 2}
        - last_order_at: {after: 90 days ago}
    - country: {ne: "NO"}
    - tags: {not_contains: staff}
    - not:
        purchased: {collection: [Gifts for Her, Gifts for Him], times: {gte: 2}}
parameters:
  spend:
    at: criteria.all.0.total_spent.gte
    kind: money
    description: spent at least this
  orders:
    at: [criteria.all.1.any.0.orders_count.gte, criteria.all.4.not.purchased.times.gte]
    kind: count
    description: at least this many orders, and not that many from the gift collections
  days:
    at: criteria.all.1.any.1.last_order_at.after
    kind: days
    description: or an order in this many days
  country:
    at: criteria.all.2.country.ne
    kind: text
    description: not in this country
  tag:
    at: criteria.all.3.tags.not_contains
    kind: text
    description: not tagged with this
  collections:
    at: criteria.all.4.not.purchased.collection
    kind: texts
    description: the gift collections
"""
NO_PARAMETERS = """\
# No parameters at all.
name: no-parameters
title: No parameters
description: Customers with an order.
criteria:
  orders_count: {gte: 1}
"""
BLOCK_LIST = """\
# A texts parameter written as a block list.
name: block-list
title: Block list
description: Bought from one of the collections.
criteria:
  all:
    - purchased:
        collection:
          - Kitchen
          - Outdoor
    - orders_count: {gte: 1}
parameters:
  collections:
    at: criteria.all.0.purchased.collection
    kind: texts
    description: bought from any of these
"""
FOLDED_DESCRIPTION = """\
# A description folded over two lines.
name: folded-description
title: Folded description
description: >-
  Spent at least 100,
  as a folded block.
criteria:
  total_spent: {gte: 100}
parameters:
  spend:
    at: criteria.total_spent.gte
    kind: money
    description: spent at least this
"""
LIFECYCLE_STAGE = """\
# A text parameter whose value the segment language checks.
name: lifecycle-stage
title: In a lifecycle stage
description: People in one lifecycle stage.
criteria:
  lifecycle: at-risk-repeat
parameters:
  stage:
    at: criteria.lifecycle
    kind: text
    description: the lifecycle stage
"""
OWN_TEMPLATES = {
    "every-kind": EVERY_KIND,
    "no-parameters": NO_PARAMETERS,
    "block-list": BLOCK_LIST,
    "folded-description": FOLDED_DESCRIPTION,
    "lifecycle-stage": LIFECYCLE_STAGE,
}
OWN = {name: _template(text, f"{name}.yaml") for name, text in OWN_TEMPLATES.items()}


def _install(directory: Path, patch: pytest.MonkeyPatch) -> Path:
    directory.mkdir()
    for name, text in OWN_TEMPLATES.items():
        (directory / f"{name}.yaml").write_text(text, encoding="utf-8")
    patch.setattr(templates_module, "example_segments_dir", lambda: directory)
    return directory


@pytest.fixture
def own_templates(tmp_path, monkeypatch) -> Path:
    """segcli's templates are the tests' own for this test."""
    return _install(tmp_path / "templates", monkeypatch)


# ---------------------------------------------------------------------------------
# Stores and segments directories


@pytest.fixture(scope="module")
def store_db(tmp_path_factory) -> Path:
    """The example store, imported once for the module."""
    db = tmp_path_factory.mktemp("store") / "example.db"
    result = CliRunner().invoke(cli, ["--db", str(db), "--segments", str(EXAMPLES), "demo"])
    assert result.exit_code == 0, result.stderr
    return db


def _on_store(directory: Path, db: Path, *, examples: bool = True) -> SegmentStore:
    """A runner over ``db`` with the segments directory ``directory/segments``: a copy of
    the examples (so that in_segment finds them), or none yet."""
    segcli = Segcli(directory)
    segcli.db = db
    segments = directory / "segments"
    if examples:
        shutil.copytree(EXAMPLES, segments)
    return SegmentStore(segcli, segments)


@pytest.fixture
def example(tmp_path, store_db) -> SegmentStore:
    """The example store, and a segments directory holding a copy of the examples."""
    return _on_store(tmp_path, store_db)


@pytest.fixture
def shop(tmp_path, store_db) -> SegmentStore:
    """The example store, and a segments directory that does not exist yet."""
    return _on_store(tmp_path, store_db, examples=False)


@pytest.fixture
def merchant(tmp_path) -> SegmentStore:
    """A merchant who has imported nothing yet: no database, no segments directory."""
    return SegmentStore(Segcli(tmp_path), tmp_path / "segments")


def _json(run, *args):
    result = run(*args)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _counts(run, *args: str, as_of: str = AS_OF) -> dict[str, int]:
    rows = _json(run, "segment", "calculate", *args, "--as-of", as_of, "--format", "json")
    return {row["segment"]: row["count"] for row in rows}


def _count(run, *args: str, as_of: str = AS_OF) -> int:
    [count] = _counts(run, *args, as_of=as_of).values()
    return count


def _files(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` and its bytes (to see that nothing was written)."""
    if not directory.exists():
        return {}
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def _load(path: Path):
    return load_yaml(path.read_text(encoding="utf-8"), str(path)).root


def _new(shop: SegmentStore, name: str, template: Template, values: dict[str, str], *extra):
    settings = [arg for key, value in values.items() for arg in ("--set", f"{key}={value}")]
    return shop("segment", "new", name, "--template", template.name, *settings, *extra)


def _check_written(template: Template, name: str, values: dict[str, str], text: str) -> None:
    """``text`` is ``template``'s own, with ``values`` where its parameters say, the name
    ``name``, a description that says the values, and nothing else changed."""
    root = load_yaml(text, f"{name}.yaml").root
    changed = {"name"}
    for parameter in template.parameters:
        if parameter.name in values:
            for at in parameter.paths:
                assert _holds(parameter.kind, _at(root, at), values[parameter.name]), (at, text)
                changed.add(at)
    assert root.get("name").value == name
    if values:
        # The template's description spoke of its own values: it now says the chosen ones.
        changed.add("description")
        description = root.get("description").value
        assert template.name in description
        for key, value in values.items():
            assert f"{key}={value.strip()}" in description, description
    # Every other value, and every other line (comments included), as in the template.
    assert _others(_leaves(root), changed) == _others(_leaves(template.root), changed)
    lines = set()
    for at in changed:
        node = _at(template.root, at)
        # A block list gives way to a flow list: every line it took changes.
        last = node.pos.line
        if isinstance(node, Sequence):
            last = node.end.line
            if not template.text.splitlines()[last - 1][: node.end.column - 1].strip():
                last -= 1  # it ends where the next line's token starts
        lines.update(range(node.pos.line, max(last, node.pos.line) + 1))
    assert _changed_lines(template.text, text) == lines


def _made_with(
    shop: SegmentStore, template: Template, values: dict[str, str], *, force: bool = False
) -> str:
    """Run segment new from ``template`` with ``values``; check the file; return its text."""
    result = _new(shop, "tuned", template, values, *(["--force"] if force else []))
    assert "Traceback" not in result.stderr, result.stderr
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    text = (shop.segments / "tuned.yaml").read_text(encoding="utf-8")
    _check_written(template, "tuned", values, text)
    return text


def _same_members_as_its_criteria(shop: SegmentStore, name: str, text: str) -> None:
    assert _count(shop, name) == _count(shop, "--criteria", _criteria_text(text))


# ---------------------------------------------------------------------------------
# 1. segment templates


def test_templates_json_lists_every_example_with_its_parameters_and_defaults():
    result = CliRunner().invoke(cli, ["segment", "templates", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    listed = json.loads(result.stdout)
    examples = _examples()

    def text(template: Template, key: str) -> str:
        return template.root.get(key).text.strip()

    expected = [
        {
            "template": name,
            "title": text(template, "title"),
            "description": text(template, "description"),
            "parameters": [
                {
                    "name": parameter.name,
                    "kind": parameter.kind,
                    "default": _default(template, parameter),
                    "description": parameter.description,
                }
                for parameter in template.parameters
            ],
        }
        for name, template in sorted(examples.items())
    ]
    assert listed == expected
    # Exactly these keys, in this order, at both levels.
    for row in listed:
        assert list(row) == ["template", "title", "description", "parameters"]
        for parameter in row["parameters"]:
            assert list(parameter) == ["name", "kind", "default", "description"]
    assert sorted(path.stem for path in EXAMPLES.glob("*.yaml")) == [r["template"] for r in listed]


def test_the_model_template_lists_the_values_its_file_holds():
    listed = {
        row["template"]: row
        for row in json.loads(
            CliRunner().invoke(cli, ["segment", "templates", "--format", "json"]).stdout
        )
    }
    model = _examples()[MODEL]
    assert model.parameters, "the model template declares parameters"
    assert {p["name"]: (p["kind"], p["default"]) for p in listed[MODEL]["parameters"]} == {
        p.name: (p.kind, _shown(p.kind, _at(model.root, p.paths[0]))) for p in model.parameters
    }


def test_templates_lists_the_templates_own_parameters(own_templates):
    listed = _json(CliRunner().invoke, cli, ["segment", "templates", "--format", "json"])
    assert [row["template"] for row in listed] == sorted(OWN)
    [every_kind] = [row for row in listed if row["template"] == "every-kind"]
    assert every_kind["parameters"] == [
        {"name": "spend", "kind": "money", "default": "100", "description": "spent at least this"},
        {
            "name": "orders",
            "kind": "count",
            "default": "2",
            "description": "at least this many orders, and not that many from the gift collections",
        },
        {
            "name": "days",
            "kind": "days",
            "default": "90",
            "description": "or an order in this many days",
        },
        {"name": "country", "kind": "text", "default": "NO", "description": "not in this country"},
        {"name": "tag", "kind": "text", "default": "staff", "description": "not tagged with this"},
        {
            "name": "collections",
            "kind": "texts",
            "default": "Gifts for Her,Gifts for Him",
            "description": "the gift collections",
        },
    ]


def test_templates_table_goes_to_stdout_with_a_row_per_template():
    result = CliRunner().invoke(cli, ["segment", "templates"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (
        "make one: segcli segment new NAME --template TEMPLATE --set PARAMETER=VALUE\n"
    )
    header = re.split(r"  +", result.stdout.splitlines()[0])
    assert header == ["template", "title", "description", "parameters (default)"]
    rows = table_rows(result.stdout)
    # Off a terminal every template is one line, its name and parameters whole.
    assert [cells[0] for cells in rows] == TEMPLATE_NAMES
    assert len(result.stdout.splitlines()) == 2 + len(TEMPLATE_NAMES)
    loaded = templates_module.load_templates()
    for cells, name in zip(rows, TEMPLATE_NAMES, strict=True):
        template = loaded[name]
        assert cells[1:3] == [template.title, template.description]
        parameters = [f"{p.name}={p.default} ({p.description})" for p in template.parameters]
        assert cells[3] == ("; ".join(parameters) or "-")


def test_templates_table_shows_every_name_and_default_whole_on_a_terminal():
    terminal = {"TTY_COMPATIBLE": "1", "NO_COLOR": "1", "COLUMNS": "80", "FORCE_COLOR": None}
    result = CliRunner().invoke(cli, ["segment", "templates"], env=terminal)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("┏")  # drawn by Rich
    assert "…" not in result.stdout
    for name in TEMPLATE_NAMES:
        assert re.search(rf"│ {re.escape(name)}\s", result.stdout), name
    for parameter in PARAMETERS:
        assert f"{parameter.name}=" in result.stdout


# ---------------------------------------------------------------------------------
# 2. Every template made with its defaults


@pytest.fixture(scope="module")
def made_from_defaults(tmp_path_factory, store_db, engine):
    """``segment new made-T --template T`` for every template T in one segments directory,
    then one validate and one calculate of them all (one command each: the module is fast);
    made once per engine (``engine``), which the commands evaluate with."""
    shop = _on_store(tmp_path_factory.mktemp("defaults"), store_db)
    examples = _examples()
    made = {name: _new(shop, f"made-{name}", examples[name], {}) for name in examples}
    validate = shop("segment", "validate")
    names = [f"made-{name}" for name, result in made.items() if result.exit_code == 0]
    counts = _counts(shop, *names, *examples) if names else {}
    return shop, examples, made, validate, counts


@pytest.mark.both_engines
@pytest.mark.slow
@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_a_template_made_with_its_defaults_has_the_templates_members(made_from_defaults, template):
    shop, examples, made, validate, counts = made_from_defaults
    result = made[template]
    assert "Traceback" not in result.stderr, result.stderr
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    path = shop.segments / f"made-{template}.yaml"
    assert f"wrote {path}" in result.stderr
    assert re.search(rf"made-{template}: [\d,]+ members? as of ", result.stderr)
    # The template's own text, comments and layout kept: only the name differs.
    _check_written(examples[template], f"made-{template}", {}, path.read_text(encoding="utf-8"))
    # No problem names the file (a warning of a name the store lacks may: its template's).
    assert not any(line.startswith(str(path)) for line in validate.stderr.splitlines())
    assert counts[f"made-{template}"] == counts[template]


@pytest.mark.both_engines
@pytest.mark.slow
def test_segment_validate_accepts_every_template_made_with_its_defaults(made_from_defaults):
    shop, examples, made, validate, counts = made_from_defaults
    assert validate.exit_code == 0, validate.stderr
    assert f"{2 * len(examples)} segment files checked: no problems" in validate.stderr


# ---------------------------------------------------------------------------------
# 3. Parameters set with --set


def _set_one_by_one(shop: SegmentStore, cases: list[tuple[str, Template, dict[str, str]]]):
    """segment new NAME for each case, then one calculate of them all."""
    made = {name: _new(shop, name, template, values) for name, template, values in cases}
    names = [name for name, result in made.items() if result.exit_code == 0]
    return made, (_counts(shop, *names) if names else {})


@pytest.fixture(scope="module")
def each_parameter_set(tmp_path_factory, store_db, engine):
    """Each parameter set on its own; made and counted once per engine."""
    shop = _on_store(tmp_path_factory.mktemp("each"), store_db)
    examples = _examples()
    cases = {}
    for number, parameter in enumerate(PARAMETERS):
        template = examples[parameter.template]
        value = _another(parameter.kind, _default(template, parameter))
        cases[parameter.id] = (f"set-{number}", template, {parameter.name: value})
    made, counts = _set_one_by_one(shop, list(cases.values()))
    return shop, cases, made, counts


@pytest.mark.both_engines
@pytest.mark.slow
@pytest.mark.parametrize("parameter", PARAMETERS, ids=lambda p: p.id)
def test_each_parameter_of_each_template_can_be_set(each_parameter_set, parameter):
    shop, cases, made, counts = each_parameter_set
    name, template, values = cases[parameter.id]
    result = made[name]
    assert "Traceback" not in result.stderr, result.stderr
    assert result.exit_code == 0, result.stderr
    text = (shop.segments / f"{name}.yaml").read_text(encoding="utf-8")
    _check_written(template, name, values, text)
    assert counts[name] == _count(shop, "--criteria", _criteria_text(text))


@pytest.fixture(scope="module")
def all_parameters_set(tmp_path_factory, store_db, engine):
    """Every parameter of a template set at once; made and counted once per engine."""
    shop = _on_store(tmp_path_factory.mktemp("all"), store_db)
    examples = _examples()
    cases = {}
    for name in WITH_PARAMETERS:
        template = examples[name]
        values = {p.name: _another(p.kind, _default(template, p)) for p in template.parameters}
        cases[name] = (f"all-{name}", template, values)
    made, counts = _set_one_by_one(shop, list(cases.values()))
    return shop, cases, made, counts


@pytest.mark.both_engines
@pytest.mark.slow
@pytest.mark.parametrize("template", WITH_PARAMETERS)
def test_every_parameter_of_a_template_can_be_set_at_once(all_parameters_set, template):
    shop, cases, made, counts = all_parameters_set
    name, source, values = cases[template]
    result = made[name]
    assert result.exit_code == 0, result.stderr
    text = (shop.segments / f"{name}.yaml").read_text(encoding="utf-8")
    _check_written(source, name, values, text)
    assert counts[name] == _count(shop, "--criteria", _criteria_text(text))


@pytest.mark.both_engines
@pytest.mark.parametrize("parameter", OWN["every-kind"].parameters, ids=lambda p: p.name)
def test_each_kind_of_parameter_is_written_where_it_is_declared(shop, own_templates, parameter):
    template = OWN["every-kind"]
    value = _another(parameter.kind, _default(template, parameter))
    text = _made_with(shop, template, {parameter.name: value})
    _same_members_as_its_criteria(shop, "tuned", text)


@pytest.mark.both_engines
def test_a_template_made_in_a_new_directory_counts_as_its_criteria(shop):
    template = _examples()[MODEL]
    text = _made_with(shop, template, {})
    _same_members_as_its_criteria(shop, "tuned", text)


@pytest.mark.parametrize(
    ("name", "given", "written"),
    [
        ("spend", " 99.95 ", "99.95"),
        ("spend", "0", "0"),
        ("orders", "0", "0"),
        ("days", "1", "1 day ago"),
        ("days", "365", "365 days ago"),
        ("country", ' Côte "d\'Ivoire" ', 'Côte "d\'Ivoire"'),
        ("tag", "true", "true"),  # text, not a boolean
        ("tag", "123", "123"),  # text, not a number
        ("collections", " Food ,Beauty, Gifts for Her", ["Food", "Beauty", "Gifts for Her"]),
        ("collections", "Kitchen", ["Kitchen"]),
    ],
)
def test_values_are_written_as_their_kind_takes_them(shop, own_templates, name, given, written):
    template = OWN["every-kind"]
    [parameter] = [p for p in template.parameters if p.name == name]
    _made_with(shop, template, {name: given})
    root = _load(shop.segments / "tuned.yaml")
    for at in parameter.paths:
        node = _at(root, at)
        if isinstance(written, list):
            assert [item.value for item in node.items] == written
        elif parameter.kind in ("money", "count"):
            assert node.value == Decimal(written) and not node.quoted
        else:
            assert node.value == written
            assert isinstance(node.value, str)


def test_title_replaces_the_templates_title_and_nothing_else(shop):
    template = _examples()[MODEL]
    title = 'Lapsed "big" spenders: été'
    checked(shop, "segment", "new", "lapsed", "--template", MODEL, "--title", title)
    text = (shop.segments / "lapsed.yaml").read_text(encoding="utf-8")
    root = load_yaml(text, "lapsed.yaml").root
    assert root.get("title").value == title
    changed = {"name", "title"}
    assert _others(_leaves(root), changed) == _others(_leaves(template.root), changed)
    assert _changed_lines(template.text, text) == {
        template.root.get(key).pos.line for key in changed
    }


@pytest.fixture(scope="module")
def shared_example(tmp_path_factory, store_db) -> SegmentStore:
    """One segments directory for a property test's many cases (files replaced, --force)."""
    return _on_store(tmp_path_factory.mktemp("shared"), store_db)


def _value(kind: str):
    if kind == "money":
        cents = st.decimals(
            min_value=0, max_value=Decimal("999999999999.9999"), places=4, allow_nan=False
        ).map(lambda amount: format(amount.normalize(), "f"))
        return st.one_of(st.integers(0, 100_000).map(str), cents)
    # Up to the largest segcli takes (10**9), mostly small.
    return st.one_of(st.integers(0, 3_000), st.integers(0, 10**9)).map(str)


@pytest.mark.both_engines
@pytest.mark.slow
@pytest.mark.skipif(not NUMERIC, reason="no example template has a numeric parameter")
@settings(max_examples=fuzz_examples(8), deadline=None)
@given(data=st.data())
def test_any_number_set_gives_the_members_of_the_same_criteria(shared_example, data):
    parameter = data.draw(st.sampled_from(NUMERIC), label="parameter")
    value = data.draw(_value(parameter.kind), label="value")
    template = _examples()[parameter.template]
    # The template's own value leaves its line as it is, which _made_with counts as changed.
    assume(not all(_holds(parameter.kind, _at(template.root, at), value) for at in parameter.paths))
    text = _made_with(shared_example, template, {parameter.name: value}, force=True)
    _same_members_as_its_criteria(shared_example, "tuned", text)


@pytest.fixture(scope="module")
def own_shared(tmp_path_factory, store_db) -> SegmentStore:
    """A segments directory for a property test's cases (the first installs the tests' own
    templates beside it)."""
    return _on_store(tmp_path_factory.mktemp("own"), store_db, examples=False)


_TEXT = st.text(
    alphabet=st.characters(categories=("L", "N", "P", "S", "Zs"), exclude_characters=","),
    min_size=1,
    max_size=20,
).filter(str.strip)


@settings(max_examples=fuzz_examples(15), deadline=None)
@given(name=st.sampled_from(["country", "tag", "collections"]), data=st.data())
def test_any_text_set_is_written_as_given(own_shared, name, data):
    template = OWN["every-kind"]
    [parameter] = [p for p in template.parameters if p.name == name]
    if parameter.kind == "texts":
        value = ",".join(data.draw(st.lists(_TEXT, min_size=1, max_size=3), label="texts"))
    else:
        value = data.draw(_TEXT, label="text")
    # Patched for this case only: the module's other tests use the examples.
    with pytest.MonkeyPatch.context() as patch:
        templates = own_shared.segcli.dir / "templates"
        if templates.exists():
            patch.setattr(templates_module, "example_segments_dir", lambda: templates)
        else:
            _install(templates, patch)
        _made_with(own_shared, template, {name: value}, force=True)


def test_a_text_with_a_comma_is_written_or_refused_as_a_set_value(shop, own_templates):
    result = _new(shop, "tuned", OWN["every-kind"], {"country": "Paris, France"})
    assert "Traceback" not in result.stderr
    if result.exit_code == 0:
        _made_with(shop, OWN["every-kind"], {"country": "Paris, France"}, force=True)
    else:
        assert result.exit_code == 1
        assert result.stderr.startswith("Error: --set country:"), result.stderr


def test_a_texts_parameter_at_a_block_list_is_refused_by_validate_or_can_be_set(
    shop, own_templates
):
    validate = shop("segment", "validate", own_templates / "block-list.yaml")
    if validate.exit_code == 1:
        assert "parameter collections" in validate.stderr
        return
    _made_with(shop, OWN["block-list"], {"collections": "Food,Beauty"})


@pytest.mark.both_engines
def test_a_value_the_segment_language_refuses_writes_nothing(shop, own_templates):
    result = checked(
        shop,
        "segment", "new", "stage", "--template", "lifecycle-stage", "--set", "stage=at-risk",
        exit_code=1,
    )  # fmt: skip
    assert "'at-risk' is not a lifecycle stage" in result.stderr
    assert "did you mean 'at-risk-repeat'?" in result.stderr
    assert _files(shop.segments) == {}
    # Another stage is a text like any other.
    text = _made_with(shop, OWN["lifecycle-stage"], {"stage": "prospects"})
    _same_members_as_its_criteria(shop, "tuned", text)


@pytest.mark.parametrize(
    "args",
    [
        ["new", "x", "--template", "every-kind", "--set", "country=Paris, France"],
        ["new", "x", "--template", "block-list", "--set", "collections=Food,Beauty"],
        ["new", "x", "--template", "folded-description", "--set", "spend=250"],
        ["calculate", "--criteria", "total_spent: {gt: 500}", "--save", "x"],
        ["calculate", "--criteria", "{total_spent: {gt: 500}}", "--save", "x"],
    ],
    ids=["comma-text", "block-list", "folded-description", "one-line-save", "flow-save"],
)
def test_a_file_is_there_only_when_the_command_succeeds(shop, own_templates, args):
    # The inputs of the defects above: whether they are refused or not, never half done.
    as_of = ["--as-of", AS_OF] if args[0] == "calculate" else []
    result = shop("segment", *args, *as_of)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.exit_code in (0, 1), result.stderr
    assert (shop.segments / "x.yaml").exists() == (result.exit_code == 0), result.stderr
    assert sorted(_files(shop.segments)) == (["x.yaml"] if result.exit_code == 0 else [])


def test_a_template_whose_description_is_a_block_scalar_can_be_set(shop, own_templates):
    checked(shop, "segment", "validate", own_templates / "folded-description.yaml")
    _made_with(shop, OWN["folded-description"], {"spend": "250"})


def test_a_template_whose_description_is_a_block_scalar_is_made_with_its_defaults(
    shop, own_templates
):
    _made_with(shop, OWN["folded-description"], {})


# ---------------------------------------------------------------------------------
# 4. Names: taken, built in, or not a name


def test_an_existing_file_is_kept_unless_force(shop):
    path = shop.segments / "mine.yaml"
    checked(shop, "segment", "new", "mine")
    path.write_text(path.read_text(encoding="utf-8") + "# my own notes\n", encoding="utf-8")
    before = path.read_bytes()

    for args in (["mine"], ["mine", "--template", MODEL]):
        result = checked(shop, "segment", "new", *args, exit_code=1)
        assert f"{path} exists already" in result.stderr
        assert "--force" in result.stderr
        assert path.read_bytes() == before

    checked(shop, "segment", "new", "mine", "--template", MODEL, "--force")
    root = _load(path)
    assert root.get("title").value == EXAMPLE_TEMPLATES[MODEL].root.get("title").value
    assert "# my own notes" not in path.read_text(encoding="utf-8")
    # Written whole: no temporary file is left beside it.
    assert sorted(path.name for path in shop.segments.iterdir()) == ["mine.yaml"]


def test_force_replaces_a_file_that_does_not_even_parse(merchant):
    merchant.segments.mkdir()
    path = merchant.segment("broken", "name: broken\ncriteria: {total_spent: [\n")
    checked(merchant, "segment", "new", "broken", exit_code=1)
    checked(merchant, "segment", "new", "broken", "--force")
    checked(merchant, "segment", "validate", path)


def test_an_example_file_is_not_replaced_by_a_new_segment(example):
    before = _files(example.segments)
    result = checked(example, "segment", "new", MODEL, "--template", MODEL, exit_code=1)
    assert "exists already" in result.stderr
    assert _files(example.segments) == before


@pytest.mark.parametrize("name", list(BUILTINS))
def test_a_built_in_name_is_refused(merchant, name):
    for extra in ([], ["--template", MODEL], ["--force"]):
        result = checked(merchant, "segment", "new", name, *extra, exit_code=1)
        assert f"'{name}' is a built-in segment" in result.stderr
    assert _files(merchant.segcli.dir) == {}


def test_a_name_another_file_defines_is_refused_even_with_force(merchant):
    merchant.segments.mkdir()
    other = merchant.segment(
        "my-list", "name: big-buyers\ntitle: Big buyers\ncriteria: {total_spent: {gt: 9}}\n"
    )
    before = _files(merchant.segments)
    for extra in ([], ["--force"], ["--template", MODEL, "--force"]):
        result = checked(merchant, "segment", "new", "big-buyers", *extra, exit_code=1)
        assert f"a segment named 'big-buyers' is defined in {other} already" in result.stderr
    assert _files(merchant.segments) == before


@pytest.mark.parametrize(
    "name",
    ["Big", "big spender", "big_spender", "1big", "-big", "big.yaml", "../big", "bïg", ""],
)
def test_a_name_that_is_not_a_segment_name_is_refused(merchant, name):
    result = checked(merchant, "segment", "new", "--template", MODEL, "--", name, exit_code=1)
    assert f"{name!r} is not a segment name" in result.stderr
    assert "lower-case" in result.stderr
    assert _files(merchant.segcli.dir) == {}


# ---------------------------------------------------------------------------------
# 5. Bad parameters and templates


def test_an_unknown_parameter_names_the_templates_parameters(merchant):
    template = _examples()[MODEL]
    result = checked(
        merchant, "segment", "new", "x", "--template", MODEL, "--set", "colour=red", exit_code=1
    )
    known = ", ".join(p.name for p in template.parameters)
    assert f"template {MODEL} has no parameter 'colour' (its parameters: {known})" in (
        result.stderr
    )
    first = template.parameters[0].name
    result = checked(
        merchant, "segment", "new", "x", "--template", MODEL, "--set", f"{first}x=1", exit_code=1
    )
    assert f"did you mean {first!r}?" in result.stderr
    assert _files(merchant.segcli.dir) == {}


def test_a_template_without_parameters_says_so(merchant, own_templates):
    result = checked(
        merchant,
        "segment", "new", "x", "--template", "no-parameters", "--set", "spend=5",
        exit_code=1,
    )  # fmt: skip
    assert "template no-parameters has no parameter 'spend' (its parameters: none)" in (
        result.stderr
    )
    assert _files(merchant.segments) == {}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("spend", "abc"),
        ("spend", "-5"),
        ("spend", "1e3"),
        ("spend", "12.34567"),
        ("spend", "1,000"),
        ("spend", "1000000000000"),
        ("spend", ""),
        ("orders", "1.5"),
        ("orders", "-3"),
        ("orders", "two"),
        ("orders", "1000000001"),
        ("days", "-3"),
        ("days", "1.5"),
        ("days", "90 days"),
        ("days", ""),
        ("country", ""),
        ("country", "   "),
        ("collections", "a,,b"),
        ("collections", ","),
        ("collections", "Food,"),
        ("collections", ""),
    ],
)
def test_a_value_its_kind_does_not_take_is_refused(merchant, own_templates, name, value):
    result = checked(
        merchant,
        "segment", "new", "x", "--template", "every-kind", "--set", f"{name}={value}",
        exit_code=1,
    )  # fmt: skip
    assert result.stderr.startswith(f"Error: --set {name}: "), result.stderr
    if value.strip():
        assert repr(value) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert _files(merchant.segments) == {}


@pytest.mark.skipif(not NUMERIC, reason="no example template has a numeric parameter")
@pytest.mark.parametrize("value", ["abc", "-3", "1.5x"])
def test_a_bad_number_for_an_example_template_is_refused(merchant, value):
    parameter = NUMERIC[0]
    result = checked(
        merchant,
        "segment", "new", "x", "--template", parameter.template,
        "--set", f"{parameter.name}={value}",
        exit_code=1,
    )  # fmt: skip
    assert result.stderr.startswith(f"Error: --set {parameter.name}: {value!r} is not"), (
        result.stderr
    )
    assert _files(merchant.segcli.dir) == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--template", MODEL, "--set", "threshold"], "'threshold' is not KEY=VALUE"),
        (["--template", MODEL, "--set", "=750"], "'=750' is not KEY=VALUE"),
        (
            ["--template", MODEL, "--set", "threshold=1", "--set", "threshold=2"],
            "threshold is given twice",
        ),
        (["--set", "threshold=750"], "--set goes with --template"),
    ],
)
def test_a_set_that_cannot_be_read_is_a_usage_error(merchant, args, message):
    result = merchant("segment", "new", "x", *args)
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr
    assert "Usage:" in result.stderr
    assert "Traceback" not in result.stderr
    assert _files(merchant.segcli.dir) == {}


@pytest.mark.parametrize(
    ("template", "hint"),
    [
        (MODEL[:-1], f"did you mean {MODEL!r}?"),
        ("Big-Spender-Lapsed", f"did you mean {MODEL!r}?"),
        ("zzzz", "see segcli segment templates"),
    ],
)
def test_an_unknown_template_is_refused_with_a_hint(merchant, template, hint):
    result = checked(merchant, "segment", "new", "x", "--template", template, exit_code=1)
    assert f"no template {template!r}" in result.stderr
    assert f"hint: {hint}" in result.stderr
    assert _files(merchant.segcli.dir) == {}


# ---------------------------------------------------------------------------------
# 6. The blank skeleton


@pytest.mark.both_engines
def test_the_blank_skeleton_is_commented_validates_and_counts(shop):
    result = checked(shop, "segment", "new", "first-try")
    path = shop.segments / "first-try.yaml"
    assert f"wrote {path}" in result.stderr
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0].startswith("# ")
    # Comments both before the segment and among its conditions, where one edits them.
    criteria = _criteria_text(text)
    assert any(line.strip().startswith("#") for line in criteria.splitlines())
    root = load_yaml(text, str(path)).root
    assert root.get("name").value == "first-try"
    assert root.get("title").value
    checked(shop, "segment", "validate", path)
    assert _count(shop, "first-try") == _count(shop, "--criteria", criteria)


def test_the_skeleton_takes_a_title_as_written(shop):
    title = 'Les "meilleurs" clients: été # 1'
    checked(shop, "segment", "new", "best", "--title", title)
    assert _load(shop.segments / "best.yaml").get("title").value == title
    checked(shop, "segment", "validate", shop.segments / "best.yaml")


# ---------------------------------------------------------------------------------
# 7. calculate --criteria --save


def _save(shop: SegmentStore, criteria: str, name: str, *extra: str):
    return shop(
        "segment", "calculate", "--criteria", criteria, "--save", name, *extra,
        "--as-of", AS_OF, "--format", "json",
    )  # fmt: skip


MULTI_LINE = """\
all:
  - total_spent: {gt: 500}
  # two orders or more, or tagged vip
  - any:
      - orders_count: {gte: 2}
      - tags: {contains: vip}
"""


@pytest.mark.both_engines
@pytest.mark.parametrize(
    "criteria",
    [
        "{total_spent: {gt: 500}}",
        "[{total_spent: {gt: 500}}, {orders_count: {gte: 2}}]",
        "total_spent: {gt: 500}",
        MULTI_LINE,
        "  " + MULTI_LINE.replace("\n", "\n  "),  # indented as pasted
    ],
    ids=["flow-mapping", "flow-list", "one-line-mapping", "multi-line", "indented"],
)
def test_a_quick_filter_is_saved_as_a_segment_with_the_same_members(shop, criteria):
    title = 'Big "repeat" buyers'
    result = _save(shop, criteria, "big-repeat", "--title", title)
    assert result.exit_code == 0, result.stderr
    [row] = json.loads(result.stdout)
    path = shop.segments / "big-repeat.yaml"
    assert f"saved the quick filter as {path}" in result.stderr
    root = _load(path)
    assert root.get("name").value == "big-repeat"
    assert root.get("title").value == title
    checked(shop, "segment", "validate", path)
    assert _count(shop, "big-repeat") == row["count"]
    assert row["count"] == _count(shop, "--criteria", criteria)
    if "#" in criteria:
        assert "# two orders or more, or tagged vip" in path.read_text(encoding="utf-8")


def test_a_saved_quick_filter_is_not_replaced_without_force(shop):
    path = shop.segments / "big.yaml"
    assert _save(shop, "{total_spent: {gt: 500}}", "big").exit_code == 0
    before = path.read_bytes()
    result = _save(shop, "{total_spent: {gt: 900}}", "big")
    assert result.exit_code == 1
    assert f"{path} exists already" in result.stderr
    assert "--force" in result.stderr
    assert result.stdout == ""  # refused before anything is counted
    assert path.read_bytes() == before
    assert _save(shop, "{total_spent: {gt: 900}}", "big", "--force").exit_code == 0
    assert _at(_load(path), "criteria.total_spent.gt").value == 900


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("everyone", "'everyone' is a built-in segment"),
        (MODEL, "exists already"),
        ("Big Ones", "'Big Ones' is not a segment name"),
        ("../big", "'../big' is not a segment name"),
    ],
)
def test_a_quick_filter_is_not_saved_under_a_name_that_is_not_free(shop, name, message):
    shop.segments.mkdir()
    shutil.copy(EXAMPLES / f"{MODEL}.yaml", shop.segments)
    before = _files(shop.segcli.dir)
    result = _save(shop, "{total_spent: {gt: 500}}", name)
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stdout == ""
    assert _files(shop.segcli.dir) == before


def test_invalid_criteria_write_nothing(shop):
    before = _files(shop.segments)
    result = _save(shop, "{total_spnt: {gt: 500}}", "typo")
    assert result.exit_code == 1
    assert "total_spnt" in result.stderr and "total_spent" in result.stderr
    assert "Traceback" not in result.stderr
    assert _files(shop.segments) == before


@pytest.mark.parametrize(
    "args",
    [
        ["--save", "big"],
        ["vip-customers", "--save", "big"],
        ["--title", "Big"],
        ["--force"],
        ["--criteria", "{total_spent: {gt: 5}}", "--title", "Big"],
    ],
)
def test_save_title_and_force_without_what_they_need_are_usage_errors(shop, args):
    before = _files(shop.segments)
    result = shop("segment", "calculate", *args)
    assert result.exit_code == 2, result.stderr
    assert "Usage:" in result.stderr
    assert _files(shop.segments) == before


# ---------------------------------------------------------------------------------
# 8. A merchant's two commands


@pytest.mark.both_engines
def test_a_merchant_makes_a_segment_from_a_template_and_counts_it(shop):
    template = _examples()[MODEL]
    settings = []
    for parameter in template.parameters[:1]:
        value = _another(parameter.kind, _default(template, parameter))
        settings = ["--set", f"{parameter.name}={value}"]

    result = checked(shop, "segment", "new", "lapsed-vips", "--template", MODEL, *settings)
    path = shop.segments / "lapsed-vips.yaml"
    assert f"wrote {path}" in result.stderr
    said = re.search(
        r"lapsed-vips: ([\d,]+) members? as of (\S+) \(([\d.]+)% of ([\d,]+) people\)",
        " ".join(result.stderr.split()),
    )
    assert said, result.stderr
    today = datetime.now(UTC).date().isoformat()
    assert said[2] == today

    [row] = _json(shop, "segment", "calculate", "lapsed-vips", "--format", "json")
    assert row["as_of"] == today
    assert row["count"] == int(said[1].replace(",", ""))
    assert int(said[4].replace(",", "")) == 300
    # And as of the example store's day, against the template the merchant started from.
    assert _count(shop, "lapsed-vips") == _count(
        shop, "--criteria", _criteria_text(path.read_text(encoding="utf-8"))
    )


def test_every_listed_template_can_be_made_in_a_new_segments_directory(merchant):
    """A template that uses in_segment says which segment to create first, and how; once
    it is there, the template is made like any other."""
    listed = _json(merchant, "segment", "templates", "--format", "json")
    refused = {}
    for row in listed:
        result = merchant("segment", "new", "mine", "--template", row["template"], "--force")
        assert "Traceback" not in result.stderr
        if result.exit_code != 0:
            refused[row["template"]] = result.stderr
    assert set(refused) == {"almost-vip", "vip-subscribers"}
    for stderr in refused.values():
        assert "uses the segment 'vip-customers' (in_segment)" in stderr
        assert (
            "hint: create it first: segcli segment new vip-customers --template vip-customers"
            in stderr
        )
    made = merchant("segment", "new", "vip-customers", "--template", "vip-customers")
    assert made.exit_code == 0, made.stderr
    for name in refused:
        result = merchant("segment", "new", "mine", "--template", name, "--force")
        assert result.exit_code == 0, result.stderr


# ---------------------------------------------------------------------------------
# 9. Mistakes in a parameters: block, from segment validate

SEGMENT = """\
name: checked
title: Checked
description: Parameters with a mistake.
criteria:
  all:
    - total_spent: {gt: 500}
    - days_since_last_order: {gt: 90}
    - last_order_at: {after: 30 days ago}
parameters:
"""


@pytest.mark.parametrize(
    ("block", "line", "column", "message"),
    [
        (
            "  spend:\n    at: criteria.all.0.total_spent.gt\n    kind: amount\n",
            12,
            11,
            "parameter spend: kind must be one of money, count, days, text, texts",
        ),
        (
            "  spend:\n    at: criteria.all.7.total_spent.gt\n    kind: money\n",
            11,
            9,
            "parameter spend: criteria.all.7.total_spent.gt is not a money value of this file",
        ),
        (
            "  spend:\n    at: criteria.all.0.total_spnt.gt\n    kind: money\n",
            11,
            9,
            "parameter spend: criteria.all.0.total_spnt.gt is not a money value of this file",
        ),
        (
            "  recent:\n    at: criteria.all.2.last_order_at.after\n    kind: money\n",
            11,
            9,
            "parameter recent: criteria.all.2.last_order_at.after is not a money value",
        ),
        (
            "  spend:\n    at: criteria.all.0.total_spent.gt\n    kind: days\n",
            11,
            9,
            "parameter spend: criteria.all.0.total_spent.gt is not a days value",
        ),
        (
            "  both:\n    at: [criteria.all.0.total_spent.gt,"
            " criteria.all.1.days_since_last_order.gt]\n    kind: count\n",
            11,
            9,
            "parameter both: its paths hold different values",
        ),
        (
            "  Spend:\n    at: criteria.all.0.total_spent.gt\n    kind: money\n",
            10,
            3,
            "parameter name 'Spend' must be a lower-case word",
        ),
        (
            "  spend:\n    at: criteria.all.0.total_spent.gt\n    kind: money\n    default: 3\n",
            13,
            5,
            "parameter spend: unknown key 'default' (expected at, kind, description)",
        ),
        (
            "  spend:\n    kind: money\n",
            11,
            5,
            "parameter spend: 'at' must give the path of a value",
        ),
        ("  - spend\n", 10, 3, "parameters must be a mapping of names to"),
    ],
    ids=[
        "unknown-kind",
        "path-leads-nowhere",
        "path-misspelt",
        "money-at-a-date",
        "days-at-a-number",
        "paths-differ",
        "upper-case-name",
        "unknown-key",
        "no-at",
        "not-a-mapping",
    ],
)
def test_validate_reports_a_parameters_mistake_with_file_and_line(
    merchant, block, line, column, message
):
    path = merchant.segcli.write("checked.yaml", SEGMENT + block)
    result = checked(merchant.segcli, "segment", "validate", path, exit_code=1)
    assert f"{path}:{line}:{column}: {message}" in result.stderr, result.stderr
    assert "1 problem in 1 of 1 file" in result.stderr


def test_validate_accepts_parameters_of_every_kind(merchant):
    path = merchant.segcli.write("every-kind.yaml", EVERY_KIND)
    result = checked(merchant.segcli, "segment", "validate", path)
    assert "1 segment file checked: no problems" in result.stderr


# ---------------------------------------------------------------------------------
# 10. No database yet


@pytest.mark.parametrize("extra", [[], ["--template", MODEL]], ids=["skeleton", "template"])
def test_new_without_a_database_writes_the_file_and_says_so(merchant, extra):
    result = checked(merchant, "segment", "new", "first", *extra)
    path = merchant.segments / "first.yaml"
    assert f"wrote {path}" in result.stderr
    assert f"no database at {merchant.segcli.db} yet" in result.stderr
    assert path.is_file()
    assert not merchant.segcli.db.exists()
    checked(merchant, "segment", "validate", path)
