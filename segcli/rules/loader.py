"""Safe YAML that keeps each value's line and column, read with YAML 1.2's plain rules.

Only ``true`` and ``false`` (any case) are booleans, so ``yes``, ``no``, ``on``, ``off``
and a country such as ``NO`` stay words; plain numbers become exact Decimals (``500.0001``
never passes through binary floating point). Nothing is ever constructed from a tag:
the document is only composed into nodes, and tags other than the plain ones are errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

import yaml

from segcli.rules.hints import operator_hint, reserved_after_colon, syntax_hint
from segcli.rules.problems import Pos, Problem

# Aliases can make a small file expand enormously ("billion laughs"); no real segment
# comes near these limits.
MAX_NODES = 50_000
MAX_DEPTH = 100

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_PLAIN_TAGS = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


class _Loader(yaml.SafeLoader):
    """A loader with no implicit types: every plain scalar is read by segcli's own rules."""

    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}


# CSafeLoader exists where PyYAML was built with libyaml; mypy cannot follow a base class
# chosen at run time, and either base composes the same nodes.
class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The same loader with libyaml's parser (the 46 example files: 60 ms to 10 ms)."""

    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}


# libyaml composes nested values by C recursion, which a document nested thousands of
# levels deep overflows (the process crashes). Every level opens with a bracket, a line,
# or a "-" or "?" on the same line ("- - - x"); a document with fewer of those together
# than this bound cannot nest that deep. Others use the Python parser.
_FAST_NESTING_BOUND = 2_000


def _compose(text: str) -> list[yaml.Node]:
    nesting_bound = sum(text.count(opening) for opening in "[{\n-?")
    if nesting_bound < _FAST_NESTING_BOUND:
        try:
            return list(yaml.compose_all(text, Loader=_FastLoader))
        except yaml.YAMLError:
            pass  # the Python parser describes the problem, in the words tests expect
    return list(yaml.compose_all(text, Loader=_Loader))


@dataclass(frozen=True)
class Scalar:
    value: str | Decimal | bool | None
    text: str
    pos: Pos
    quoted: bool = False
    # Where the scalar's source text ends (just after it), for rewriting it in place.
    end: Pos | None = None


@dataclass(frozen=True)
class Mapping:
    items: tuple[tuple[Scalar, YamlValue], ...]
    pos: Pos

    def get(self, key: str) -> YamlValue | None:
        for name, value in self.items:
            if name.value == key:
                return value
        return None


@dataclass(frozen=True)
class Sequence:
    items: tuple[YamlValue, ...]
    pos: Pos
    end: Pos | None = None


YamlValue = Scalar | Mapping | Sequence


@dataclass
class Document:
    """A loaded file: its root value (None when unreadable) and the problems met."""

    root: YamlValue | None
    problems: list[Problem] = field(default_factory=list)


class _TooBig(Exception):
    pass


def plain_scalar(text: str) -> str | Decimal | bool | None:
    """The value of an unquoted YAML scalar under segcli's rules."""
    lowered = text.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    if lowered in ("", "~", "null"):
        return None
    if _NUMBER.fullmatch(text):
        return Decimal(text)
    return text


def load_yaml(text: str, path: str) -> Document:
    """Compose ``text`` into located values, collecting problems instead of raising."""
    try:
        nodes = _compose(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        pos = Pos(mark.line + 1, mark.column + 1) if mark else Pos(1, 1)
        last_line = max(1, len(text.splitlines()))
        if pos.line > last_line:
            # The parser noticed at the end of the file: point at the last line instead.
            pos = Pos(last_line, len(text.splitlines()[-1]) + 1 if text.splitlines() else 1)
        problem = error.problem or error.context or ""
        message = f"YAML syntax error: {problem}"
        snippet = _line_of(text, pos.line)
        hint = syntax_hint(problem, text.splitlines(), pos.line)
        return Document(None, [Problem(path, pos, message, hint=hint, snippet=snippet)])
    except yaml.YAMLError as error:
        return Document(None, [Problem(path, Pos(1, 1), f"YAML error: {error}")])
    except RecursionError:
        # PyYAML composes nested values recursively: thousands of levels exhaust the stack
        # before segcli's own depth limit can be checked.
        return Document(
            None,
            [Problem(path, Pos(1, 1), f"the document is nested more than {MAX_DEPTH} levels deep")],
        )
    nodes = [node for node in nodes if node is not None]
    if not nodes:
        return Document(None, [Problem(path, Pos(1, 1), "the file is empty")])
    if len(nodes) > 1:
        second = nodes[1].start_mark
        pos = Pos(second.line + 1, second.column + 1)
        return Document(None, [Problem(path, pos, "one segment per file: found a second document")])
    problems: list[Problem] = []
    budget = [MAX_NODES]
    try:
        root = _convert(nodes[0], path, problems, budget, 0, text.splitlines())
    except _TooBig as error:
        return Document(None, [Problem(path, Pos(1, 1), str(error))])
    return Document(root, problems)


def _convert(
    node: yaml.Node,
    path: str,
    problems: list[Problem],
    budget: list[int],
    depth: int,
    lines: list[str],
) -> YamlValue:
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooBig(
            f"the document expands to more than {MAX_NODES:,} values (through aliases?); "
            "a segment file is never that large"
        )
    if depth > MAX_DEPTH:
        raise _TooBig(f"the document is nested more than {MAX_DEPTH} levels deep")
    pos = Pos(node.start_mark.line + 1, node.start_mark.column + 1)
    if node.tag not in _PLAIN_TAGS:
        # `orders_count: != 2` reads as the tag `!=`: an operator meant as a value.
        line = lines[pos.line - 1] if pos.line <= len(lines) else ""
        hint = operator_hint(line) or reserved_after_colon(line)
        problems.append(
            Problem(path, pos, f"YAML tag {node.tag!r} is not allowed in segment files", hint=hint)
        )
    if isinstance(node, yaml.ScalarNode):
        quoted = node.style is not None and node.style in ("'", '"', "|", ">")
        value = node.value if quoted else plain_scalar(node.value)
        end = Pos(node.end_mark.line + 1, node.end_mark.column + 1)
        return Scalar(value, node.value, pos, quoted, end)
    if isinstance(node, yaml.SequenceNode):
        items = tuple(
            _convert(item, path, problems, budget, depth + 1, lines) for item in node.value
        )
        return Sequence(items, pos, Pos(node.end_mark.line + 1, node.end_mark.column + 1))
    pairs = []
    seen: dict[object, Pos] = {}
    for key_node, value_node in node.value:
        key = _convert(key_node, path, problems, budget, depth + 1, lines)
        value = _convert(value_node, path, problems, budget, depth + 1, lines)
        if not isinstance(key, Scalar):
            problems.append(Problem(path, key.pos, "a key must be a plain word"))
            continue
        marker = key.value if not isinstance(key.value, str) else key.value
        if marker in seen:
            first = seen[marker]
            problems.append(
                Problem(
                    path,
                    key.pos,
                    f"key {key.text!r} appears twice in one mapping (first at line {first.line})",
                    key=key.text,
                )
            )
            continue
        seen[marker] = key.pos
        pairs.append((key, value))
    return Mapping(tuple(pairs), pos)


def _line_of(text: str, line: int) -> str | None:
    lines = text.splitlines()
    if 1 <= line <= len(lines):
        return lines[line - 1]
    return None
