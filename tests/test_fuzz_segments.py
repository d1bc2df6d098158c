"""Fuzzed segment files: whatever a segment file holds, segcli ends with exit 0 or with a
clear message naming the file and line (exit 1), never with a traceback, an exhausted
memory or a value that reaches SQL as text.

Every command runs through the CLI against one small store imported once per module (its
people carry SQL and LIKE metacharacters in their names and emails); only the segment
files vary from one Hypothesis case to the next. Where a file could exhaust the machine
(aliases expanding exponentially, nesting that overflows a C stack), segcli runs in a
subprocess under a memory limit and a timeout.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from segcli.rules.operators import fold
from segcli.rules.parse import LIFECYCLE_STAGES
from segcli.rules.validate import MAX_NESTING
from segcli.segments.builtins import BUILTINS
from tests.conftest import Segcli, SegmentStore, fuzz_examples
from tests.helpers import DATE_FIELDS, TEXT_FIELDS, split_sql

AS_OF = "2024-06-30"
MEMORY_LIMIT = 1024**3  # bytes of address space for a segcli subprocess
SUBPROCESS_TIMEOUT = 60  # seconds; a file that expands or nests must be refused long before

posix_only = pytest.mark.skipif(os.name != "posix", reason="needs resource.setrlimit")

# ---------------------------------------------------------------------------------
# The store: a few ordinary people with records of every kind, and people whose names,
# emails, cities and custom notes are made of SQL and LIKE metacharacters and look-alikes.

LOOK_ALIKES = [
    "a_b",
    "axb",
    "a%b",
    "ab",
    "50%",
    "500",
    "5%0",
    "50% off",
    "5000 off",
    "100%",
    "_",
    "%",
    "\\",
    "\\%",
    "\\_",
    "a\\_b",
    "a\\b",
    "back\\slash",
    "O'Brien",
    "OBrien",
    'say "hi"',
    "say hi",
    "%%",
    "__",
    "x_%_y",
    "[abc]",
    "a*b",
    "a.b",
    "Straße",
    "STRASSE",
    "\u017f",  # long s: folds to s
    "\u212a",  # Kelvin sign: folds to k
    "İstanbul",
    "'); DROP TABLE orders; --",
    "x' OR '1'='1",
    "--",
    "/* */",
    ";",
]
METACHARACTERS = "%_\\'\";-*/[]^$.?()= "
# Characters of stored names drawn at random: metacharacters, letters that fold (ß, ſ, K),
# and a few plain ones, so that look-alikes meet often.
NAME_ALPHABET = METACHARACTERS.replace(" ", "") + "aAbBxX05ßſK"
EMAILS = [
    "a_b@x.example",
    "axb@x.example",
    "50%@x.example",
    "500@x.example",
    "back\\slash@x.example",
    "o'brien@x.example",
    "100%_off@x.example",
]


def metacharacter_people() -> list[dict[str, str]]:
    """People whose text fields are look-alikes and random metacharacter strings (seeded:
    the store is built once per module, and a failure must be reproducible)."""
    rng = random.Random(20240630)

    def random_name() -> str:
        return "".join(rng.choice(NAME_ALPHABET) for _ in range(rng.randint(1, 6)))

    people = []
    for n in range(64):
        people.append(
            {
                "customer_id": f"M{n:02}",
                "email": EMAILS[n] if n < len(EMAILS) else "",
                "first_name": LOOK_ALIKES[n % len(LOOK_ALIKES)],
                "last_name": random_name() if n % 5 else "",
                "city": rng.choice([*LOOK_ALIKES, random_name(), ""]),
                "note": rng.choice([*LOOK_ALIKES, random_name()]),
            }
        )
    return people


ORDINARY_CUSTOMERS = """\
customer_id,email,first_name,last_name,created_at,accepts_marketing,country,region,city,tags,customer_group,channel,tier,note
C1,ann@example.com,Ann,Lee,2024-01-01,yes,DE,Berlin,Berlin,"vip, gold",retail,web,7,gift
C2,bob@example.com,Bob,Stone,2024-01-02,no,US,CA,Oakland,,wholesale,pos,12,
C3,cy@example.com,Cy,Young,2024-01-03,yes,NO,Oslo,Oslo,b2b,,web,gold,Gift wrap
C4,dee@example.com,Dee,Park,2024-01-04,no,FR,IDF,Paris,,,,,
C5,eve@example.com,Eve,Moss,2024-01-05,,NO,Oslo,Bergen,vip,staff,web,3.5,
"""
OTHER_FILES = {
    "products": """\
product_id,sku,title,collections,product_type,vendor
P1,SKU-1,Boots,Winter;Sale,Shoes,Acme
P2,SKU-2,Hat,Summer,Hats,Zed
""",
    "orders": """\
order_id,customer_id,email,created_at,total,status
O1,C1,,2024-01-05,1200,paid
O2,C1,,2024-02-05,34.5,paid
O3,C2,,2024-03-01,-10,paid
O4,C4,,2024-03-02,50,cancelled
O5,C5,,2024-05-01T10:30:00,0.0001,
O6,C3,,2024-06-01,99.99,refunded
""",
    "items": """\
order_id,product_id,sku,title,collection,quantity,price
O1,P1,,Boots,Winter,1,1200
O2,,SKU-2,Hat,Summer,1,34.5
O3,P2,,Hat,,1,-10
O5,P9,,Mystery,,1,0.0001
""",
    "reviews": """\
review_id,customer_id,product_id,rating,created_at
R1,C1,P1,5,2024-02-01
R2,C2,P2,1,2024-03-05
""",
    "subscribers": """\
email,subscribed_at,status
eve@example.com,2024-02-01,subscribed
bob@example.com,2024-02-01,unsubscribed
""",
    "carts": """\
cart_id,customer_id,created_at,total
K1,C4,2024-04-01,20
""",
}


def customers_csv() -> str:
    rows = list(csv.DictReader(io.StringIO(ORDINARY_CUSTOMERS)))
    rows += [{key: person.get(key, "") for key in rows[0]} for person in metacharacter_people()]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> SegmentStore:
    directory = tmp_path_factory.mktemp("fuzz")
    segcli = Segcli(directory)
    for kind, text in {"customers": customers_csv(), **OTHER_FILES}.items():
        result = segcli("import", kind, segcli.write(f"{kind}.csv", text))
        assert result.exit_code == 0, result.stderr
    segments = directory / "segments"
    segments.mkdir()
    (directory / "cases").mkdir()
    return SegmentStore(segcli, segments)


@pytest.fixture(scope="module")
def everyone(store, engine) -> int:
    """How many people the store has, by the engine of the tests that ask."""
    return count_of(store, "everyone")


def write_case(store: SegmentStore, name: str, text: str | bytes) -> Path:
    """A segment file outside the segments directory (named on the command line)."""
    path = store.segcli.dir / "cases" / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def no_crash(result, *exit_codes: int):
    """The command ended with one of ``exit_codes`` and no crash: no traceback, no
    exception escaping the command, and not the boundary's "unexpected error"."""
    assert "Traceback" not in result.stderr, result.stderr
    assert "unexpected error" not in result.stderr, result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code in exit_codes, (result.exit_code, result.stderr[-2000:])
    return result


def count_of(store: SegmentStore, *segments: str | Path, criteria: str | None = None):
    """Members of each segment, through `segment calculate --format json`."""
    options = ["--criteria", criteria] if criteria is not None else []
    result = no_crash(
        store("segment", "calculate", *segments, *options, "--as-of", AS_OF, "--format", "json"),
        0,
    )
    counts = [row["count"] for row in json.loads(result.stdout)]
    return counts[0] if len(counts) == 1 else counts


def members_of(store: SegmentStore, *, criteria: str) -> set[str]:
    result = no_crash(
        store(
            "segment",
            "export",
            "--criteria",
            criteria,
            "--as-of",
            AS_OF,
            "--fields",
            "customer_id",
            "--format",
            "json",
        ),
        0,
    )
    return {row["customer_id"] for row in json.loads(result.stdout)}


def yaml_text(text: str) -> str:
    """A YAML double-quoted scalar holding exactly ``text`` (anything not plain ASCII
    escaped, so that no character is refused or folded by the YAML reader)."""
    escaped = []
    for char in text:
        if char in '\\"':
            escaped.append("\\" + char)
        elif " " <= char <= "~":
            escaped.append(char)
        else:
            escaped.append(f"\\U{ord(char):08x}")
    return '"' + "".join(escaped) + '"'


def problem_lines(stderr: str, path: Path) -> list[tuple[int, int, str]]:
    """(line, column, message) of each problem segcli reported for ``path``."""
    pattern = re.compile(re.escape(str(path)) + r":(\d+):(\d+): (.+)")
    return [
        (int(match[1]), int(match[2]), match[3])
        for match in map(pattern.match, stderr.splitlines())
        if match
    ]


def fuzz_settings(examples: int) -> settings:
    """``examples`` cases (ten times as many in the long profile); the shared machine is
    slow at times, and the strategies draw whole trees."""
    return settings(
        deadline=None,
        max_examples=fuzz_examples(examples),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# ---------------------------------------------------------------------------------
# 1. Random YAML as a segment file: exit 0 or 1, and a message that names file and line


def assert_validated(result, path: Path, text: str) -> None:
    no_crash(result, 0, 1)
    assert result.stdout == ""
    if result.exit_code == 0:
        assert result.stderr == "1 segment file checked: no problems\n"
        return
    problems = problem_lines(result.stderr, path)
    assert problems, result.stderr
    # The first line of the report is a problem of this file, with a line that exists.
    assert result.stderr.startswith(f"{path}:"), result.stderr
    last_line = max(1, len(text.splitlines()))
    for line, column, message in problems:
        assert 1 <= line <= last_line, (line, result.stderr)
        assert column >= 1 and message.strip()
    assert re.search(r"\n[1-9][\d,]* problems? in 1 of 1 file\n\Z", result.stderr), result.stderr


@pytest.mark.slow
@fuzz_settings(150)
@given(text=st.text(max_size=300))
def test_random_text_is_validated_or_reported_with_file_and_line(store, text):
    path = write_case(store, "fuzz.yaml", text)
    assert_validated(store("segment", "validate", path), path, text)


# The first bytes of a UTF-8 byte order mark, and nothing else (tested on their own).
PARTIAL_BOMS = (b"\xef", b"\xef\xbb")


@pytest.mark.slow
@fuzz_settings(50)
@given(data=st.binary(max_size=200))
def test_random_bytes_are_validated_or_reported_with_the_file(store, data):
    path = write_case(store, "bytes.yaml", data)
    result = no_crash(store("segment", "validate", path), 0, 1)
    if result.exit_code == 1:
        assert result.stderr.startswith(f"{path}:"), result.stderr
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        if data not in PARTIAL_BOMS:
            assert result.stderr.startswith(f"{path}:1:1: the file is not UTF-8 text\n")


@pytest.mark.parametrize("data", PARTIAL_BOMS)
def test_a_partial_byte_order_mark_is_not_utf8(store, data):
    path = write_case(store, "bom.yaml", data)
    result = no_crash(store("segment", "validate", path), 1)
    assert result.stderr.startswith(f"{path}:1:1: the file is not UTF-8 text\n")


# Words of the language, so that random documents reach deep into the parser, and
# spellings YAML and segcli read in their own ways.
LANGUAGE_WORDS = [
    *("name", "title", "description", "criteria", "all", "any", "not"),
    *("purchased", "reviewed", "abandoned_cart", "has_order", "in_segment"),
    *("product", "collection", "product_type", "vendor", "after", "before", "times"),
    *("rating", "status", "total", "custom.tier", "custom.", "tags", "lifecycle"),
    *("country", "email", "orders_count", "total_spent", "average_order_value"),
    *("created_at", "last_order_at", "days_since_last_order", "accepts_marketing"),
    *("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between", "contains"),
    *("not_contains", "starts_with", "ends_with", "contains_any", "contains_all"),
    *("is_set", "on", "within", "=", "!=", ">", ">=", "<", "<=", "<<"),
    *("yes", "no", "NO", "true", "FALSE", "null", "~", "", "1e3", ".5", "00123"),
    *("-30d", "6m", "30 days", "today", "2024-02-29", "2024-02-30", "9999-12-31"),
    *("2024-03-31T18:00:00+02:00", "1,500", "1_500", "500.0001", "99.99999", "-0"),
    *(*LIFECYCLE_STAGES, *BUILTINS, "%", "_", "'); DROP TABLE orders; --"),
]
scalars = (
    st.sampled_from(LANGUAGE_WORDS)
    | st.none()
    | st.booleans()
    | st.integers(-(10**15), 10**15)
    | st.floats()
    | st.text(max_size=12)
    | st.dates()
)
keys = st.sampled_from(LANGUAGE_WORDS) | st.text(max_size=8) | st.integers(-5, 5)
documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)
segment_documents = documents | st.fixed_dictionaries(
    {"criteria": documents}, optional={"name": scalars, "title": scalars, "description": scalars}
)


@pytest.mark.slow
@fuzz_settings(150)
@given(
    document=segment_documents,
    flow=st.sampled_from([None, True, False]),
    unicode=st.booleans(),
)
def test_random_yaml_documents_are_validated_or_reported(store, document, flow, unicode):
    text = yaml.safe_dump(document, default_flow_style=flow, allow_unicode=unicode, sort_keys=False)
    path = write_case(store, "doc.yaml", text)
    assert_validated(store("segment", "validate", path), path, text)


# ---------------------------------------------------------------------------------
# 2. Random condition trees from the language's grammar, valid and deliberately invalid


@dataclass(frozen=True)
class Leaf:
    """One condition written on one line: ``key: value`` (or a bare value, ``key`` None).
    ``problem`` is the message an invalid leaf must produce."""

    text: str
    key: str | None = None
    problem: str | None = None


@dataclass(frozen=True)
class Group:
    word: str  # all | any | not (with a list: none of them)
    items: tuple


@dataclass(frozen=True)
class Negation:
    item: object  # not: CONDITION (a mapping)


@dataclass(frozen=True)
class Several:
    leaves: tuple  # one mapping with several keys: all of them


SYMBOLS = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}

words = st.sampled_from(["DE", "no", "Oslo", "ann", "Gift", "vip", "%", "_", "a_b", "O'Brien"])
texts = (words | st.text(min_size=1, max_size=6)).map(yaml_text)
amounts = st.decimals(-(10**6), 10**6, places=4).map(lambda d: format(d, "f"))
integers = st.integers(-3, 400).map(str)
days = st.dates(min_value=date(2020, 1, 1)).map(date.isoformat) | st.sampled_from(
    ["2024-02-29", "2024-06-30"]
)
date_values = (
    days
    | st.sampled_from(["today", "yesterday", "Today"])
    | st.builds(
        "{} {} ago".format, st.integers(0, 99), st.sampled_from(["days", "week", "months", "year"])
    )
    | st.builds("-{}{}".format, st.integers(0, 99), st.sampled_from("dwmy"))
    | st.builds("{}T{}".format, days, st.sampled_from(["12:30:00", "00:00:00Z", "23:59:59+02:00"]))
).map(yaml_text)
durations = (
    st.builds("{} {}".format, st.integers(0, 99), st.sampled_from(["days", "weeks", "month"]))
    | st.builds("{}{}".format, st.integers(0, 99), st.sampled_from("dwmy"))
).map(yaml_text)
booleans = st.sampled_from(["true", "false", "True", "FALSE"])
tags = st.sampled_from(["vip", "VIP", "gold", "b2b", "none", "%"]).map(yaml_text)
stages = st.sampled_from([*LIFECYCLE_STAGES, "PROSPECTS"])
names = st.sampled_from(["P1", "sku-2", "Boots", "Winter", "sale", "Shoes", "acme", "x"])


def flow_list(values, min_size=1, max_size=3):
    return st.lists(values, min_size=min_size, max_size=max_size).map(
        lambda items: "[" + ", ".join(items) + "]"
    )


def spelled(op: str):
    """An operator as written: its name or, for some, its quoted symbol."""
    if op in SYMBOLS:
        return st.sampled_from([op, yaml_text(SYMBOLS[op])])
    return st.just(op)


@st.composite
def comparisons(draw, field: str, ops: dict):
    """``FIELD: {OP: VALUE}``, sometimes with two operators (both must hold)."""
    chosen = draw(st.lists(st.sampled_from(sorted(ops)), min_size=1, max_size=2, unique=True))
    body = ", ".join(f"{draw(spelled(op))}: {draw(ops[op])}" for op in chosen)
    return Leaf(f"{field}: {{{body}}}", field)


def shorthand(field: str, values):
    return values.map(lambda value: Leaf(f"{field}: {value}", field))


def pair(values):
    return st.tuples(values, values).map(lambda both: f"[{both[0]}, {both[1]}]")


def text_leaf():
    field = st.sampled_from(TEXT_FIELDS)
    ops = {
        **{op: texts for op in ("eq", "ne", "contains", "not_contains", "starts_with")},
        "ends_with": texts,
        "in": flow_list(texts),
        "not_in": flow_list(texts),
        "is_set": booleans,
    }
    return field.flatmap(
        lambda name: (
            comparisons(name, ops) | shorthand(name, texts) | shorthand(name, flow_list(texts))
        )
    )


def number_leaf(fields: list[str], values):
    ops = {
        **{op: values for op in ("eq", "ne", "gt", "gte", "lt", "lte")},
        "between": pair(values),
        "in": flow_list(values),
        "not_in": flow_list(values),
        "is_set": booleans,
    }
    return st.sampled_from(fields).flatmap(
        lambda name: (
            comparisons(name, ops) | shorthand(name, values) | shorthand(name, flow_list(values))
        )
    )


def date_leaf():
    ops = {
        **{op: date_values for op in ("before", "after", "on", "eq", "ne", "gt", "gte")},
        **{op: date_values for op in ("lt", "lte")},
        "between": pair(date_values),
        "within": durations,
        "is_set": booleans,
    }
    return st.sampled_from(DATE_FIELDS).flatmap(
        lambda name: comparisons(name, ops) | shorthand(name, date_values)
    )


def other_leaf():
    boolean = comparisons(
        "accepts_marketing", {"eq": booleans, "ne": booleans, "is_set": booleans}
    ) | shorthand("accepts_marketing", booleans)
    tag = comparisons(
        "tags",
        {
            "contains": tags,
            "not_contains": tags,
            "contains_any": flow_list(tags),
            "contains_all": flow_list(tags),
            "eq": tags,
            "ne": tags,
            "is_set": booleans,
        },
    ) | shorthand("tags", tags | flow_list(tags))
    custom_values = texts | integers | amounts
    custom = st.sampled_from(["custom.tier", "custom.Note", "custom.missing"]).flatmap(
        lambda name: (
            comparisons(
                name,
                {
                    **{op: custom_values for op in ("eq", "ne", "gt", "gte", "lt", "lte")},
                    **{
                        op: texts for op in ("contains", "not_contains", "starts_with", "ends_with")
                    },
                    "between": pair(custom_values),
                    "in": flow_list(custom_values),
                    "not_in": flow_list(custom_values),
                    "is_set": booleans,
                },
            )
            | shorthand(name, custom_values)
        )
    )
    lifecycle = comparisons(
        "lifecycle",
        {"eq": stages, "ne": stages, "in": flow_list(stages), "not_in": flow_list(stages)},
    ) | shorthand("lifecycle", stages | flow_list(stages))
    return boolean | tag | custom | lifecycle


def counts(values):
    ops = {
        **{op: values for op in ("eq", "ne", "gt", "gte", "lt", "lte")},
        "between": pair(values),
        "in": flow_list(values),
        "not_in": flow_list(values),
    }
    mapping = st.sampled_from(sorted(ops)).flatmap(
        lambda op: st.tuples(spelled(op), ops[op]).map(lambda o: f"{{{o[0]}: {o[1]}}}")
    )
    return values | mapping


PREDICATE_OPTIONS = {
    "purchased": {
        "product": names | flow_list(names),
        "collection": names | flow_list(names),
        "product_type": names,
        "vendor": names,
        "after": date_values,
        "before": date_values,
        "times": counts(st.integers(0, 3).map(str)),
    },
    "reviewed": {
        "product": names | flow_list(names),
        "rating": counts(st.integers(1, 5).map(str)),
        "after": date_values,
        "before": date_values,
    },
    "abandoned_cart": {"after": date_values, "before": date_values},
    "has_order": {
        "status": st.sampled_from(["paid", "Cancelled", "refunded"]),
        "total": counts(amounts),
        "after": date_values,
        "before": date_values,
    },
}


@st.composite
def predicate_leaf(draw):
    word = draw(st.sampled_from([*PREDICATE_OPTIONS, "in_segment"]))
    if word == "in_segment":
        return Leaf(f"in_segment: {draw(st.sampled_from(sorted(BUILTINS)))}", word)
    if draw(st.integers(0, 5)) == 0:
        return Leaf(f"{word}: {draw(booleans)}", word)
    options = PREDICATE_OPTIONS[word]
    chosen = draw(st.lists(st.sampled_from(sorted(options)), max_size=3, unique=True))
    body = ", ".join(f"{key}: {draw(options[key])}" for key in chosen)
    return Leaf(f"{word}: {{{body}}}", word)


valid_leaves = (
    text_leaf()
    | number_leaf(["total_spent", "average_order_value"], amounts)
    | number_leaf(["orders_count", "days_since_last_order"], integers)
    | date_leaf()
    | other_leaf()
    | predicate_leaf()
)


def several(leaves: list[Leaf]):
    """A mapping of several distinct keys (a repeated key is a problem of its own)."""
    distinct = {leaf.key: leaf for leaf in leaves}
    return Several(tuple(distinct.values())) if len(distinct) > 1 else leaves[0]


def trees(leaves):
    return st.recursive(
        leaves,
        lambda children: (
            st.builds(
                Group,
                st.sampled_from(["all", "any", "not"]),
                st.lists(children, min_size=1, max_size=3).map(tuple),
            )
            | st.builds(Negation, children)
            | st.lists(leaves, min_size=2, max_size=3).map(several)
        ),
        max_leaves=8,
    )


# Invalid leaves: each a single mistake and the message it must give.
def _bad(text: str, key: str | None, problem: str) -> Leaf:
    return Leaf(text, key, problem)


BAD_FIELDS = ["total_spend", "orders", "emial", "Country", "custom.", "lifecycles"]
WRONG_OPERATORS = [
    ("country", "gt", "5"),
    ("email", "between", "[a, b]"),
    ("city", "within", "30 days"),
    ("first_name", "contains_any", "[a]"),
    ("total_spent", "contains", "5"),
    ("orders_count", "starts_with", "1"),
    ("average_order_value", "before", "2024-01-01"),
    ("created_at", "contains", "2024"),
    ("last_order_at", "in", "[2024-01-01]"),
    ("accepts_marketing", "gt", "true"),
    ("accepts_marketing", "in", "[true]"),
    ("tags", "gt", "vip"),
    ("tags", "starts_with", "v"),
    ("tags", "in", "[vip]"),
    ("lifecycle", "contains", "prospects"),
    ("lifecycle", "gt", "prospects"),
    ("custom.tier", "within", "30 days"),
    ("custom.tier", "contains_all", "[a]"),
]
UNKNOWN_OPERATORS = ["greater", "equals", "like", "LIKE", "regex", "==", "gt=", "Eq", "<>"]
WRONG_VALUES = [
    # (field, op, value, expected message)
    ("first_name", "contains", '""', "first_name contains: expected non-empty text"),
    ("city", "ends_with", "''", "city ends_with: expected non-empty text"),
    ("country", "eq", "true", "country eq: expected text, got 'true'"),
    ("country", "eq", "null", "country eq: expected text, got 'null'"),
    ("country", "eq", "[NO]", "country eq: expected text, got 'sequence'"),
    ("country", "in", "NO", "country in: expected a list of values, got 'NO'"),
    ("country", "not_in", "[]", "country not_in: expected a list of values"),
    ("orders_count", "gt", "many", "orders_count gt: expected a whole number, got 'many'"),
    ("orders_count", "eq", "2.5", "orders_count eq: expected a whole number, got '2.5'"),
    ("orders_count", "lt", '"3"', "orders_count lt: expected a whole number, got '3'"),
    ("days_since_last_order", "gte", "1e12", "expected a whole number, got '1e12'"),
    ("orders_count", "between", "[1, 2, 3]", "expected a list of two values"),
    ("orders_count", "between", "[1]", "expected a list of two values"),
    ("total_spent", "gt", "lots", "total_spent gt: expected an amount such as 100"),
    ("total_spent", "gt", "1.23456", "expected an amount with at most four decimals"),
    ("total_spent", "lte", "1e13", "expected an amount below a trillion"),
    ("total_spent", "eq", "1_500", "expected an amount such as 100 or 99.95, got '1_500'"),
    ("created_at", "before", "next week", "created_at before: expected"),
    ("created_at", "after", "2024-13-01", "created_at after: expected"),
    ("first_order_at", "on", "31/12/2024", "first_order_at on: expected"),
    ("last_order_at", "gte", "5", "last_order_at gte: expected"),
    ("created_at", "within", "soon", "created_at within: expected a duration"),
    ("created_at", "within", "2024-01-01", "created_at within: expected a duration"),
    ("accepts_marketing", "eq", "yes", "accepts_marketing eq: expected true or false"),
    ("accepts_marketing", "eq", "1", "accepts_marketing eq: expected true or false"),
    ("accepts_marketing", "ne", '"true"', "accepts_marketing ne: expected true or false"),
    ("country", "is_set", "maybe", "country is_set: expected true or false"),
    ("tags", "contains_any", "vip", "tags contains_any: expected a list of values"),
    ("tags", "contains", "[vip]", "tags contains: expected a tag, got 'sequence'"),
    ("lifecycle", "eq", "vip", "'vip' is not a lifecycle stage"),
    ("lifecycle", "in", "[prospects, lost]", "'lost' is not a lifecycle stage"),
]
BAD_PREDICATES = [
    ("purchased: {colection: Winter}", "purchased", "unknown key 'colection' in purchased"),
    ("purchased: {product: P1, time: 2}", "purchased", "unknown key 'time' in purchased"),
    ("reviewed: {stars: 5}", "reviewed", "unknown key 'stars' in reviewed"),
    ("has_order: {amount: 5}", "has_order", "unknown key 'amount' in has_order"),
    ("abandoned_cart: {since: today}", "abandoned_cart", "unknown key 'since' in abandoned_cart"),
    ("purchased: {after: last week}", "purchased", "purchased after: expected"),
    ("abandoned_cart: {before: 2024-02-30}", "abandoned_cart", "abandoned_cart before: expected"),
    ("purchased: {times: many}", "purchased", "purchased.times eq: expected a whole number"),
    (
        "purchased: {times: {approx: 2}}",
        "purchased",
        "unknown operator 'approx' for purchased times",
    ),
    ("purchased: {times: {}}", "purchased", "purchased times: expected a number or a mapping"),
    ("reviewed: {rating: {gt: x}}", "reviewed", "reviewed.rating gt: expected a whole number"),
    ("has_order: {total: 1.23456}", "has_order", "has_order.total eq: expected an amount with"),
    ("purchased: {product: ''}", "purchased", "purchased product: expected a name or a list"),
    ("purchased: {collection: [Winter, [Sale]]}", "purchased", "purchased collection: expected"),
    ("has_order: {status: null}", "has_order", "has_order status: expected a name"),
    ("purchased: P1", "purchased", "purchased : expected a mapping of product"),
    ("reviewed: [5]", "reviewed", "reviewed : expected a mapping of product, rating"),
    ("in_segment: nobody-here", "in_segment", "in_segment: unknown segment 'nobody-here'"),
    ("in_segment: [everyone]", "in_segment", "in_segment name: expected a segment name"),
    ("in_segment: true", "in_segment", "in_segment name: expected a segment name"),
]
BAD_GROUPS = [
    ("all: []", "all", "'all' needs at least one condition"),
    ("any: []", "any", "'any' needs at least one condition"),
    ("not: []", "not", "'not' needs at least one condition"),
    ("any: 5", "any", "'any' takes a list of conditions"),
    ("all: Oslo", "all", "'all' takes a list of conditions"),
    ("country: {}", "country", "no operator given for country"),
    ("{}", None, "empty condition"),
    ("5", None, "expected a condition, got '5'"),
    ("'country: NO'", None, "expected a condition, got 'country: NO'"),
]

invalid_leaves = (
    st.builds(
        lambda field, value: _bad(f"{field}: {value}", field, f"unknown field '{field}'"),
        st.sampled_from(BAD_FIELDS),
        texts,
    )
    | st.sampled_from(WRONG_OPERATORS).map(
        lambda w: _bad(
            f"{w[0]}: {{{w[1]}: {w[2]}}}", w[0], f"operator '{w[1]}' does not apply to {w[0]} ("
        )
    )
    | st.builds(
        lambda field, op: _bad(
            f"{field}: {{{yaml_text(op)}: 1}}", field, f"unknown operator '{op}' for {field}"
        ),
        st.sampled_from(["country", "total_spent", "created_at", "tags", "custom.tier"]),
        st.sampled_from(UNKNOWN_OPERATORS),
    )
    | st.sampled_from(WRONG_VALUES).map(lambda w: _bad(f"{w[0]}: {{{w[1]}: {w[2]}}}", w[0], w[3]))
    | st.sampled_from(BAD_PREDICATES + BAD_GROUPS).map(lambda b: _bad(*b))
)


def lines_of(node, indent: int) -> list[tuple[str, Leaf | None]]:
    """The block-YAML lines of a condition written as a mapping at ``indent``, each with
    the leaf it holds (a leaf is always on one line)."""
    space = " " * indent
    if isinstance(node, Leaf):
        return [(space + node.text, node)]
    if isinstance(node, Several):
        return [(space + leaf.text, leaf) for leaf in node.leaves]
    if isinstance(node, Negation):
        return [(space + "not:", None), *lines_of(node.item, indent + 2)]
    lines = [(space + f"{node.word}:", None)]
    for item in node.items:
        lines += item_lines(item, indent + 2)
    return lines


def item_lines(node, indent: int) -> list[tuple[str, Leaf | None]]:
    """The same condition as a list item: ``- `` before its first line."""
    first, *rest = lines_of(node, indent + 2)
    return [(" " * indent + "- " + first[0].lstrip(), first[1]), *rest]


def segment_text(tree, *, title: str | None = None) -> tuple[str, list[Leaf | None]]:
    lines = [(f"title: {title}", None)] if title is not None else []
    lines += [("criteria:", None), *lines_of(tree, 2)]
    return "\n".join(line for line, _ in lines) + "\n", [leaf for _, leaf in lines]


def leaves_of(node) -> list[Leaf]:
    if isinstance(node, Leaf):
        return [node]
    if isinstance(node, Several):
        return list(node.leaves)
    if isinstance(node, Negation):
        return leaves_of(node.item)
    return [leaf for item in node.items for leaf in leaves_of(item)]


def replace_leaf(node, index: int, bad: Leaf):
    """The tree with its ``index``-th leaf replaced by ``bad``."""
    position = [index]

    def walk(current):
        if isinstance(current, Leaf):
            position[0] -= 1
            return bad if position[0] == -1 else current
        if isinstance(current, Several):
            leaves = tuple(walk(leaf) for leaf in current.leaves)
            if bad in leaves and (bad.key is None or [x.key for x in leaves].count(bad.key) > 1):
                # A bare value cannot share a mapping, and a key may not repeat: alone.
                return Group("all", tuple(leaves))
            return Several(leaves)
        if isinstance(current, Negation):
            return Negation(walk(current.item))
        return Group(current.word, tuple(walk(item) for item in current.items))

    return walk(node)


@pytest.mark.both_engines
@pytest.mark.slow
@fuzz_settings(80)
@given(tree=trees(valid_leaves), title=st.none() | texts)
def test_random_valid_trees_validate_and_calculate(store, everyone, tree, title):
    text, _ = segment_text(tree, title=title)
    path = write_case(store, "tree.yaml", text)
    result = no_crash(store("segment", "validate", path), 0)
    # Values drawn at random may be names the store lacks: warnings, never problems.
    said = [line for line in result.stderr.splitlines() if not line.startswith("warning: ")]
    assert said == ["1 segment file checked: no problems"]
    # Its complement: every condition is two-valued, `not` is the exact complement.
    negated = write_case(store, "not-tree.yaml", segment_text(Negation(tree))[0])
    members, others, total = count_of(store, path, negated, "everyone")
    assert total == everyone
    assert 0 <= members <= everyone
    assert members + others == everyone, text


@pytest.mark.slow
@fuzz_settings(100)
@given(tree=trees(valid_leaves), bad=invalid_leaves, data=st.data())
def test_random_invalid_trees_name_file_line_and_mistake(store, tree, bad, data):
    index = data.draw(st.integers(0, len(leaves_of(tree)) - 1), label="leaf replaced")
    tree = replace_leaf(tree, index, bad)
    text, leaf_of_line = segment_text(tree)
    line = leaf_of_line.index(bad) + 1
    path = write_case(store, "broken.yaml", text)

    validated = no_crash(store("segment", "validate", path), 1)
    assert validated.stdout == ""
    [(where, _, message)] = problem_lines(validated.stderr, path)
    assert where == line and bad.problem in message, (text, validated.stderr)
    assert validated.stderr.endswith("\n1 problem in 1 of 1 file\n")

    calculated = no_crash(store("segment", "calculate", path, "--as-of", AS_OF), 1)
    assert calculated.stdout == ""
    assert calculated.stderr.startswith("Error: 1 problem in segment files:\n")
    assert problem_lines(calculated.stderr, path) == problem_lines(validated.stderr, path)


@pytest.mark.parametrize(
    "top",
    [
        ("critera: {country: NO}", "unknown key 'critera' in a segment file"),
        ("name: Big Spenders", "segment name 'Big Spenders' must be lower-case"),
        ("title: [a, b]", "title must be text"),
        ("description: {a: b}", "description must be text"),
        ("name: everyone", "segment name 'everyone' is already used by a built-in segment"),
    ],
)
def test_invalid_segment_keys_name_file_and_line(store, top):
    written, problem = top
    text = f"criteria: {{country: NO}}\n{written}\n"
    path = write_case(store, "keys.yaml", text)
    result = no_crash(store("segment", "validate", path), 1)
    [(line, _, message)] = problem_lines(result.stderr, path)
    assert problem in message
    # The built-in clash is reported on the file as a whole (its first line).
    assert line == (1 if "already used" in problem else 2)


# Numbers and date-times segcli reads as values of the right kind but that lie beyond
# what decimal arithmetic and the calendar hold: a problem on their line, like any other
# value out of range (`total_spent: 1e13`).
OUT_OF_RANGE = [
    *(
        criteria
        for criteria in (
            "orders_count: {gt: 1e1000000}",
            "days_since_last_order: [1e1000000]",
            "total_spent: 1e1000000",
            "average_order_value: {lt: -1e1000000}",
            "purchased: {times: 1e1000000}",
            "reviewed: {rating: {gte: 1e1000000}}",
            "has_order: {total: 1e1000000}",
        )
    ),
    *(
        criteria
        for criteria in (
            "created_at: {before: 9999-12-31T23:00:00-05:00}",
            "last_order_at: {between: [2024-01-01, 9999-12-31T23:59:59-00:01]}",
            "purchased: {after: 0001-01-01T00:30:00+01:00}",
        )
    ),
    # Within the ranges: already clear problems.
    "orders_count: {gt: 1e999999}",
    "total_spent: 1e13",
    "created_at: {before: 10000-01-01}",
]


@pytest.mark.parametrize("criteria", OUT_OF_RANGE)
def test_values_beyond_decimal_and_calendar_ranges_are_problems(store, criteria):
    path = write_case(store, "range.yaml", f"criteria:\n  {criteria}\n")
    result = no_crash(store("segment", "validate", path), 1)
    [(line, _, message)] = problem_lines(result.stderr, path)
    assert line == 2 and ": expected " in message


# ---------------------------------------------------------------------------------
# 3. Billion laughs: aliases that expand exponentially, in a subprocess under a memory limit


def run_limited(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """segcli in a child process with at most MEMORY_LIMIT of address space."""

    def limit_memory():
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    env = {k: v for k, v in os.environ.items() if k != "SEGCLI_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "segcli", *args],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        preexec_fn=limit_memory,
        cwd=cwd,
        env=env,
    )


def laughs_lists(levels: int = 10, width: int = 9) -> str:
    """The classic: each anchor a list of ``width`` aliases of the one before (width**levels)."""
    lines = ["criteria:", "  any:", "    - &l0 {country: lol}"]
    for level in range(1, levels):
        aliases = ", ".join([f"*l{level - 1}"] * width)
        lines.append(f"    - &l{level} [{aliases}]")
    return "\n".join(lines) + "\n"


def laughs_pairs(levels: int = 64) -> str:
    """Pairs, 64 deep: 2**64 values from a file of 64 short lines."""
    body = ["&p0 [lol, lol]"] + [f"&p{n} [*p{n - 1}, *p{n - 1}]" for n in range(1, levels)]
    return "criteria:\n  any:\n" + "".join(f"    - {item}\n" for item in body)


def laughs_mappings(levels: int = 12) -> str:
    """Mappings of aliases (4**12 values), under a key that is not even the criteria."""
    body = ["&m0 {a: lol, b: lol, c: lol, d: lol}"] + [
        f"&m{level} {{" + ", ".join(f"k{n}: *m{level - 1}" for n in range(4)) + "}"
        for level in range(1, levels)
    ]
    items = "".join(f"  - {item}\n" for item in body)
    return f"name: laughs\ndescription:\n{items}criteria: {{country: NO}}\n"


LAUGHS = {"lists": laughs_lists, "pairs": laughs_pairs, "mappings": laughs_mappings}


def segment_command(store: SegmentStore, *args: str) -> list[str]:
    """Arguments of a `segcli segment` command on the module's store."""
    return ["--db", str(store.segcli.db), "--segments", str(store.segments), "segment", *args]


def assert_refused(result: subprocess.CompletedProcess) -> None:
    """Exit 1 with a message, not a crash, a signal or the boundary's fallback."""
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "unexpected error" not in result.stderr, result.stderr[-2000:]
    assert result.stdout == ""


@pytest.mark.slow
@posix_only
def test_billion_laughs_files_are_refused_quickly_within_a_memory_limit(store):
    paths = [write_case(store, f"laughs-{shape}.yaml", make()) for shape, make in LAUGHS.items()]
    result = run_limited(
        *segment_command(store, "validate", *map(str, paths)), cwd=store.segcli.dir
    )
    assert_refused(result)
    for path in paths:
        assert problem_lines(result.stderr, path) == [
            (
                1,
                1,
                "the document expands to more than 50,000 values (through aliases?); "
                "a segment file is never that large",
            )
        ], result.stderr
    assert result.stderr.endswith("\n3 problems in 3 of 3 files\n")


@pytest.mark.slow
@posix_only
@pytest.mark.parametrize("command", ["calculate", "criteria"])
def test_billion_laughs_to_evaluate_is_refused_within_a_memory_limit(store, command):
    text = laughs_pairs()
    path = write_case(store, "laughs.yaml", text)
    if command == "criteria":
        args = segment_command(store, "calculate", "--criteria", text.partition("criteria:\n")[2])
    else:
        args = segment_command(store, "calculate", str(path), "--as-of", AS_OF)
    result = run_limited(*args, cwd=store.segcli.dir)
    assert_refused(result)
    source = "--criteria" if command == "criteria" else str(path)
    assert result.stderr.startswith("Error: 1 problem in segment files:\n")
    assert f"{source}:1:1: the document expands to more than 50,000 values" in result.stderr


@pytest.mark.both_engines
def test_aliases_small_once_expanded_are_accepted(store):
    """3**6 copies of one condition through aliases: within the limit, and it means what
    the condition alone means."""
    levels = ["&l0 {country: NO}"] + [
        f"&l{n} [*l{n - 1}, *l{n - 1}, *l{n - 1}]" for n in range(1, 7)
    ]
    text = "criteria:\n  all:\n" + "".join(f"    - {item}\n" for item in levels)
    path = write_case(store, "aliased.yaml", text)
    no_crash(store("segment", "validate", path), 0)
    assert count_of(store, path) == count_of(store, criteria="country: NO") == 2


# ---------------------------------------------------------------------------------
# 4. Very deep nesting: thousands of levels of groups and of flow lists


def deep_flow_groups(depth: int) -> str:
    words = ["all", "any", "not"]
    opening = "".join(f"{{{words[n % 3]}: [" for n in range(depth))
    return "criteria: " + opening + "{country: NO}" + "]}" * depth + "\n"


def deep_block_groups(depth: int) -> str:
    words = ["all:", "any:", "not:"]
    lines = ["criteria:"] + [" " * (n + 1) + words[n % 3] for n in range(depth)]
    return "\n".join([*lines, " " * (depth + 1) + "country: NO"]) + "\n"


DEEP = {
    "flow lists": lambda depth: "criteria: " + "[" * depth + "]" * depth + "\n",
    "flow lists with a condition": lambda depth: (
        "criteria: " + "[" * depth + "{country: NO}" + "]" * depth + "\n"
    ),
    "flow mappings": lambda depth: "criteria: " + "{not: " * depth + "x" + "}" * depth + "\n",
    "flow groups": deep_flow_groups,
    "block groups": deep_block_groups,
    "unclosed": lambda depth: "criteria: " + "[{a: " * depth + "\n",
    # Nesting with neither brackets nor line breaks: block sequences and explicit keys
    # opened on one line.
    "compact sequences": lambda depth: "criteria:\n  " + "- " * depth + "x\n",
    "compact keys": lambda depth: "? " * depth + "x\n",
}


# Thousands of levels, in each shape. (PyYAML's scanner is slow on thousands of open flow
# brackets, about 3 s from 2,000 on; 1,500 keeps this quick and still past every limit.)
DEEP_ENOUGH = {
    "flow lists": 1_500,
    "flow lists with a condition": 1_500,
    # libyaml's C recursion overflows from about 50,000 levels: the loader must not use it.
    "flow mappings": 100_000,
    "flow groups": 3_000,
    "block groups": 2_000,
    "unclosed": 1_500,
    "compact sequences": 20_000,
}


@pytest.mark.slow
@posix_only
def test_deep_nesting_in_a_real_process_is_a_clear_message(store):
    """Every shape at thousands of levels, in one child process: a C stack overflowed by
    libyaml would end it with a signal, not a message."""
    paths = {
        shape: write_case(store, f"deep-{n}.yaml", DEEP[shape](depth))
        for n, (shape, depth) in enumerate(DEEP_ENOUGH.items())
    }
    result = run_limited(
        *segment_command(store, "validate", *map(str, paths.values())), cwd=store.segcli.dir
    )
    assert_refused(result)
    for shape, path in paths.items():
        [(line, column, message)] = problem_lines(result.stderr, path)
        assert line >= 1 and column >= 1
        assert "nested more than 100 levels deep" in message or (
            shape == "unclosed" and message.startswith("YAML syntax error")
        ), (shape, message)


@pytest.mark.slow
@posix_only
@pytest.mark.parametrize("shape", ["compact sequences", "compact keys"])
def test_compact_nesting_in_a_real_process_is_a_clear_message(store, shape):
    path = write_case(store, "compact.yaml", DEEP[shape](100_000))
    result = run_limited(
        *segment_command(store, "calculate", str(path), "--as-of", AS_OF), cwd=store.segcli.dir
    )
    assert_refused(result)
    [(_, _, message)] = problem_lines(result.stderr, path)
    assert "nested more than 100 levels deep" in message


@pytest.mark.parametrize("command", ["validate", "calculate", "sql", "show", "criteria"])
def test_deep_nesting_through_every_command_is_a_clear_message(store, command):
    text = "criteria: " + "{not: " * 10_000 + "{country: NO}" + "}" * 10_000 + "\n"
    path = write_case(store, "deep.yaml", text)
    if command == "criteria":
        args = ["calculate", "--criteria", text.partition("criteria: ")[2], "--as-of", AS_OF]
        source = "--criteria"
    else:
        args = [command, str(path), *(["--as-of", AS_OF] if command != "validate" else [])]
        source = str(path)
    result = no_crash(store("segment", *args), 1)
    assert result.stdout == ""
    assert f"{source}:1:1: the document is nested more than 100 levels deep" in result.stderr


# SQLite's parser has a smaller stack than the loader's limit of 100 levels: segcli
# evaluates up to MAX_NESTING groups on a path and refuses deeper ones when it validates.
@pytest.mark.both_engines
def test_nesting_up_to_the_limit_evaluates(store, everyone):
    depth = MAX_NESTING
    text = "criteria: " + "{not: " * depth + "{country: NO}" + "}" * depth + "\n"
    path = write_case(store, "nested.yaml", text)
    no_crash(store("segment", "validate", path), 0)
    norwegians = count_of(store, criteria="country: NO")
    expected = norwegians if depth % 2 == 0 else everyone - norwegians
    assert count_of(store, path) == expected


@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 40, 98])
@pytest.mark.parametrize("command", ["validate", "calculate"])
def test_nesting_past_the_limit_is_a_problem_where_it_passes(store, depth, command):
    text = "criteria: " + "{not: " * depth + "{country: NO}" + "}" * depth + "\n"
    path = write_case(store, "nested.yaml", text)
    args = [command, path, *(["--as-of", AS_OF] if command != "validate" else [])]
    result = no_crash(store("segment", *args), 1)
    [(line, column, message)] = problem_lines(result.stderr, path)
    assert message.startswith(f"conditions nest more than {MAX_NESTING} levels deep here")
    # The (MAX_NESTING + 1)th "not" is where it passes the limit.
    assert (line, column) == (1, len("criteria: ") + len("{not: ") * MAX_NESTING + 2)


def _chain(store, tmp_path, files: int) -> SegmentStore:
    segments = tmp_path / "chain"
    segments.mkdir()
    for n in range(files - 1):
        (segments / f"s{n}.yaml").write_text(f"criteria: {{in_segment: s{n + 1}}}\n")
    (segments / f"s{files - 1}.yaml").write_text("criteria: {country: NO}\n")
    return SegmentStore(store.segcli, segments)


@pytest.mark.both_engines
def test_a_chain_of_in_segment_up_to_the_limit_is_evaluated(store, tmp_path):
    linked = _chain(store, tmp_path, MAX_NESTING + 1)
    result = no_crash(linked("segment", "calculate", "s0", "--as-of", AS_OF, "--format", "json"), 0)
    assert json.loads(result.stdout)[0]["count"] == count_of(store, criteria="country: NO")


@pytest.mark.slow
@pytest.mark.parametrize("files", [MAX_NESTING + 2, 500, 2_000])
def test_a_longer_chain_of_in_segment_is_refused_clearly(store, tmp_path, files):
    linked = _chain(store, tmp_path, files)
    result = no_crash(linked("segment", "calculate", "s0", "--as-of", AS_OF), 1)
    first = result.stderr.splitlines()[1]
    # Reported at the in_segment's value: the first step that leads too deep.
    column = len("criteria: {in_segment: ") + 1
    assert first.startswith(f"{tmp_path / 'chain' / 's0.yaml'}:1:{column}: conditions nest more")
    result = no_crash(linked("segment", "validate"), 1)
    deep = files - MAX_NESTING - 1
    said = f"{deep:,} problem{'s' if deep > 1 else ''} in {deep:,} of {files:,} files\n"
    assert result.stderr.endswith(said), result.stderr


# ---------------------------------------------------------------------------------
# 5. Huge lists


def cities(store) -> dict[str, str]:
    """Customer id → city, as stored."""
    return dict(store.segcli.rows("SELECT customer_id, city FROM people WHERE city IS NOT NULL"))


# A long list reaches SQL as one JSON parameter: a list near the 50,000 values a document
# may hold is exact and quick (as 40,000 parameters it took 9 s a command).
MANY = 40_000


@pytest.mark.both_engines
@pytest.mark.slow
@pytest.mark.parametrize("op", ["in", "not_in"])
def test_in_with_thousands_of_values_is_exact(store, op):
    stored = cities(store)
    real = sorted(set(stored.values()))[:5]
    values = [f"town-{n}" for n in range(MANY - len(real))] + [c.upper() for c in real]
    criteria = f"city: {{{op}: [" + ", ".join(map(yaml_text, values)) + "]}"
    path = write_case(store, "many.yaml", f"criteria:\n  {criteria}\n")
    no_crash(store("segment", "validate", path), 0)
    folded = {fold(value) for value in values}
    expected = {key for key, city in stored.items() if (fold(city) in folded) == (op == "in")}
    assert members_of(store, criteria=criteria) == expected
    if op == "in":
        assert count_of(store, path) == len(expected)


@pytest.mark.both_engines
def test_tags_and_products_with_thousands_of_values(store):
    many = [f"t{n}" for n in range(3_000)]
    tags = "tags: {contains_any: [" + ", ".join([*many, "GOLD"]) + "]}"
    assert members_of(store, criteria=tags) == {"C1"}
    products = "purchased: {product: [" + ", ".join([*many, "sku-1"]) + "]}"
    assert members_of(store, criteria=products) == {"C1"}


@pytest.mark.slow
def test_in_with_100_000_values_is_refused_clearly(store):
    text = "criteria:\n  city: {in: [" + ", ".join(f"c{n}" for n in range(100_000)) + "]}\n"
    path = write_case(store, "huge.yaml", text)
    result = no_crash(store("segment", "calculate", path, "--as-of", AS_OF), 1)
    [(_, _, message)] = problem_lines(result.stderr, path)
    assert message.startswith("the document expands to more than 50,000 values")


@pytest.mark.both_engines
@pytest.mark.slow
@pytest.mark.parametrize(
    ("shape", "size"),
    [
        *[(shape, 500) for shape in ("any", "all", "not list", "custom in")],
        *[(shape, 1_500) for shape in ("any", "all", "not list", "custom in")],
    ],
)
def test_groups_of_thousands_of_conditions_are_exact(store, shape, size):
    stored = cities(store)
    real = sorted(set(stored.values()))[:3]
    values = [f"town-{n}" for n in range(size)] + real
    listed = {fold(value) for value in values}
    if shape == "any":
        text = "any:\n" + "".join(f"  - city: {yaml_text(v)}\n" for v in values)
        expected = {key for key, city in stored.items() if fold(city) in listed}
    elif shape == "all":
        text = "all:\n" + "".join(f"  - city: {{ne: {yaml_text(v)}}}\n" for v in values)
        expected = {key for key, city in stored.items() if fold(city) not in listed}
    elif shape == "not list":
        text = "not:\n" + "".join(f"  - city: {yaml_text(v)}\n" for v in values)
        everybody = members_of(store, criteria="in_segment: everyone")
        expected = everybody - {key for key, city in stored.items() if fold(city) in listed}
    else:
        tiers = dict(store.segcli.rows("SELECT customer_id, custom FROM people"))
        numbers = ", ".join(str(n) for n in range(1_000, 1_000 + size))
        text = f"custom.tier: {{in: [{numbers}, 7]}}"
        expected = {key for key, custom in tiers.items() if json.loads(custom).get("tier") == "7"}
    path = write_case(
        store,
        "thousands.yaml",
        "criteria:\n" + "".join(f"  {line}\n" for line in text.splitlines()),
    )
    no_crash(store("segment", "validate", path), 0)
    assert members_of(store, criteria=text) == expected
    assert count_of(store, path) == len(expected)


# ---------------------------------------------------------------------------------
# 6. Python object tags: refused, and their payload never runs

PAYLOADS = [
    "!!python/object/apply:os.system ['touch {marker}']",
    "!!python/object/apply:builtins.open ['{marker}', 'w']",
    "!!python/object/new:str [!!python/object/apply:os.system ['touch {marker}']]",
    "!!python/object/new:pathlib.Path {{args: ['{marker}']}}",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/object:argparse.Namespace {{marker: '{marker}'}}",
]
# Where in a file the payload goes: {p} is the payload.
PLACES = [
    "criteria:\n  country: {p}\n",
    # In flow collections a space ends the tag: `!!python/name:os.system]` would be a tag.
    "criteria:\n  any:\n    - city: [Oslo, {p} ]\n",
    "criteria:\n  purchased: {{product: {p} }}\n",
    "title: {p}\ncriteria: {{country: NO}}\n",
    "criteria:\n  {p}: NO\n",
    "--- {p}\n",
]


@posix_only
def test_the_payloads_would_run_if_loaded_unsafely(tmp_path):
    """The first three payloads create their marker under PyYAML's unsafe loader: they are
    live, so their marker staying absent below means something."""
    for n, payload in enumerate(PAYLOADS[:3]):
        marker = tmp_path / f"ran-{n}"
        yaml.unsafe_load(payload.format(marker=marker))
        assert marker.exists(), payload


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("payload", PAYLOADS)
def test_python_tags_are_refused_and_never_run(store, tmp_path, payload, place):
    marker = tmp_path / "ran"
    text = place.format(p=payload.format(marker=marker))
    path = write_case(store, "tagged.yaml", text)
    tag = "tag:yaml.org,2002:" + payload.split()[0].removeprefix("!!")
    after = text.partition("criteria:")[2]
    inline = after if "!!" in after else text
    for args in (
        ["validate", path],
        ["calculate", path, "--as-of", AS_OF],
        ["sql", path],
        ["calculate", "--criteria", inline],
    ):
        result = no_crash(store("segment", *args), 1)
        assert result.stdout == ""
        assert f"YAML tag '{tag}" in result.stderr and "is not allowed in segment files" in (
            result.stderr
        ), result.stderr
        source = "--criteria" if "--criteria" in args else str(path)
        problems = problem_lines(result.stderr, Path(source))
        assert any("is not allowed in segment files" in message for *_, message in problems)
        assert not marker.exists()


# ---------------------------------------------------------------------------------
# 7. SQL and LIKE metacharacters in values: bound parameters only, and taken literally


# (field, operator, meaning on the stored text and the value, both folded for case)
TEXT_OPERATORS = {
    "contains": lambda stored, value: value in stored,
    "not_contains": lambda stored, value: value not in stored,
    "starts_with": lambda stored, value: stored.startswith(value),
    "ends_with": lambda stored, value: stored.endswith(value),
    "eq": lambda stored, value: stored == value,
    "ne": lambda stored, value: stored != value,
}
SUBSTRING_OPERATORS = ("contains", "not_contains", "starts_with", "ends_with")


def stored_texts(store) -> dict[str, dict[str, str | None]]:
    """Customer id → each text field as stored (custom.note from the custom column)."""
    texts = {}
    for customer_id, first, last, city, email, custom in store.segcli.rows(
        "SELECT customer_id, first_name, last_name, city, email, custom FROM people"
    ):
        note = json.loads(custom).get("note")
        texts[customer_id] = {
            "first_name": first,
            "last_name": last,
            "city": city,
            "email": email,
            "custom.note": note,
        }
    return texts


# What the people of the store hold (as written to customers.csv; the reference reads the
# database), for values to be drawn from before the store exists.
WRITTEN = sorted(
    {value for person in metacharacter_people() for value in person.values() if value}
    | set(LOOK_ALIKES)
)


@st.composite
def metacharacter_values(draw):
    """Text to compare with: pieces of stored values, some characters turned into LIKE
    wildcards (`a_` for `ax`: the wildcard would match what the literal must not),
    metacharacter soup or anything at all, in any case."""
    whole = draw(st.sampled_from(WRITTEN))
    start = draw(st.integers(0, len(whole)))
    piece = whole[start : draw(st.integers(start, len(whole)))]
    wildcards = "".join(
        draw(st.sampled_from([char, char, "_", "%"])) if char not in "%_" else char
        for char in piece
    )
    value = draw(
        st.sampled_from([piece, whole, wildcards])
        | st.sampled_from(LOOK_ALIKES)
        | st.text(alphabet=METACHARACTERS + "aAbxX05ßſK", max_size=6)
        | st.text(max_size=4)
    )
    return draw(st.sampled_from([value, value.upper(), value.lower(), value.swapcase()]))


def neutral(values: list[str]) -> list[str]:
    """Plain stand-ins with the same pattern of equal (folded) values."""
    order = list(dict.fromkeys(fold(v) for v in values))
    return [f"zz{order.index(fold(v))}" for v in values]


def criteria_for(field: str, op: str, values: list[str]) -> str:
    if op == "in":
        return f"{field}: {{in: [{', '.join(map(yaml_text, values))}]}}"
    return f"{field}: {{{op}: {yaml_text(values[0])}}}"


@pytest.fixture(scope="module")
def texts_before(store):
    """The stored text fields and every table's rows."""
    return stored_texts(store), store.segcli.dump()


TEXT_FIELDS_STORED = ["first_name", "last_name", "city", "email", "custom.note"]


@st.composite
def text_conditions(draw):
    """(field, operator, values): one value, or two for `in`; custom fields compared as
    text only by the substring operators (the others compare numbers as numbers)."""
    field = draw(st.sampled_from(TEXT_FIELDS_STORED))
    ops = SUBSTRING_OPERATORS if field == "custom.note" else [*TEXT_OPERATORS, "in"]
    op = draw(st.sampled_from(ops))
    values = draw(st.lists(metacharacter_values(), min_size=1, max_size=2))
    return field, op, values if op == "in" else values[:1]


@pytest.mark.both_engines
@fuzz_settings(150)
@given(condition=text_conditions())
# LIKE would take `_` and `%` as wildcards (a_b vs axb, 50% vs 500), and SQLite's lower()
# folds only ASCII (Straße vs STRASSE, the long s, the Kelvin sign).
@pytest.mark.slow
@example(condition=("first_name", "starts_with", ["A_"]))
@example(condition=("first_name", "contains", ["%"]))
@example(condition=("custom.note", "contains", ["0%"]))
@example(condition=("city", "ends_with", ["_B"]))
@example(condition=("email", "starts_with", ["a_"]))
@example(condition=("last_name", "not_contains", ["_"]))
@example(condition=("first_name", "eq", ["STRASSE"]))
@example(condition=("first_name", "in", ["s", "k"]))
@example(condition=("first_name", "starts_with", ["\\_"]))
def test_text_operators_take_metacharacters_literally(store, texts_before, condition):
    """Members of `FIELD: {OP: VALUE}` are exactly those the operator's documented meaning
    selects (Python's str operations on case-folded text), whatever VALUE holds; the
    value reaches SQL only as a bound parameter; and no table loses a row."""
    stored, dump = texts_before
    field, op, values = condition
    criteria = criteria_for(field, op, values)

    if op in SUBSTRING_OPERATORS and values[0] == "":
        result = no_crash(store("segment", "export", "--criteria", criteria), 1)
        assert "--criteria:1:" in result.stderr
        assert f"{field} {op}: expected non-empty text, got ''" in result.stderr
        return

    # The query is the same whatever the values; they are among its parameters.
    sql, params = split_sql(
        no_crash(store("segment", "sql", "--criteria", criteria, "--as-of", AS_OF), 0).stdout
    )
    plain = criteria_for(field, op, neutral(values))
    plain_sql, _ = split_sql(
        no_crash(store("segment", "sql", "--criteria", plain, "--as-of", AS_OF), 0).stdout
    )
    assert sql == plain_sql
    for value in values:
        assert fold(value) in params.values(), params

    if op == "in":
        folded = {fold(value) for value in values}

        def holds(text):
            return fold(text) in folded
    else:
        meaning = TEXT_OPERATORS[op]

        def holds(text):
            return meaning(fold(text), fold(values[0]))

    expected = {
        key for key, fields in stored.items() if fields[field] is not None and holds(fields[field])
    }
    assert members_of(store, criteria=criteria) == expected, criteria
    assert store.segcli.dump() == dump


DANGEROUS = [
    "'); DROP TABLE orders; --",
    "'; DELETE FROM people; --",
    "x' OR '1'='1",
    "%",
    "_",
    "%_",
    "\\",
    "\\%",
    '"',
    "'",
    "``",
    "*/ SELECT 1 /*",
    ":p1",
    "?",
    "$1",
]


@pytest.mark.both_engines
def test_sql_shows_dangerous_values_only_as_parameters_and_tables_keep_rows(store, texts_before):
    _, dump = texts_before
    lines = ["criteria:", "  any:"]
    for n, value in enumerate(DANGEROUS):
        field = ["first_name", "last_name", "city", "email", "custom.note"][n % 5]
        op = ["contains", "starts_with", "ends_with", "eq", "not_contains"][n % 5]
        lines.append(f"    - {field}: {{{op}: {yaml_text(value)}}}")
    lines.append(f"    - purchased: {{product: {yaml_text(DANGEROUS[0])}}}")
    lines.append(f"    - has_order: {{status: [{yaml_text(DANGEROUS[1])}]}}")
    lines.append(f"    - tags: {{contains_any: [{yaml_text(DANGEROUS[2])}]}}")
    path = write_case(store, "dangerous.yaml", "\n".join(lines) + "\n")
    result = no_crash(store("segment", "sql", path, "--as-of", AS_OF), 0)
    sql, params = split_sql(result.stdout)
    for value in DANGEROUS:
        assert fold(value) in params.values()
        if len(value) >= 3 and value not in (":p1",):
            assert fold(value) not in sql.casefold(), value
    for statement in ("drop table", "delete from", "or '1'='1"):
        assert statement not in sql.casefold()
    assert count_of(store, path) > 0
    assert store.segcli.dump() == dump
    for table, rows in dump.items():
        assert rows, f"{table} is empty"
