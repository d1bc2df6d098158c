"""Built-in segments (SPEC 3.5): the seven lifecycle stages, everyone, all and repeat customers."""

from __future__ import annotations

from segcli.rules import ast
from segcli.rules.fields import STAGES
from segcli.rules.problems import Pos

_HERE = Pos(0, 0)
BUILTIN_SOURCE = "built-in"


def _segment(name: str, title: str, description: str, criteria: ast.Condition) -> ast.Segment:
    return ast.Segment(name, title, description, criteria, BUILTIN_SOURCE, builtin=True)


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
        # Each lifecycle stage is a segment of its name.
        *(
            _segment(
                stage.name,
                stage.title,
                stage.description,
                ast.Compare("lifecycle", "eq", stage.name, _HERE),
            )
            for stage in STAGES
        ),
    )
}
