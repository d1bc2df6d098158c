"""Segments in words: each condition node as a sentence, for --explain and segment listings."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace

from segcli.rules import ast
from segcli.rules.dates import DateValue, Duration
from segcli.rules.operators import OPERATORS
from segcli.rules.predicates import PREDICATES

# A list is shown whole up to this many values, a longer one by its first values and how
# many more it holds: a suppression list of 40,000 emails filled 10,000 lines.
SHOWN_VALUES = 10


def _abridged(texts: list[str], more: str) -> list[str] | None:
    """A long list's first values, then ``more`` with how many it leaves out; None for a
    list short enough to show whole."""
    if len(texts) <= SHOWN_VALUES:
        return None
    shown = SHOWN_VALUES - 2
    return [*texts[:shown], more.format(f"{len(texts) - shown:,}")]


def _either(names: tuple[str, ...]) -> str:
    """``a or b or c``; for a long list ``a, b, ... or one of 39,992 more``."""
    abridged = _abridged(list(names), "{} more")
    if abridged is None:
        return " or ".join(names)
    return ", ".join(abridged[:-1]) + " or one of " + abridged[-1]


def show_value(value: object) -> str:
    if isinstance(value, tuple):
        texts = [show_value(v) for v in value]
        return "[" + ", ".join(_abridged(texts, "and {} more") or texts) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, DateValue):
        return value.text
    if isinstance(value, Duration):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _counts(label: str, counts: tuple[ast.Count, ...]) -> str:
    return " and ".join(f"{label} {OPERATORS[c.op].phrase} {show_value(c.value)}" for c in counts)


def describe(node: ast.Condition) -> str:
    """One line saying what the node requires."""
    if isinstance(node, ast.Compare):
        if node.op == "is_set":
            return f"{node.field} is {'set' if node.value else 'not set'}"
        return f"{node.field} {OPERATORS[node.op].phrase} {show_value(node.value)}"
    if isinstance(node, ast.All):
        return "all of"
    if isinstance(node, ast.Any):
        return "any of"
    if isinstance(node, ast.Not):
        return "none of" if isinstance(node.item, ast.Any) else "not"
    if isinstance(node, ast.Constant):
        return "everyone" if node.value else "no one"
    if type(node) in PREDICATES:
        return PREDICATES[type(node)].phrase(node, _WORDS)
    raise TypeError(f"cannot describe a {type(node).__name__}")


# How a predicate's sentence writes a list of names and its number comparisons.
_WORDS = SimpleNamespace(either=_either, counts=_counts)


def children(node: ast.Condition) -> tuple[ast.Condition, ...]:
    if isinstance(node, ast.All | ast.Any):
        return node.items
    if isinstance(node, ast.Not):
        return node.item.items if isinstance(node.item, ast.Any) else (node.item,)
    return ()


def lines(node: ast.Condition, depth: int = 0) -> Iterator[tuple[int, ast.Condition, str]]:
    """Every node with its depth and description, depth first (the explain tree)."""
    yield depth, node, describe(node)
    for child in children(node):
        yield from lines(child, depth + 1)
