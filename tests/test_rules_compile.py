"""Segment conditions compiled to SQL: inline YAML → the SQL fragment and its parameters.

One row per operator, shorthand and predicate, as of 2024-03-31 (SPEC 3.4, 3.6), then the
promise of SPEC 4: no value of a segment file ever reaches SQL as text.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from segcli.importer.load import ImportOptions, import_file
from segcli.rules import ast
from segcli.rules import compile as compile_module
from segcli.rules.compile import LONG_LIST, Context, as_of_params, compile_condition
from segcli.rules.operators import CUSTOM_PRIMITIVES, OPERATORS, compare_custom, fold, fold_sql
from segcli.rules.parse import parse_criteria_text
from segcli.rules.problems import Pos
from segcli.segments.builtins import BUILTINS
from segcli.segments.evaluate import Evaluation
from segcli.store.db import open_store

AS_OF = date(2024, 3, 31)


def parsed(text: str) -> ast.Condition:
    condition, problems = parse_criteria_text(text)
    assert problems == [], "\n".join(map(str, problems))
    return condition


def compiled(text: str, as_of: date = AS_OF) -> tuple[str, dict]:
    context = Context(as_of=as_of, segments=dict(BUILTINS))
    sql = compile_condition(parsed(text), context)
    return sql, context.params.values


def day(text: str) -> str:
    return f"{text} 00:00:00"


# In the expected SQL below, segcli_fold(x) stands for fold_sql(x): the same fold, with
# SQLite's lower() for ASCII text around the call into Python.
_FOLDED = re.compile(r"segcli_fold\(((?:[^()]|\([^()]*\))*)\)")


def folding(sql: str) -> str:
    """The SQL with each segcli_fold(x) written as compile writes it: a custom field's JSON
    may hold numbers, which take the Python path."""
    return _FOLDED.sub(
        lambda match: fold_sql(match[1], numbers=match[1].startswith("json_extract(f.custom")),
        sql,
    )


# (YAML, SQL, parameters)
COMPARE_ROWS = [
    # text: folded for case on both sides
    ("country: {eq: NO}", "coalesce((segcli_fold(f.country) = :p1), 0)", {"p1": "no"}),
    ("country: {'=': NO}", "coalesce((segcli_fold(f.country) = :p1), 0)", {"p1": "no"}),
    ("country: {ne: NO}", "coalesce((segcli_fold(f.country) != :p1), 0)", {"p1": "no"}),
    ("country: {'!=': NO}", "coalesce((segcli_fold(f.country) != :p1), 0)", {"p1": "no"}),
    (
        "country: {in: [NO, se, No]}",
        "coalesce((segcli_fold(f.country) IN (:p1, :p2)), 0)",
        {"p1": "no", "p2": "se"},
    ),
    (
        "country: {not_in: [NO, SE]}",
        "coalesce((segcli_fold(f.country) NOT IN (:p1, :p2)), 0)",
        {"p1": "no", "p2": "se"},
    ),
    (
        "email: {contains: '@Gmail.'}",
        "coalesce((instr(segcli_fold(f.email), :p1) > 0), 0)",
        {"p1": "@gmail."},
    ),
    (
        "email: {not_contains: test}",
        "coalesce((instr(segcli_fold(f.email), :p1) = 0), 0)",
        {"p1": "test"},
    ),
    (
        "last_name: {starts_with: Mc}",
        "coalesce((instr(segcli_fold(f.last_name), :p1) = 1), 0)",
        {"p1": "mc"},
    ),
    (
        "email_domain: {ends_with: .DE}",
        "coalesce((substr(segcli_fold(f.email_domain), -length(:p1)) = :p1), 0)",
        {"p1": ".de"},
    ),
    ("city: {is_set: true}", "coalesce(((f.city IS NOT NULL) = :p1), 0)", {"p1": 1}),
    ("city: {is_set: false}", "coalesce(((f.city IS NOT NULL) = :p1), 0)", {"p1": 0}),
    ("first_name: Straße", "coalesce((segcli_fold(f.first_name) = :p1), 0)", {"p1": "strasse"}),
    (
        "customer_id: [C1, C2]",
        "coalesce((segcli_fold(f.customer_id) IN (:p1, :p2)), 0)",
        {"p1": "c1", "p2": "c2"},
    ),
    # money: exact integers of ten-thousandths
    ("total_spent: {eq: 500.0001}", "coalesce((f.total_spent = :p1), 0)", {"p1": 5000001}),
    ("total_spent: 500.0001", "coalesce((f.total_spent = :p1), 0)", {"p1": 5000001}),
    ("total_spent: {ne: 0}", "coalesce((f.total_spent != :p1), 0)", {"p1": 0}),
    ("total_spent: {gt: 500}", "coalesce((f.total_spent > :p1), 0)", {"p1": 5000000}),
    ("total_spent: {'>': 500}", "coalesce((f.total_spent > :p1), 0)", {"p1": 5000000}),
    ("total_spent: {gte: -5.25}", "coalesce((f.total_spent >= :p1), 0)", {"p1": -52500}),
    ("total_spent: {'>=': -5.25}", "coalesce((f.total_spent >= :p1), 0)", {"p1": -52500}),
    ("total_spent: {lt: 0.0001}", "coalesce((f.total_spent < :p1), 0)", {"p1": 1}),
    ("total_spent: {'<': 0.0001}", "coalesce((f.total_spent < :p1), 0)", {"p1": 1}),
    ("total_spent: {lte: 1e2}", "coalesce((f.total_spent <= :p1), 0)", {"p1": 1000000}),
    ("total_spent: {'<=': 100}", "coalesce((f.total_spent <= :p1), 0)", {"p1": 1000000}),
    (
        "total_spent: {between: [100, 200.5]}",
        "coalesce((f.total_spent BETWEEN :p1 AND :p2), 0)",
        {"p1": 1000000, "p2": 2005000},
    ),
    (
        "total_spent: {in: [10, 20]}",
        "coalesce((f.total_spent IN (:p1, :p2)), 0)",
        {"p1": 100000, "p2": 200000},
    ),
    (
        "total_spent: [10, 20]",
        "coalesce((f.total_spent IN (:p1, :p2)), 0)",
        {"p1": 100000, "p2": 200000},
    ),
    ("total_spent: {not_in: [10]}", "coalesce((f.total_spent NOT IN (:p1)), 0)", {"p1": 100000}),
    ("total_spent: {is_set: true}", "coalesce(((f.total_spent IS NOT NULL) = :p1), 0)", {"p1": 1}),
    # average_order_value: total_spent OP value × orders_count, never a division
    (
        "average_order_value: {gt: 33.3333}",
        "coalesce((f.orders_count > 0 AND f.total_spent > (:p1 * f.orders_count)), 0)",
        {"p1": 333333},
    ),
    (
        "average_order_value: {between: [10, 20]}",
        "coalesce((f.orders_count > 0 AND f.total_spent BETWEEN (:p1 * f.orders_count) "
        "AND (:p2 * f.orders_count)), 0)",
        {"p1": 100000, "p2": 200000},
    ),
    (
        "average_order_value: [10, 20]",
        "coalesce((f.orders_count > 0 AND f.total_spent IN ((:p1 * f.orders_count), "
        "(:p2 * f.orders_count))), 0)",
        {"p1": 100000, "p2": 200000},
    ),
    (
        "average_order_value: {ne: 10}",
        "coalesce((f.orders_count > 0 AND f.total_spent != (:p1 * f.orders_count)), 0)",
        {"p1": 100000},
    ),
    (
        "average_order_value: {is_set: true}",
        "coalesce(((nullif(f.orders_count, 0) IS NOT NULL) = :p1), 0)",
        {"p1": 1},
    ),
    # integers
    ("orders_count: {gte: 2}", "coalesce((f.orders_count >= :p1), 0)", {"p1": 2}),
    ("orders_count: 0", "coalesce((f.orders_count = :p1), 0)", {"p1": 0}),
    ("orders_count: [1, 2]", "coalesce((f.orders_count IN (:p1, :p2)), 0)", {"p1": 1, "p2": 2}),
    (
        "days_since_last_order: {between: [30, 60]}",
        "coalesce((f.days_since_last_order BETWEEN :p1 AND :p2), 0)",
        {"p1": 30, "p2": 60},
    ),
    (
        "days_since_last_order: {not_in: [0]}",
        "coalesce((f.days_since_last_order NOT IN (:p1)), 0)",
        {"p1": 0},
    ),
    # booleans
    ("accepts_marketing: true", "coalesce((f.accepts_marketing = :p1), 0)", {"p1": 1}),
    ("accepts_marketing: {ne: false}", "coalesce((f.accepts_marketing != :p1), 0)", {"p1": 0}),
    # tags: list membership, folded
    (
        "tags: {contains: VIP}",
        "coalesce((EXISTS (SELECT 1 FROM json_each(f.tags) AS tag "
        "WHERE segcli_fold(tag.value) IN (:p1))), 0)",
        {"p1": "vip"},
    ),
    (
        "tags: VIP",
        "coalesce((EXISTS (SELECT 1 FROM json_each(f.tags) AS tag "
        "WHERE segcli_fold(tag.value) IN (:p1))), 0)",
        {"p1": "vip"},
    ),
    (
        "tags: [vip, Gold]",
        "coalesce((EXISTS (SELECT 1 FROM json_each(f.tags) AS tag "
        "WHERE segcli_fold(tag.value) IN (:p1, :p2))), 0)",
        {"p1": "vip", "p2": "gold"},
    ),
    (
        "tags: {contains_any: [vip, Gold]}",
        "coalesce((EXISTS (SELECT 1 FROM json_each(f.tags) AS tag "
        "WHERE segcli_fold(tag.value) IN (:p1, :p2))), 0)",
        {"p1": "vip", "p2": "gold"},
    ),
    (
        "tags: {contains_all: [vip, Gold, VIP]}",
        "coalesce(((SELECT count(DISTINCT segcli_fold(tag.value)) FROM json_each(f.tags) AS tag "
        "WHERE segcli_fold(tag.value) IN (:p1, :p2)) = 2), 0)",
        {"p1": "vip", "p2": "gold"},
    ),
    (
        "tags: {not_contains: staff}",
        "coalesce((NOT EXISTS (SELECT 1 FROM json_each(f.tags) AS tag "
        "WHERE segcli_fold(tag.value) IN (:p1))), 0)",
        {"p1": "staff"},
    ),
    (
        "tags: {eq: vip}",
        "coalesce(((SELECT count(DISTINCT segcli_fold(tag.value)) FROM json_each(f.tags) AS tag)"
        " = 1 AND (SELECT count(DISTINCT segcli_fold(tag.value)) FROM json_each(f.tags) AS tag "
        "WHERE segcli_fold(tag.value) IN (:p1)) = 1), 0)",
        {"p1": "vip"},
    ),
    (
        "tags: {ne: vip}",
        "coalesce((NOT ((SELECT count(DISTINCT segcli_fold(tag.value)) FROM json_each(f.tags) "
        "AS tag) = 1 AND (SELECT count(DISTINCT segcli_fold(tag.value)) FROM json_each(f.tags) "
        "AS tag WHERE segcli_fold(tag.value) IN (:p1)) = 1)), 0)",
        {"p1": "vip"},
    ),
    (
        "tags: {is_set: true}",
        "coalesce(((json_array_length(f.tags) > 0) = :p1), 0)",
        {"p1": 1},
    ),
    # custom fields: the JSON path is a parameter too; segcli_compare compares with a
    # number (as numbers when the field holds one); against text alone, text is compared
    (
        "custom.Size: {eq: 10}",
        "coalesce((segcli_compare(json_extract(f.custom, :p1), :p2) = 0), 0)",
        {"p1": '$."size"', "p2": "10"},
    ),
    (
        "custom.size: 10.50",
        "coalesce((segcli_compare(json_extract(f.custom, :p1), :p2) = 0), 0)",
        {"p1": '$."size"', "p2": "10.50"},
    ),
    (
        "custom.size: {ne: ABC}",
        "coalesce((segcli_fold(json_extract(f.custom, :p1)) != :p2), 0)",
        {"p1": '$."size"', "p2": "abc"},
    ),
    (
        "custom.size: {gt: abc}",
        "coalesce((segcli_fold(json_extract(f.custom, :p1)) > :p2), 0)",
        {"p1": '$."size"', "p2": "abc"},
    ),
    (
        "custom.size: {in: [S, 10]}",
        "coalesce(((segcli_compare(json_extract(f.custom, :p1), :p2) = 0 OR "
        "segcli_compare(json_extract(f.custom, :p1), :p3) = 0)), 0)",
        {"p1": '$."size"', "p2": "S", "p3": "10"},
    ),
    (
        "custom.size: {gt: 9.5}",
        "coalesce((segcli_compare(json_extract(f.custom, :p1), :p2) > 0), 0)",
        {"p1": '$."size"', "p2": "9.5"},
    ),
    (
        "custom.size: {gte: 9.5}",
        "coalesce((segcli_compare(json_extract(f.custom, :p1), :p2) >= 0), 0)",
        {"p1": '$."size"', "p2": "9.5"},
    ),
    (
        "custom.size: {lt: 9.5}",
        "coalesce((segcli_compare(json_extract(f.custom, :p1), :p2) < 0), 0)",
        {"p1": '$."size"', "p2": "9.5"},
    ),
    (
        "custom.size: {lte: 9.5}",
        "coalesce((segcli_compare(json_extract(f.custom, :p1), :p2) <= 0), 0)",
        {"p1": '$."size"', "p2": "9.5"},
    ),
    (
        "custom.size: {between: [1, 2]}",
        "coalesce(((segcli_compare(json_extract(f.custom, :p1), :p2) >= 0 AND "
        "segcli_compare(json_extract(f.custom, :p1), :p3) <= 0)), 0)",
        {"p1": '$."size"', "p2": "1", "p3": "2"},
    ),
    (
        "custom.size: {in: [S, M, s]}",
        "coalesce((segcli_fold(json_extract(f.custom, :p1)) IN (:p2, :p3)), 0)",
        {"p1": '$."size"', "p2": "s", "p3": "m"},
    ),
    (
        "custom.size: {not_in: [S, M]}",
        "coalesce((segcli_fold(json_extract(f.custom, :p1)) NOT IN (:p2, :p3)), 0)",
        {"p1": '$."size"', "p2": "s", "p3": "m"},
    ),
    (
        "custom.size: {not_in: [S, 10]}",
        "coalesce(((json_extract(f.custom, :p1) IS NOT NULL AND NOT ("
        "segcli_compare(json_extract(f.custom, :p1), :p2) = 0 OR "
        "segcli_compare(json_extract(f.custom, :p1), :p3) = 0))), 0)",
        {"p1": '$."size"', "p2": "S", "p3": "10"},
    ),
    (
        "custom.note: {contains: Gift}",
        "coalesce((instr(segcli_fold(json_extract(f.custom, :p1)), :p2) > 0), 0)",
        {"p1": '$."note"', "p2": "gift"},
    ),
    (
        "custom.note: {not_contains: Gift}",
        "coalesce((instr(segcli_fold(json_extract(f.custom, :p1)), :p2) = 0), 0)",
        {"p1": '$."note"', "p2": "gift"},
    ),
    (
        "custom.note: {starts_with: Gift}",
        "coalesce((instr(segcli_fold(json_extract(f.custom, :p1)), :p2) = 1), 0)",
        {"p1": '$."note"', "p2": "gift"},
    ),
    (
        "custom.note: {ends_with: Wrap}",
        "coalesce((substr(segcli_fold(json_extract(f.custom, :p1)), -length(:p2)) = :p2), 0)",
        {"p1": '$."note"', "p2": "wrap"},
    ),
    (
        "custom.note: {is_set: true}",
        "coalesce(((json_extract(f.custom, :p1) IS NOT NULL) = :p2), 0)",
        {"p1": '$."note"', "p2": 1},
    ),
    # lifecycle
    ("lifecycle: Prospects", "coalesce((segcli_fold(f.lifecycle) = :p1), 0)", {"p1": "prospects"}),
    (
        "lifecycle: [prospects, unengaged]",
        "coalesce((segcli_fold(f.lifecycle) IN (:p1, :p2)), 0)",
        {"p1": "prospects", "p2": "unengaged"},
    ),
    # dates: a day is its whole UTC day (SPEC 3.6)
    (
        "created_at: {before: 2024-03-01}",
        "coalesce((f.created_at < :p1), 0)",
        {"p1": day("2024-03-01")},
    ),
    (
        "created_at: {lt: 2024-03-01}",
        "coalesce((f.created_at < :p1), 0)",
        {"p1": day("2024-03-01")},
    ),
    (
        "created_at: {after: 2024-03-01}",
        "coalesce((f.created_at >= :p1), 0)",
        {"p1": day("2024-03-02")},
    ),
    (
        "created_at: {gt: 2024-03-01}",
        "coalesce((f.created_at >= :p1), 0)",
        {"p1": day("2024-03-02")},
    ),
    (
        "created_at: {on: 2024-03-01}",
        "coalesce(((f.created_at >= :p1 AND f.created_at < :p2)), 0)",
        {"p1": day("2024-03-01"), "p2": day("2024-03-02")},
    ),
    (
        "created_at: {eq: 2024-03-01}",
        "coalesce(((f.created_at >= :p1 AND f.created_at < :p2)), 0)",
        {"p1": day("2024-03-01"), "p2": day("2024-03-02")},
    ),
    (
        "created_at: 2024-03-01",
        "coalesce(((f.created_at >= :p1 AND f.created_at < :p2)), 0)",
        {"p1": day("2024-03-01"), "p2": day("2024-03-02")},
    ),
    (
        "created_at: {ne: 2024-03-01}",
        "coalesce(((f.created_at < :p1 OR f.created_at >= :p2)), 0)",
        {"p1": day("2024-03-01"), "p2": day("2024-03-02")},
    ),
    (
        "created_at: {lte: 2024-03-01}",
        "coalesce((f.created_at < :p1), 0)",
        {"p1": day("2024-03-02")},
    ),
    (
        "created_at: {gte: 2024-03-01}",
        "coalesce((f.created_at >= :p1), 0)",
        {"p1": day("2024-03-01")},
    ),
    (
        "created_at: {between: [2024-03-01, 2024-03-05]}",
        "coalesce(((f.created_at >= :p1 AND f.created_at < :p2)), 0)",
        {"p1": day("2024-03-01"), "p2": day("2024-03-06")},
    ),
    (
        "created_at: {within: 30 days}",
        "coalesce((f.created_at >= :p1), 0)",
        {"p1": day("2024-03-02")},
    ),
    ("created_at: {is_set: false}", "coalesce(((f.created_at IS NOT NULL) = :p1), 0)", {"p1": 0}),
    # a date-time is an instant; `on` and `ne` still mean its UTC day
    (
        "last_order_at: {before: '2024-03-01T18:00:00+02:00'}",
        "coalesce((f.last_order_at < :p1), 0)",
        {"p1": "2024-03-01 16:00:00"},
    ),
    (
        "last_order_at: {lt: '2024-03-01T18:00:00+02:00'}",
        "coalesce((f.last_order_at < :p1), 0)",
        {"p1": "2024-03-01 16:00:00"},
    ),
    (
        "last_order_at: {after: '2024-03-01T18:00:00+02:00'}",
        "coalesce((f.last_order_at > :p1), 0)",
        {"p1": "2024-03-01 16:00:00"},
    ),
    (
        "last_order_at: {gt: '2024-03-01T18:00:00+02:00'}",
        "coalesce((f.last_order_at > :p1), 0)",
        {"p1": "2024-03-01 16:00:00"},
    ),
    (
        "last_order_at: {on: '2024-03-01T01:00:00+02:00'}",
        "coalesce(((f.last_order_at >= :p1 AND f.last_order_at < :p2)), 0)",
        {"p1": day("2024-02-29"), "p2": day("2024-03-01")},
    ),
    (
        "last_order_at: {ne: '2024-03-01T18:00:00+02:00'}",
        "coalesce(((f.last_order_at < :p1 OR f.last_order_at >= :p2)), 0)",
        {"p1": day("2024-03-01"), "p2": day("2024-03-02")},
    ),
    (
        "last_order_at: {lte: '2024-03-01T18:00:00+02:00'}",
        "coalesce((f.last_order_at <= :p1), 0)",
        {"p1": "2024-03-01 16:00:00"},
    ),
    (
        "last_order_at: {gte: '2024-03-01T18:00:00Z'}",
        "coalesce((f.last_order_at >= :p1), 0)",
        {"p1": "2024-03-01 18:00:00"},
    ),
    (
        "last_order_at: {between: ['2024-03-01T18:00:00', '2024-03-05T06:30:00Z']}",
        "coalesce(((f.last_order_at >= :p1 AND f.last_order_at <= :p2)), 0)",
        {"p1": "2024-03-01 18:00:00", "p2": "2024-03-05 06:30:00"},
    ),
    (
        "first_order_at: {between: ['2024-03-01T18:00:00', 2024-03-05]}",
        "coalesce(((f.first_order_at >= :p1 AND f.first_order_at < :p2)), 0)",
        {"p1": "2024-03-01 18:00:00", "p2": day("2024-03-06")},
    ),
]


@pytest.mark.parametrize(("text", "sql", "params"), COMPARE_ROWS, ids=[r[0] for r in COMPARE_ROWS])
def test_compare(text, sql, params):
    assert compiled(text) == (folding(sql), params)


# (YAML, fragments the SQL has, fragments it must not have, parameters)
PREDICATE_ROWS = [
    # Naming no product, purchased is read from the person's counted-order facts.
    ("purchased: true", ["coalesce((f.orders_count > 0), 0)"], ["orders o", "items"], {}),
    ("purchased: false", ["(NOT coalesce((f.orders_count > 0), 0))"], ["orders o"], {}),
    (
        "purchased: {after: 2024-03-01}",
        ["coalesce((f.last_order_at >= :p1), 0)"],
        ["orders o"],
        {"p1": day("2024-03-02")},
    ),
    (
        "purchased: {before: '2024-03-10T12:00:00+01:00'}",
        ["coalesce((f.first_order_at < :p1), 0)"],
        ["orders o"],
        {"p1": "2024-03-10 11:00:00"},
    ),
    (
        "purchased: {times: {between: [0, 1]}}",
        ["coalesce((f.orders_count BETWEEN :p1 AND :p2), 0)"],
        ["orders o"],
        {"p1": 0, "p2": 1},
    ),
    (
        # A window with both ends, or times in a window, needs the orders themselves.
        "purchased: {times: 2, after: 2024-03-01}",
        ["FROM orders o", "o.counted = 1", "o.created_at >= :p1", "HAVING count(*) = :p2"],
        ["f.orders_count"],
        {"p1": day("2024-03-02"), "p2": 2},
    ),
    (
        "purchased: {product: [P1, p1, SKU-2]}",
        ["o.counted = 1", "FROM items i", "segcli_fold(value) IN (:p1, :p2)", "FROM products"],
        [],
        {"p1": "p1", "p2": "sku-2"},
    ),
    (
        "purchased: {collection: Summer Sale}",
        ["i.collection IN", "product_collections pc", "segcli_fold(pc.collection) IN (:p1)"],
        [],
        {"p1": "summer sale"},
    ),
    (
        "purchased: {product_type: Shoes}",
        ["FROM products WHERE segcli_fold(product_type) IN (:p1)"],
        [],
        {"p1": "shoes"},
    ),
    (
        "purchased: {vendor: [Acme, ACME]}",
        ["FROM products WHERE segcli_fold(vendor) IN (:p1)"],
        [],
        {"p1": "acme"},
    ),
    (
        "purchased: {after: 2024-03-01, before: '2024-03-10T12:00:00+01:00'}",
        ["FROM orders o", "o.created_at >= :p1", "o.created_at < :p2"],
        ["f.last_order_at", "f.first_order_at"],
        {"p1": day("2024-03-02"), "p2": "2024-03-10 11:00:00"},
    ),
    (
        "purchased: {after: '2024-03-01T12:00:00', before: 2024-03-10}",
        ["o.created_at > :p1", "o.created_at < :p2"],
        [],
        {"p1": "2024-03-01 12:00:00", "p2": day("2024-03-10")},
    ),
    (
        # Numbers of orders counted for everyone at once, grouped by person.
        "purchased: {times: {gte: 2}, product: P1}",
        [
            "coalesce(f.person_id IN (SELECT o.person_id FROM orders o",
            "GROUP BY o.person_id HAVING count(*) >= :p2), 0)",
        ],
        ["o.person_id = f.person_id"],
        {"p1": "p1", "p2": 2},
    ),
    (
        # Holds for people with no matching order: everyone but those whose number fails.
        "purchased: {times: 0, product: P1}",
        [
            "coalesce(f.person_id NOT IN (SELECT o.person_id FROM orders o",
            "GROUP BY o.person_id HAVING NOT (count(*) = :p2)), 0)",
        ],
        ["o.person_id = f.person_id"],
        {"p1": "p1", "p2": 0},
    ),
    (
        "purchased: {times: {lte: 1}, vendor: Acme}",
        ["f.person_id NOT IN (", "HAVING NOT (count(*) <= :p2)"],
        [],
        {"p1": "acme", "p2": 1},
    ),
    (
        "purchased: {times: {between: [2, 3], ne: 4}, collection: Sale}",
        ["f.person_id IN (", "HAVING count(*) BETWEEN :p2 AND :p3 AND count(*) != :p4)"],
        ["NOT IN"],
        {"p1": "sale", "p2": 2, "p3": 3, "p4": 4},
    ),
    (
        "purchased: {times: {between: [0, 3], ne: 4}, product_type: Hats}",
        ["f.person_id NOT IN (", "HAVING NOT (count(*) BETWEEN :p2 AND :p3 AND count(*) != :p4)"],
        [],
        {"p1": "hats", "p2": 0, "p3": 3, "p4": 4},
    ),
    (
        "reviewed: {product: P1, rating: {lte: 2}, after: -1m}",
        [
            "FROM reviews r",
            "(r.created_at IS NULL OR r.created_at < :as_of_end)",
            "r.rating <= :p2",
            "r.created_at >= :p3",
        ],
        [],
        {"p1": "p1", "p2": 2, "p3": day("2024-03-01")},
    ),
    (
        "reviewed: {rating: 5}",
        ["r.rating = :p1"],
        [],
        {"p1": 5},
    ),
    (
        "reviewed: {rating: {in: [1, 2]}}",
        ["r.rating IN (:p1, :p2)"],
        [],
        {"p1": 1, "p2": 2},
    ),
    (
        "abandoned_cart: {after: -3m, before: -1w}",
        ["FROM carts k", "k.created_at < :as_of_end", "k.created_at >= :p1", "k.created_at < :p2"],
        [],
        {"p1": day("2024-01-01"), "p2": day("2024-03-24")},
    ),
    (
        "abandoned_cart: true",
        ["FROM carts k", "k.created_at < :as_of_end"],
        ["(NOT "],
        {},
    ),
    (
        "abandoned_cart: false",
        ["(NOT coalesce(f.person_id IN (SELECT DISTINCT k.person_id FROM carts k"],
        [],
        {},
    ),
    (
        "has_order: {status: [Refunded, voided], total: {gte: 99.95}, "
        "after: '2024-03-01T00:00:00-05:00'}",
        [
            "FROM orders o",
            "o.created_at < :as_of_end",
            folding("segcli_fold(o.status) IN (:p1, :p2)"),
            "o.total >= :p3",
            "o.created_at > :p4",
        ],
        # Orders of any status: not only counted ones. After a date: found by its index.
        ["counted", "NOT INDEXED", "+o.created_at"],
        {"p1": "refunded", "p2": "voided", "p3": 999500, "p4": "2024-03-01 05:00:00"},
    ),
    (
        # No lower bound: most orders, so the table is read, not walked through an index.
        "has_order: {status: pending, total: {gte: 100}, before: -1w}",
        [
            "FROM orders o NOT INDEXED WHERE",
            "+o.created_at < :as_of_end",
            "+o.created_at < :p3",
        ],
        [],
        {"p1": "pending", "p2": 1_000_000, "p3": day("2024-03-24")},
    ),
    (
        # Only dates: the (person, date) index holds all that is asked.
        "has_order: {before: -1w}",
        ["FROM orders o WHERE", "+o.created_at < :p1"],
        ["NOT INDEXED"],
        {"p1": day("2024-03-24")},
    ),
    (
        # A purchase before a date: the matching lines find the orders, not the date.
        "purchased: {product: P1, before: 2024-01-01}",
        ["+o.created_at < :p1", "o.order_id IN (SELECT i.order_id FROM items i"],
        ["EXISTS"],
        {"p1": day("2024-01-01"), "p2": "p1"},
    ),
    (
        "has_order: {total: -0.0001}",
        ["o.total = :p1"],
        ["counted"],
        {"p1": -1},
    ),
    (
        "has_order: {total: {between: [1, 2.5]}}",
        ["o.total BETWEEN :p1 AND :p2"],
        [],
        {"p1": 10000, "p2": 25000},
    ),
]


@pytest.mark.parametrize(
    ("text", "present", "absent", "params"), PREDICATE_ROWS, ids=[r[0] for r in PREDICATE_ROWS]
)
def test_predicate(text, present, absent, params):
    sql, values = compiled(text)
    assert values == params
    for fragment in present:
        assert fragment in sql
    for fragment in absent:
        assert fragment not in sql


GROUP_ROWS = [
    (
        "{country: NO, orders_count: {gte: 2}}",
        "(coalesce((segcli_fold(f.country) = :p1), 0) AND coalesce((f.orders_count >= :p2), 0))",
        {"p1": "no", "p2": 2},
    ),
    (
        "- country: NO\n- city: Oslo\n",
        "(coalesce((segcli_fold(f.country) = :p1), 0) AND "
        "coalesce((segcli_fold(f.city) = :p2), 0))",
        {"p1": "no", "p2": "oslo"},
    ),
    (
        "any: [{country: NO}, {city: Oslo}]",
        "(coalesce((segcli_fold(f.country) = :p1), 0) OR coalesce((segcli_fold(f.city) = :p2), 0))",
        {"p1": "no", "p2": "oslo"},
    ),
    (
        "not: {country: NO}",
        "(NOT coalesce((segcli_fold(f.country) = :p1), 0))",
        {"p1": "no"},
    ),
    (
        "not: [{country: NO}, {city: Oslo}]",
        "(NOT (coalesce((segcli_fold(f.country) = :p1), 0) OR "
        "coalesce((segcli_fold(f.city) = :p2), 0)))",
        {"p1": "no", "p2": "oslo"},
    ),
    (
        "total_spent: {gte: 100, lt: 500}",
        "(coalesce((f.total_spent >= :p1), 0) AND coalesce((f.total_spent < :p2), 0))",
        {"p1": 1000000, "p2": 5000000},
    ),
    # in_segment compiles the other segment's condition in place.
    (
        "in_segment: first-time-buyers",
        "coalesce((segcli_fold(f.lifecycle) = :p1), 0)",
        {"p1": "first-time-buyers"},
    ),
    ("in_segment: repeat-customers", "coalesce((f.orders_count >= :p1), 0)", {"p1": 2}),
    ("in_segment: everyone", "1", {}),
]


@pytest.mark.parametrize(("text", "sql", "params"), GROUP_ROWS, ids=[r[0] for r in GROUP_ROWS])
def test_group(text, sql, params):
    assert compiled(text) == (folding(sql), params)


ALL_ROWS = [row[0] for row in COMPARE_ROWS + PREDICATE_ROWS + GROUP_ROWS]


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory):
    """An empty store's facts, to run every compiled fragment against."""
    store = open_store(tmp_path_factory.mktemp("empty") / "store.db")
    return Evaluation(store, AS_OF, dict(BUILTINS))


@pytest.mark.parametrize("text", ALL_ROWS)
def test_compiled_sql_runs(evaluation, text):
    """Every fragment is valid SQL over the facts, with exactly its parameters."""
    segment = ast.Segment("probe", "Probe", "", parsed(text), "--criteria")
    assert list(evaluation.members(segment)) == []
    assert evaluation.figures(segment).members == 0


@pytest.mark.parametrize("text", ALL_ROWS)
def test_sql_never_asks_for_now(text):
    sql, _ = compiled(text)
    assert not re.search(r"now|current_(date|time)|localtime|julianday\(\)", sql, re.IGNORECASE)


# ---------------------------------------------------------------------------------
# Values never reach SQL as text (SPEC 4)

DANGEROUS = [
    "'); DROP TABLE orders; --",
    "50%_off",
    "%",
    "_",
    "a'b",
    'say "hi"',
    "back\\slash",
    ":p1",
    "?",
    "*/ SELECT 1 /*",
    "x' OR '1'='1",
]

# Templates with {v} where a value goes; each is a condition that takes text.
TEMPLATES = [
    "country: {v}",
    "country: {{ne: {v}}}",
    "country: [{v}, other]",
    "email: {{contains: {v}}}",
    "first_name: {{not_contains: {v}}}",
    "last_name: {{starts_with: {v}}}",
    "email_domain: {{ends_with: {v}}}",
    "tags: {v}",
    "tags: {{contains_all: [{v}, vip]}}",
    "custom.note: {v}",
    "custom.note: {{gt: {v}}}",
    "custom.note: {{contains: {v}}}",
    "purchased: {{product: {v}}}",
    "purchased: {{collection: [{v}]}}",
    "purchased: {{product_type: {v}, vendor: {v}}}",
    "reviewed: {{product: {v}}}",
    "has_order: {{status: {v}}}",
]


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.mark.parametrize("value", DANGEROUS)
@pytest.mark.parametrize("template", TEMPLATES)
def test_values_are_only_parameters(template, value):
    sql, params = compiled(template.format(v=_quoted(value)))
    # The SQL text is the same whatever the value: values change only the parameters.
    assert sql == compiled(template.format(v=_quoted("zzz")))[0]
    if len(value) > 2 and not value.startswith(":"):
        assert value.casefold() not in sql.casefold()
    # The compiled SQL holds no literal text at all: nothing to escape, nothing to break.
    assert "'" not in sql and '"' not in sql
    assert any(value.casefold() == str(p).casefold() for p in params.values()), params


@pytest.mark.parametrize("name", ["a'b", "drop table orders; --", "50%_off", "x]", "ünïcode"])
def test_custom_field_names_are_parameters(name):
    sql, params = compiled(f"custom.{name}: 1")
    assert name not in sql
    assert "'" not in sql and '"' not in sql
    assert params["p1"] == f'$."{name.casefold()}"'


def _store_with_people(tmp_path: Path, names: list[str]):
    path = tmp_path / "customers.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["customer_id", "first_name", "tags", "Note"])
        for n, name in enumerate(names):
            writer.writerow([f"C{n}", name, name, name])
    store = open_store(tmp_path / "store.db")
    assert import_file(store, "customers", path, ImportOptions()).rejected == 0
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,customer_id,created_at,total\nO1,C0,2024-01-01,10\n")
    import_file(store, "orders", orders, ImportOptions())
    return store


NAMES = ["50%_off", "5000 off", "a_b", "axb", "O'Brien", "OBrien", "back\\slash", "'); DROP"]


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ('first_name: {contains: "%"}', {"50%_off"}),
        ('first_name: {contains: "%_"}', {"50%_off"}),
        ('first_name: {starts_with: "a_"}', {"a_b"}),
        ('first_name: {ends_with: "_b"}', {"a_b"}),
        ('first_name: "O\'Brien"', {"O'Brien"}),
        ('first_name: "o\'brien"', {"O'Brien"}),
        ('first_name: {contains: "\\\\"}', {"back\\slash"}),
        ('first_name: {eq: "\'); DROP"}', {"'); DROP"}),
        ('tags: "50%_off"', {"50%_off"}),
        ('custom.note: {ends_with: "%_OFF"}', {"50%_off"}),
        ('first_name: {in: ["_", "%"]}', set()),
    ],
)
def test_wildcards_and_quotes_match_only_themselves(tmp_path, criteria, expected):
    store = _store_with_people(tmp_path, NAMES)
    evaluation = Evaluation(store, AS_OF, dict(BUILTINS))
    segment = ast.Segment("probe", "Probe", "", parsed(criteria), "--criteria")
    assert {m["first_name"] for m in evaluation.members(segment)} == expected
    # The orders table is still there.
    assert store.scalar("SELECT count(*) FROM orders") == 1


# ---------------------------------------------------------------------------------
# A list longer than LONG_LIST reaches SQL as one parameter: a JSON array of its values


def _texts(count: int, word: str = "v") -> str:
    return "[" + ", ".join(_quoted(f"{word}{n}") for n in range(count)) + "]"


def _numbers(count: int, start: int = 1) -> str:
    return "[" + ", ".join(str(start + n) for n in range(count)) + "]"


# A condition taking a list, and how to write a list of n values for it.
LONG_ROWS = [
    ("country: {{in: {v}}}", _texts),
    ("country: {{not_in: {v}}}", _texts),
    ("country: {v}", _texts),
    ("tags: {{contains_any: {v}}}", _texts),
    ("custom.note: {{in: {v}}}", _texts),
    ("custom.size: {{not_in: {v}}}", _numbers),
    ("purchased: {{product: {v}}}", _texts),
    ("purchased: {{collection: {v}, vendor: {v}}}", _texts),
    ("reviewed: {{product: {v}}}", _texts),
    ("has_order: {{status: {v}}}", _texts),
    ("orders_count: {{in: {v}}}", _numbers),
    ("total_spent: {{not_in: {v}}}", _numbers),
]


@pytest.mark.parametrize(("template", "values"), LONG_ROWS)
def test_a_long_list_is_one_json_parameter(template, values, monkeypatch):
    short_sql, short = compiled(template.format(v=values(LONG_LIST)))
    assert "json_each(:" not in short_sql
    assert len(short) >= LONG_LIST
    text = template.format(v=values(LONG_LIST + 1))
    sql, params = compiled(text)
    arrays = {name: json.loads(v) for name, v in params.items() if str(v).startswith("[")}
    assert arrays and all(f"json_each(:{name})" in sql for name in arrays)
    assert len(params) - len(arrays) <= 1  # a custom field's path
    # Each array holds what would otherwise be bound value by value.
    monkeypatch.setattr(compile_module, "LONG_LIST", 10**9)
    _, one_by_one = compiled(text)
    bound = [v for v in one_by_one.values() if not str(v).startswith("$.")]
    assert sorted(v for array in arrays.values() for v in array) == sorted(bound)
    # Other values of the same number: the same SQL, only the parameters differ.
    monkeypatch.undo()
    other = _numbers(LONG_LIST + 1, 5_000) if values is _numbers else _texts(LONG_LIST + 1, "w")
    assert compiled(template.format(v=other))[0] == sql


def test_a_list_of_lifecycle_stages_is_never_long():
    """Seven stages at most, however often they are repeated."""
    stages = ", ".join(["first-time-buyers", "PROSPECTS"] * LONG_LIST)
    sql, params = compiled(f"lifecycle: {{in: [{stages}]}}")
    assert "json_each(:" not in sql and len(params) == 2


def test_average_order_value_binds_each_value_of_a_long_list():
    """Each value is scaled by the person's orders in SQL: no set of plain values."""
    sql, params = compiled(f"average_order_value: {{in: {_numbers(LONG_LIST + 1)}}}")
    assert "json_each(:" not in sql and len(params) == LONG_LIST + 1


def test_a_long_list_with_a_nul_is_bound_value_by_value():
    """json_each() would end a text at its NUL: "a\x00b" would equal "a"."""
    values = [f"v{n}" for n in range(LONG_LIST)] + ["a\x00b"]
    sql, params = compiled("country: {in: [" + ", ".join(map(json.dumps, values)) + "]}")
    assert "json_each(:" not in sql
    assert sorted(params.values()) == sorted(values)


@pytest.mark.parametrize(
    "condition",
    ["first_name: {{in: {v}}}", "first_name: {{not_in: {v}}}", "custom.note: {{in: {v}}}"]
    + ["custom.note: {{not_in: {v}}}", "tags: {{contains_any: {v}}}", "first_name: {v}"],
)
@pytest.mark.parametrize("nul", [False, True])
def test_long_lists_match_exactly(tmp_path, condition, nul):
    """Long lists with quotes, backslashes, wildcards and another case: each value matches
    itself only, through json_each() or, with a NUL among them, value by value."""
    store = _store_with_people(tmp_path, NAMES)
    named = ["O'Brien", "back\\slash", "50%_off", "'); DROP"]
    values = [name.upper() for name in named] + [f"filler {n}" for n in range(LONG_LIST)]
    if nul:
        values.append("50%_off\x00")
    criteria = condition.format(v="[" + ", ".join(map(json.dumps, values)) + "]")
    segment = ast.Segment("probe", "Probe", "", parsed(criteria), "--criteria")
    found = {m["first_name"] for m in Evaluation(store, AS_OF, dict(BUILTINS)).members(segment)}
    assert found == (set(NAMES) - set(named) if "not_in" in condition else set(named))
    assert ("json_each(:" in compiled(criteria)[0]) != nul


# ---------------------------------------------------------------------------------
# Relative dates resolve against the as-of date, by the calendar (SPEC 3.6)

RELATIVE_ROWS = [
    # (as of, YAML, parameters)
    ("2024-03-31", "created_at: {after: 1 month ago}", {"p1": day("2024-03-01")}),
    ("2024-03-31", "purchased: {after: 1 month ago}", {"p1": day("2024-03-01")}),
    ("2024-03-31", "created_at: {within: 1 month}", {"p1": day("2024-03-01")}),
    ("2024-03-31", "created_at: {within: 1m}", {"p1": day("2024-03-01")}),
    ("2024-03-31", "created_at: {before: -1m}", {"p1": day("2024-02-29")}),
    ("2024-03-15", "created_at: {before: -1m}", {"p1": day("2024-02-15")}),
    ("2024-05-31", "created_at: {before: 1 month ago}", {"p1": day("2024-04-30")}),
    ("2024-05-31", "created_at: {before: 3 months ago}", {"p1": day("2024-02-29")}),
    (
        "2024-02-29",
        "created_at: {on: 1 year ago}",
        {"p1": day("2023-02-28"), "p2": day("2023-03-01")},
    ),
    ("2025-02-28", "created_at: {before: -1y}", {"p1": day("2024-02-28")}),
    ("2024-03-31", "created_at: {on: today}", {"p1": day("2024-03-31"), "p2": day("2024-04-01")}),
    ("2024-03-31", "created_at: {before: yesterday}", {"p1": day("2024-03-30")}),
    ("2024-03-31", "created_at: {lte: 3 days ago}", {"p1": day("2024-03-29")}),
    ("2024-03-31", "created_at: {gte: -2w}", {"p1": day("2024-03-17")}),
    ("2024-03-31", "created_at: {after: 2 weeks ago}", {"p1": day("2024-03-18")}),
    ("2024-01-01", "created_at: {before: -1d}", {"p1": day("2023-12-31")}),
    ("2024-03-01", "created_at: {within: 1 day}", {"p1": day("2024-03-01")}),
    ("2024-03-01", "created_at: {within: 0 days}", {"p1": day("2024-03-02")}),
    (
        "2024-03-31",
        "created_at: {between: [1 month ago, yesterday]}",
        {"p1": day("2024-02-29"), "p2": day("2024-03-31")},
    ),
    (
        "2024-03-31",
        "abandoned_cart: {after: -1m, before: today}",
        {"p1": day("2024-03-01"), "p2": day("2024-03-31")},
    ),
    ("2024-03-31", "reviewed: {before: -1y}", {"p1": day("2023-03-31")}),
    ("2024-03-31", "has_order: {after: yesterday}", {"p1": day("2024-03-31")}),
]


@pytest.mark.parametrize(
    ("as_of", "text", "params"), RELATIVE_ROWS, ids=[f"{r[0]} {r[1]}" for r in RELATIVE_ROWS]
)
def test_relative_dates_resolve_against_the_as_of_date(as_of, text, params):
    assert compiled(text, date.fromisoformat(as_of))[1] == params


def test_same_condition_different_as_of_same_sql():
    """Time is a parameter: the SQL text does not change with the as-of date."""
    first, first_params = compiled("created_at: {after: 1 month ago}", date(2024, 3, 31))
    second, second_params = compiled("created_at: {after: 1 month ago}", date(2024, 5, 31))
    assert first == second
    assert first_params != second_params


def test_as_of_bounds():
    assert as_of_params(date(2024, 3, 31)) == {
        "as_of": "2024-03-31",
        "as_of_end": day("2024-04-01"),
    }
    assert as_of_params(date(2024, 12, 31))["as_of_end"] == day("2025-01-01")


def test_unknown_node_fails_loudly():
    with pytest.raises(TypeError, match="cannot compile"):
        compile_condition(object(), Context(as_of=AS_OF))


@pytest.mark.parametrize(
    "text",
    [
        "created_at: {after: 100000 years ago}",
        "created_at: {within: 1000000 days}",
        "purchased: {after: -3000y}",
        "created_at: {before: 2024 years ago}",
    ],
)
def test_relative_dates_beyond_the_calendar_are_a_problem_not_a_crash(evaluation, text):
    condition, problems = parse_criteria_text(text)
    if problems:
        [problem] = problems
        assert problem.pos.line == 1
        return
    # Accepted: then it must compile and run (to a bound at the calendar's edge, say).
    compile_condition(condition, Context(as_of=AS_OF))
    segment = ast.Segment("probe", "Probe", "", condition, "--criteria")
    assert list(evaluation.members(segment)) == []


@settings(max_examples=400, deadline=None)
@given(
    text=st.one_of(
        st.text(),
        st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127)),
        st.sampled_from(["Straße", "İstanbul", "ǅ", "Σίσυφος", "ﬁ", "A\tB", "é", "A\x00É"]),
        st.none(),
    )
)
def test_fold_sql_folds_as_python_does(text):
    """SQLite's lower() for ASCII text and segcli_fold() for the rest agree with fold()."""
    conn = sqlite3.connect(":memory:")
    conn.create_function("segcli_fold", 1, fold, deterministic=True)
    assert conn.execute(f"SELECT {fold_sql(':x')}", {"x": text}).fetchone()[0] == fold(text)


_STORED = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.sampled_from(["10", "010", " 10", "1e1", "10.0", "gold", "GOLD", "Straße", "a\x00b"]),
    st.integers(-20, 20),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
)
_GIVEN = st.one_of(
    st.text(max_size=6).filter(lambda text: text.strip() and "\x00" not in text),
    st.sampled_from(["10", "9.5", "-3", "gold", "Gold", "STRASSE", "ten", "1e1"]),
    st.integers(-20, 20),
)


_CUSTOM_OPS = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


@settings(max_examples=500, deadline=None)
@given(
    stored=_STORED,
    op=st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "between"]),
    values=st.lists(_GIVEN.map(str), min_size=2, max_size=3),
)
# SQLite writes the real -0.0 as "0.0", Python as "-0.0".
@example(stored=-0.0, op="gt", values=["/", "0"])
@example(stored=1e20, op="eq", values=["1e+20", "x"])
def test_custom_comparisons_mean_what_segcli_compare_means(stored, op, values):
    """Custom fields compared with text alone compile to plain text SQL; every comparison
    still selects exactly the people for whom segcli_compare() says it holds."""
    shape = OPERATORS[op].shape
    given = values[:1] if shape == "scalar" else values[:2] if shape == "pair" else values
    value = given[0] if shape == "scalar" else tuple(given)
    condition = ast.Compare("custom.size", op, value, Pos(1, 1))
    conn = sqlite3.connect(":memory:")
    conn.create_function("segcli_fold", 1, fold, deterministic=True)
    conn.create_function("segcli_compare", 2, compare_custom, deterministic=True)
    conn.execute("CREATE TABLE f (custom TEXT)")
    custom = {} if stored is None else {"size": stored}
    conn.execute("INSERT INTO f VALUES (?)", (json.dumps(custom),))
    context = Context(as_of=AS_OF)
    sql = compile_condition(condition, context)
    selected = conn.execute(f"SELECT {sql} FROM f", context.params.values).fetchone()[0]
    # What segcli_compare() says, on the value SQLite reads from the JSON.
    field = conn.execute("SELECT json_extract(custom, '$.\"size\"') FROM f").fetchone()[0]
    expected = CUSTOM_PRIMITIVES[_CUSTOM_OPS.get(op, op)].check(field, list(given))
    assert bool(selected) == bool(expected)
