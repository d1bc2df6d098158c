"""Template parameters: the values of a segment file that a merchant usually changes.

A segment file may name them under ``parameters``, each with where it is, what kind of
value it takes and what it means::

    parameters:
      threshold:
        at: criteria.all.0.total_spent.gt
        kind: money
        description: the least total spend

``at`` is the path of a value in the file (mapping keys and list positions joined by
dots), or a list of paths that take the same value. The value written there now is the
parameter's default. Kinds:

- ``money``: an amount, such as 750 or 99.95;
- ``count``: a whole number, such as 3;
- ``days``: a number of days N, written in the file as ``N days ago``;
- ``text``: any text, such as a product id or a collection;
- ``texts``: a list of texts, given on the command line as ``Food,Beauty``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from segcli.rules.loader import Mapping, Scalar, Sequence, YamlValue
from segcli.rules.problems import Pos

KINDS = ("money", "count", "days", "text", "texts")
PARAMETER_KEYS = ("at", "kind", "description")
PARAMETER_NAME = re.compile(r"[a-z][a-z0-9_]*")
_DAYS_AGO = re.compile(r"([0-9]+) days? ago")
_AMOUNT = re.compile(r"[0-9]+(?:\.[0-9]{1,4})?")
_COUNT = re.compile(r"[0-9]+")

# The most a count or a number of days may be (larger values are typing mistakes).
_LARGEST = 10**9


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str
    description: str
    # The values of the file it sets, all to the same value.
    targets: tuple[YamlValue, ...]
    # The value the file holds now, as it is given on the command line.
    default: str


class BadValue(ValueError):
    """A value given for a parameter that its kind does not take."""


def read_parameters(root: Mapping, problem: Callable[[Pos, str], None]) -> list[Parameter]:
    """The parameters a segment file declares; each mistake goes to ``problem``."""
    node = root.get("parameters")
    if node is None:
        return []
    if not isinstance(node, Mapping):
        problem(node.pos, "parameters must be a mapping of names to {at, kind, description}")
        return []
    parameters = []
    for key, spec in node.items:
        name = str(key.value)
        if not PARAMETER_NAME.fullmatch(name):
            problem(key.pos, f"parameter name {key.text!r} must be a lower-case word")
            continue
        parameter = _parameter(root, name, spec, problem)
        if parameter is not None:
            parameters.append(parameter)
    return parameters


def _parameter(
    root: Mapping, name: str, spec: YamlValue, problem: Callable[[Pos, str], None]
) -> Parameter | None:
    if not isinstance(spec, Mapping):
        problem(spec.pos, f"parameter {name}: expected a mapping with at, kind and description")
        return None
    for key, _ in spec.items:
        if key.value not in PARAMETER_KEYS:
            problem(
                key.pos,
                f"parameter {name}: unknown key {key.text!r} "
                f"(expected {', '.join(PARAMETER_KEYS)})",
            )
            return None
    at, kind, description = (spec.get(key) for key in PARAMETER_KEYS)
    if not isinstance(kind, Scalar) or not isinstance(kind.value, str) or kind.value not in KINDS:
        where = kind.pos if kind is not None else spec.pos
        problem(where, f"parameter {name}: kind must be one of {', '.join(KINDS)}")
        return None
    if description is not None and not (
        isinstance(description, Scalar) and isinstance(description.value, str)
    ):
        problem(description.pos, f"parameter {name}: description must be text")
        return None
    paths = at.items if isinstance(at, Sequence) else (at,) if at is not None else ()
    if at is None or not paths:
        problem(spec.pos, f"parameter {name}: 'at' must give the path of a value")
        return None
    targets, defaults = [], set()
    for path in paths:
        if not isinstance(path, Scalar) or not isinstance(path.value, str):
            problem(path.pos, f"parameter {name}: a path is text such as criteria.all.0.country")
            return None
        target = _find(root, path.value)
        default = None if target is None else _default(kind.value, target)
        if target is None or default is None:
            problem(
                path.pos,
                f"parameter {name}: {path.value} is not a {kind.value} value of this file",
            )
            return None
        targets.append(target)
        defaults.add(default)
    if len(defaults) > 1:
        problem(at.pos, f"parameter {name}: its paths hold different values")
        return None
    # A description is text, as checked above.
    text = "" if description is None else cast(str, description.value)
    return Parameter(name, kind.value, text, tuple(targets), defaults.pop())


def _find(node: YamlValue, path: str) -> YamlValue | None:
    """The value at a dotted path: mapping keys, and list positions counted from 0. A key
    with dots in it (``custom.birthday_month``) is one step."""
    steps = path.split(".")
    while steps:
        if isinstance(node, Mapping):
            keys = {key.text: value for key, value in node.items}
            # The longest run of steps that is a key: custom.tier before custom.
            taken = next((n for n in range(len(steps), 0, -1) if ".".join(steps[:n]) in keys), None)
            if taken is None:
                return None
            node, steps = keys[".".join(steps[:taken])], steps[taken:]
        elif isinstance(node, Sequence) and steps[0].isdigit() and int(steps[0]) < len(node.items):
            node, steps = node.items[int(steps[0])], steps[1:]
        else:
            return None
    return node


def _default(kind: str, node: YamlValue) -> str | None:
    """The value ``node`` holds as a ``kind`` parameter takes it; None when it does not fit."""
    if kind == "texts":
        if isinstance(node, Sequence) and node.end is None:
            return None
        items = node.items if isinstance(node, Sequence) else (node,)
        texts = [_plain_text(item, comma=False) for item in items]
        # Joined only when no item is None.
        return None if not texts or None in texts else ",".join(cast("list[str]", texts))
    if not isinstance(node, Scalar) or node.end is None:
        return None
    if kind == "text":
        return _plain_text(node, comma=True)
    if kind == "days":
        match = _DAYS_AGO.fullmatch(node.text) if isinstance(node.value, str) else None
        return match[1] if match else None
    if not isinstance(node.value, Decimal) or node.quoted:
        return None
    try:
        value_yaml(kind, node.text)
    except BadValue:
        return None
    return node.text


def _plain_text(node: YamlValue, *, comma: bool) -> str | None:
    """A scalar's text; in a list of texts (given as a,b) it may not hold a comma."""
    if not isinstance(node, Scalar) or node.end is None or node.value is None:
        return None
    if isinstance(node.value, bool) or ("," in node.text and not comma):
        return None
    return node.text


def value_yaml(kind: str, given: str) -> str:
    """The YAML text a parameter's value is written as; BadValue when its kind refuses it."""
    import json  # here: reading segment files (every command) does without it

    value = given.strip()
    if kind == "money":
        if not _AMOUNT.fullmatch(value):
            raise BadValue(f"{given!r} is not an amount (write it like 750 or 99.95)")
        if Decimal(value) >= 10**12:
            raise BadValue(f"{given!r} is too large for an amount")
        return value
    if kind in ("count", "days"):
        if not _COUNT.fullmatch(value):
            raise BadValue(f"{given!r} is not a whole number")
        number = int(value)
        if number > _LARGEST:
            raise BadValue(f"{given!r} is too large")
        if kind == "days":
            return f"{number} day{'s' if number != 1 else ''} ago"
        return str(number)
    if kind == "text":
        if not value:
            raise BadValue("the text is empty")
        return json.dumps(value, ensure_ascii=False)
    texts = [part.strip() for part in value.split(",")]
    if not all(texts):
        raise BadValue(f"{given!r} is not a comma-separated list of texts")
    return "[" + ", ".join(json.dumps(text, ensure_ascii=False) for text in texts) + "]"
