"""Built-in segments (SPEC 3.5): the seven lifecycle stages, everyone, all and repeat customers."""

from __future__ import annotations

from segcli.rules import ast
from segcli.rules.problems import Pos

_HERE = Pos(0, 0)
BUILTIN_SOURCE = "built-in"


def _segment(name: str, title: str, description: str, criteria: ast.Condition) -> ast.Segment:
    return ast.Segment(name, title, description, criteria, BUILTIN_SOURCE, builtin=True)


def _stage(name: str, title: str, description: str) -> ast.Segment:
    return _segment(name, title, description, ast.Compare("lifecycle", "eq", name, _HERE))


def _orders_at_least(count: int):
    return ast.Compare("orders_count", "gte", count, _HERE)


BUILTINS: dict[str, ast.Segment] = {
    segment.name: segment
    for segment in (
        _segment("everyone", "Everyone", "Every person segcli knows.", ast.Constant(True, _HERE)),
        _segment(
            "all-customers",
            "All customers",
            "People with 1 or more counted orders.",
            _orders_at_least(1),
        ),
        _segment(
            "repeat-customers",
            "Repeat customers",
            "People with 2 or more counted orders.",
            _orders_at_least(2),
        ),
        _stage("first-time-buyers", "First-time buyers", "Exactly 1 counted order."),
        _stage(
            "active-repeat",
            "Active repeat customers",
            "2+ counted orders, the last one less than A days ago "
            "(A: the store's average repeat-purchase time).",
        ),
        _stage(
            "at-risk-repeat",
            "At-risk repeat customers",
            "2+ counted orders, the last one between A and 3A days ago.",
        ),
        _stage(
            "inactive-repeat",
            "Inactive repeat customers",
            "2+ counted orders, the last one 3A or more days ago.",
        ),
        _stage("prospects", "Prospects", "No counted order, and accepts marketing."),
        _stage(
            "potential-customers",
            "Potential customers",
            "No counted order, does not accept marketing, and has an abandoned cart.",
        ),
        _stage("unengaged", "Unengaged", "Everyone in no other lifecycle stage."),
    )
}
