"""Every problem the first time, and how to write what was written wrong.

calculate, show and export list every problem of every segment file they read: in the
error when they cannot go on, as warnings about the files they do not use when they can.
The YAML mistakes merchants make most get a hint that shows the line as it should be.
"""

from __future__ import annotations

import pytest

from segcli.rules.parse import parse_criteria_text, parse_segment_text

ORDERS = """\
order_id,customer_id,email,created_at,total,country
O1,C1,ann@example.com,2024-01-05,120,FR
O2,C2,bob@example.com,2024-02-05,30,DE
"""

# Four files with five problems between them, and one without.
BROKEN = {
    "a": "criteria:\n  total_spent: >= 100\n",
    "b": "criteria:\n\ttotal_spent: {gt: 1}\n",
    "c": "criteria:\n  total_spent {gt: 1}\n  country: FR\n",
    "d": "criteria:\n  total_spnt: {gt: 1}\n  countri: FR\n",
}
GOOD = "criteria:\n  total_spent: {gte: 100}\n"


@pytest.fixture
def store(segcli):
    segcli.imported({"orders": ORDERS})
    segments = segcli.dir / "segments"
    segments.mkdir()
    for name, text in {**BROKEN, "good": GOOD}.items():
        (segments / f"{name}.yaml").write_text(text, encoding="utf-8")
    return segcli


def run(store, *args):
    return store("--segments", store.dir / "segments", *args)


def problem_lines(store, text: str) -> list[str]:
    """The first line of each problem (``path:line:col: ...``) in ``text``."""
    prefix = str(store.dir / "segments")
    return [line[len(prefix) + 1 :] for line in text.splitlines() if line.startswith(prefix)]


EVERY_PROBLEM = [
    "a.yaml:2:17: YAML syntax error: expected chomping or indentation indicators, but found "
    "'='; an operator goes inside braces with its value: write 'total_spent: {gte: 100}'",
    "b.yaml:2:1: YAML syntax error: found character '\\t' that cannot start any token; YAML "
    "indents with spaces, never tabs: replace the tab with spaces",
    "c.yaml:2:3: unknown field 'total_spent {gt'; a key is followed by ':' and a space: "
    "write 'total_spent: {gt: 1}'",
    "d.yaml:2:3: unknown field 'total_spnt'; did you mean 'total_spent'?",
    "d.yaml:3:3: unknown field 'countri'; did you mean 'country'?",
]


def test_validate_lists_every_problem(store):
    result = run(store, "segment", "validate")
    assert result.exit_code == 1
    assert problem_lines(store, result.stderr) == EVERY_PROBLEM


def test_calculate_of_every_segment_lists_every_problem(store):
    result = run(store, "segment", "calculate", "--format", "csv")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: 5 problems in segment files:\n")
    assert problem_lines(store, result.stderr) == EVERY_PROBLEM


@pytest.mark.parametrize("command", ["show", "export"])
def test_a_broken_segment_is_refused_with_every_problem_its_own_first(store, command):
    result = run(store, "segment", command, "d")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert problem_lines(store, result.stderr) == [*EVERY_PROBLEM[3:], *EVERY_PROBLEM[:3]]


@pytest.mark.parametrize(
    "command",
    [
        ("segment", "calculate", "good", "--format", "csv"),
        ("segment", "show", "good"),
        ("segment", "export", "good"),
    ],
)
def test_a_good_segment_works_and_the_other_files_problems_are_warned(store, command):
    result = run(store, *command)
    assert result.exit_code == 0, result.stderr
    assert (
        "warning: 5 problems in 4 segment files that this command does not use:"
        in result.stderr.splitlines()
    )
    assert problem_lines(store, result.stderr) == EVERY_PROBLEM
    assert "problem" not in result.stdout


def test_a_quick_filter_with_a_problem_lists_the_files_problems_too(store):
    result = run(store, "segment", "calculate", "--criteria", "total_spend: {gt: 1}")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[:2] == [
        "Error: 6 problems in segment files:",
        "--criteria:1:1: unknown field 'total_spend'; did you mean 'total_spent'?",
    ]
    assert problem_lines(store, result.stderr) == EVERY_PROBLEM


# -- hints for the YAML merchants write -------------------------------------------------

HINTS = [
    ("total_spent: >= 100", "write 'total_spent: {gte: 100}'"),
    ("total_spent: {> 100}", "write 'total_spent: {gt: 100}'"),
    ("- total_spent: <= 5\n  - country: FR", "write '- total_spent: {lte: 5}'"),
    ("total_spent: < 100", "write 'total_spent: {lt: 100}'"),
    ("orders_count: != 2", "write 'orders_count: {ne: 2}'"),
    ("country: in: [FR, DE]", "write 'country: {in: [FR, DE]}'"),
    ("\ttotal_spent: {gt: 1}", "YAML indents with spaces, never tabs"),
    ("total_spent {gt: 1}\n  country: FR", "write 'total_spent: {gt: 1}'"),
    ("all:\n    - country FR\n    - city: Paris", "write 'country: FR'"),
    (
        "country FR\n  city: Paris",
        "line 3: a key is followed by ':' and a space: write 'country: FR'",
    ),
    ("country:FR", "put a space after ':': write 'country: FR'"),
    ("total_spent:{gt: 1}", "put a space after ':': write 'total_spent: {gt: 1}'"),
    ("-country: FR", "a list item needs a space after '-': write '- country: FR'"),
    ("total_spent = 100", "write 'total_spent: 100'"),
    ("tags: #vip", "'#' starts a comment in YAML: quote the value, \"#vip\""),
    ("email: @example.com", "'@' is reserved in YAML: quote the value, \"@example.com\""),
    ("country: &FR", "'&' starts an anchor in YAML: quote the value, \"&FR\""),
    ("country: *FR", "'*' starts an alias in YAML: quote the value, \"*FR\""),
    ("city: |Paris", "'|' starts a block of text in YAML: quote the value, \"|Paris\""),
    ("total_spent: {gt: 1", "is never closed"),
    ("country: 'FR", "a quote is never closed"),
    ("all:\n    - country: FR\n   - city: Paris", "must start in the same column"),
]


@pytest.mark.parametrize(("criteria", "hint"), HINTS)
def test_a_common_yaml_mistake_gets_a_hint_that_shows_how_to_write_it(criteria, hint):
    text = "title: Hint\ncriteria:\n  " + criteria + "\n"
    segment, problems = parse_segment_text(text, "hint.yaml", "hint")
    assert segment is None
    assert any(problem.hint is not None and hint in problem.hint for problem in problems), [
        str(p) for p in problems
    ]


def test_a_title_with_a_colon_gets_the_quotes_it_needs():
    _, problems = parse_segment_text("title: Sale: 50% off\ncriteria: {country: FR}\n", "t", "t")
    assert [p.hint for p in problems] == [
        "quote a value that holds ': ': write 'title: \"Sale: 50% off\"'"
    ]


def test_a_line_without_its_colon_before_a_good_line():
    _, problems = parse_segment_text("title Big spenders\ncriteria:\n  country: FR\n", "t", "t")
    assert [p.hint for p in problems] == [
        "line 1: a key is followed by ':' and a space: write 'title: Big spenders'"
    ]


def test_quick_filters_get_the_same_hints(segcli):
    result = segcli("segment", "calculate", "--criteria", "total_spent: >= 100")
    assert result.exit_code == 1
    assert "write 'total_spent: {gte: 100}'" in result.stderr
    _, problems = parse_criteria_text("country:FR")
    assert problems[0].hint == "put a space after ':': write 'country: FR'"


@pytest.mark.parametrize(
    "text",
    [
        "total_spent: {'>=': 100}",
        "total_spent: {gte: 100}",
        "email: '@example.com'",
        "tags: '#vip'",
        "title: 'Sale: 50% off'",
    ],
)
def test_what_the_hints_write_is_valid(text):
    """Each hint's way of writing it parses (the symbol spellings quoted)."""
    if text.startswith("title"):
        _, problems = parse_segment_text(text + "\ncriteria: {country: FR}\n", "t", "t")
    else:
        _, problems = parse_criteria_text(text)
    assert problems == []
