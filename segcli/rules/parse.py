"""From located YAML to the segment tree, checking every field, operator and value.

Every problem is collected (never only the first), each with file, line, column, the key
or value at fault, what was expected and, for a misspelling, a "did you mean" hint.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, cast

from segcli.rules import ast
from segcli.rules import fields as F
from segcli.rules.dates import DATE_SPELLINGS, DateValue, parse_date, parse_duration
from segcli.rules.fields import LIFECYCLE_STAGES
from segcli.rules.hints import key_hint, operator_hint, reserved_after_colon
from segcli.rules.loader import Mapping, Scalar, Sequence, YamlValue, load_yaml
from segcli.rules.operators import COUNT_OPERATORS, DATE_SYNONYMS, OPERATORS, canonical
from segcli.rules.parameters import read_parameters
from segcli.rules.predicates import BY_WORD, KEY_KINDS
from segcli.rules.problems import Pos, Problem

NAME_PATTERN = re.compile(r"[a-z][a-z0-9-]*")
SEGMENT_KEYS = ("name", "title", "description", "criteria", "parameters")
GROUPS = ("all", "any", "not")
PREDICATES = tuple(BY_WORD)
_NUMBER_OPS = COUNT_OPERATORS
# The keys of each predicate that takes a mapping (in_segment takes a name).
_PREDICATE_KEYS = {word: row.keys for word, row in BY_WORD.items() if row.keys}
_TYPE_NAMES = {
    F.TEXT: "text",
    F.MONEY: "an amount of money",
    F.INTEGER: "a whole number",
    F.DATE: "a date",
    F.BOOLEAN: "true or false",
    F.TAGS: "a tag",
    F.CUSTOM: "text or a number",
    F.LIFECYCLE: "a lifecycle stage",
}


def _trillion_or_more(value: Decimal) -> bool:
    """``abs(value) >= 10**12``, also for numbers such as 1e1000000 that the decimal
    context cannot take the absolute value of."""
    return bool(value) and value.adjusted() >= 12


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice most like ``word``, when one is like it at all."""
    import difflib  # only when a name is wrong: it costs every command 10 ms to import

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    close = closest(word, choices)
    return None if close is None else f"did you mean {close!r}?"


class _Parser:
    def __init__(self, path: str, lines: list[str]) -> None:
        self.path = path
        # The file's lines, for hints that show a line as it should be written.
        self.lines = lines
        self.problems: list[Problem] = []

    def line(self, pos: Pos) -> str:
        return self.lines[pos.line - 1] if 1 <= pos.line <= len(self.lines) else ""

    def problem(
        self, pos: Pos, message: str, *, key: str | None = None, hint: str | None = None
    ) -> None:
        self.problems.append(Problem(self.path, pos, message, key=key, hint=hint))

    # -- the file -----------------------------------------------------------------

    def segment(self, root: YamlValue, default_name: str) -> ast.Segment | None:
        if not isinstance(root, Mapping):
            self.problem(root.pos, "a segment file is a mapping with name, title and criteria")
            return None
        for key, _ in root.items:
            if key.value not in SEGMENT_KEYS:
                self.problem(
                    key.pos,
                    f"unknown key {key.text!r} in a segment file "
                    f"(expected {', '.join(SEGMENT_KEYS)})",
                    key=key.text,
                    hint=did_you_mean(str(key.value), SEGMENT_KEYS),
                )
        name = self._text_key(root, "name") or default_name
        name_node = root.get("name")
        if not NAME_PATTERN.fullmatch(name):
            self.problem(
                name_node.pos if name_node else root.pos,
                f"segment name {name!r} must be lower-case letters, digits and '-', "
                "starting with a letter",
                key="name",
            )
        title = self._text_key(root, "title") or name
        description = self._text_key(root, "description") or ""
        criteria = root.get("criteria")
        if criteria is None:
            self.problem(root.pos, "the segment has no criteria", key="criteria")
            return None
        condition = self.condition(criteria)
        read_parameters(root, lambda pos, message: self.problem(pos, message, key="parameters"))
        if condition is None:
            return None
        return ast.Segment(name, title, description, condition, self.path)

    def _text_key(self, root: Mapping, key: str) -> str | None:
        node = root.get(key)
        if node is None:
            return None
        if not isinstance(node, Scalar) or node.value is None or isinstance(node.value, bool):
            self.problem(node.pos, f"{key} must be text", key=key)
            return None
        return node.text.strip()

    # -- conditions ---------------------------------------------------------------

    def condition(self, node: YamlValue) -> ast.Condition | None:
        if isinstance(node, Sequence):
            return self._group(ast.All, node, "all")
        if not isinstance(node, Mapping):
            line = self.line(node.pos)
            self.problem(
                node.pos,
                f"expected a condition, got {node.text!r}",
                hint=operator_hint(line)
                or key_hint(line)
                or "a condition is a mapping such as 'total_spent: {gt: 100}'",
            )
            return None
        if not node.items:
            self.problem(node.pos, "empty condition")
            return None
        parts = [self._keyed(key, value) for key, value in node.items]
        if any(part is None for part in parts):
            return None
        if len(parts) == 1:
            return parts[0]
        return ast.All(tuple(cast("list[ast.Condition]", parts)), node.pos)  # no None, as checked

    def _group(
        self, kind: type[ast.All] | type[ast.Any], node: YamlValue, word: str
    ) -> ast.All | ast.Any | None:
        if isinstance(node, Mapping) and kind is ast.Any:
            # `any: {country: FR, city: Lyon}`: each key is one of the alternatives.
            items = [
                self.condition(Mapping((item,), key.pos)) for item in node.items for key in item[:1]
            ]
        elif isinstance(node, Mapping):
            items = [self.condition(node)]
        elif isinstance(node, Sequence):
            if not node.items:
                self.problem(node.pos, f"'{word}' needs at least one condition", key=word)
                return None
            items = [self.condition(item) for item in node.items]
        else:
            self.problem(node.pos, f"'{word}' takes a list of conditions", key=word)
            return None
        if any(item is None for item in items):
            return None
        return kind(tuple(cast("list[ast.Condition]", items)), node.pos)  # no None, as checked

    def _keyed(self, key: Scalar, value: YamlValue) -> ast.Condition | None:
        word = key.value if isinstance(key.value, str) else key.text
        if word == "all":
            return self._group(ast.All, value, "all")
        if word == "any":
            return self._group(ast.Any, value, "any")
        if word == "not":
            inner: ast.Condition | None
            if isinstance(value, Sequence):
                inner = self._group(ast.Any, value, "not")
            else:
                inner = self.condition(value)
            return None if inner is None else ast.Not(inner, key.pos)
        if word in PREDICATES:
            return self._predicate(word, key, value)
        field = F.lookup(word)
        if field is None:
            known = [*F.FIELDS, *PREDICATES, *GROUPS]
            hint = did_you_mean(word, known)
            if re.search(r"[\s{:=]|^-", word):
                # `total_spent {gt: 1}`, `-country: FR`: YAML read a mistyped line as a key.
                hint = key_hint(self.line(key.pos)) or hint
            elif word.startswith(F.CUSTOM_PREFIX):
                hint = "a custom field is written custom.NAME, with NAME as in the CSV header"
            self.problem(
                key.pos,
                f"unknown field {word!r}",
                key=word,
                hint=hint or "see the fields in the segment-language reference",
            )
            return None
        return self._field(field, key, value)

    # -- fields -------------------------------------------------------------------

    def _field(self, field: F.Field, key: Scalar, value: YamlValue) -> ast.Condition | None:
        if isinstance(value, Mapping):
            if not value.items:
                self.problem(value.pos, f"no operator given for {field.name}", key=field.name)
                return None
            parts = [self._compare(field, op_key, op_value) for op_key, op_value in value.items]
            if any(part is None for part in parts):
                return None
            compares = cast("list[ast.Compare]", parts)  # no None, as checked
            return compares[0] if len(compares) == 1 else ast.All(tuple(compares), key.pos)
        # Shorthands: eq for a scalar, in for a list; contains / contains_any for tags.
        if isinstance(value, Sequence):
            op = "contains_any" if field.type == F.TAGS else "in"
        else:
            op = "contains" if field.type == F.TAGS else "eq"
        if field.type in (F.DATE, F.BOOLEAN) and op == "in":
            self.problem(value.pos, f"{field.name} cannot be compared with a list", key=field.name)
            return None
        if field.type == F.DATE:
            op = DATE_SYNONYMS.get(op, op)
        typed = self._value(field, op, value)
        return None if typed is None else ast.Compare(field.name, op, typed, key.pos)

    def _compare(self, field: F.Field, op_key: Scalar, value: YamlValue) -> ast.Compare | None:
        spelled = op_key.text
        op = canonical(spelled)
        if op is None:
            self.problem(
                op_key.pos,
                f"unknown operator {spelled!r} for {field.name}",
                key=spelled,
                hint=did_you_mean(spelled, [*OPERATORS, "=", "!=", ">", ">=", "<", "<="]),
            )
            return None
        operator = OPERATORS[op]
        if field.type not in operator.types:
            usable = [name for name, o in OPERATORS.items() if field.type in o.types]
            self.problem(
                op_key.pos,
                f"operator {op!r} does not apply to {field.name} ({_TYPE_NAMES[field.type]})",
                key=spelled,
                hint=f"use one of: {', '.join(usable)}",
            )
            return None
        if field.type == F.DATE:
            op = DATE_SYNONYMS.get(op, op)
        typed = self._value(field, op, value)
        return None if typed is None else ast.Compare(field.name, op, typed, op_key.pos)

    def _value(self, field: F.Field, op: str, node: YamlValue) -> ast.Value | None:
        shape = OPERATORS[op].shape
        if shape == "bool":
            if isinstance(node, Scalar) and isinstance(node.value, bool):
                return node.value
            self._wrong(node, field.name, op, "true or false")
            return None
        if shape == "duration":
            duration = parse_duration(node.text) if isinstance(node, Scalar) else None
            if duration is None:
                self._wrong(node, field.name, op, "a duration such as '30 days' or '6m'")
                return None
            return duration
        if shape in ("list", "pair"):
            if not isinstance(node, Sequence) or not node.items:
                self._wrong(node, field.name, op, "a list of values")
                return None
            if shape == "pair" and len(node.items) != 2:
                self._wrong(node, field.name, op, "a list of two values: [LOW, HIGH]")
                return None
            items = [self._scalar(field, op, item) for item in node.items]
            if any(item is None for item in items):
                return None
            return tuple(cast("list[ast.OneValue]", items))  # no None, as checked
        return self._scalar(field, op, node)

    def _scalar(self, field: F.Field, op: str, node: YamlValue) -> ast.OneValue | None:
        if not isinstance(node, Scalar):
            self._wrong(node, field.name, op, _TYPE_NAMES[field.type])
            return None
        value = node.value
        kind = field.type
        if value is None:
            self._wrong(node, field.name, op, _TYPE_NAMES[kind])
            return None
        if kind == F.BOOLEAN:
            if isinstance(value, bool):
                return value
            self._wrong(node, field.name, op, "true or false")
            return None
        if isinstance(value, bool):
            self._wrong(node, field.name, op, _TYPE_NAMES[kind], hint="quote it as text")
            return None
        if kind in (F.TEXT, F.TAGS, F.CUSTOM, F.LIFECYCLE):
            text = node.text if isinstance(value, Decimal) else value
            if op in ("contains", "not_contains", "starts_with", "ends_with") and not text:
                self._wrong(node, field.name, op, "non-empty text")
                return None
            if kind == F.LIFECYCLE and text.lower() not in LIFECYCLE_STAGES:
                self.problem(
                    node.pos,
                    f"{text!r} is not a lifecycle stage (expected one of "
                    f"{', '.join(LIFECYCLE_STAGES)})",
                    key=field.name,
                    hint=did_you_mean(text.lower(), LIFECYCLE_STAGES),
                )
                return None
            return text.lower() if kind == F.LIFECYCLE else text
        if kind == F.MONEY:
            if not isinstance(value, Decimal) or not value.is_finite():
                self._wrong(node, field.name, op, "an amount such as 100 or 99.95")
                return None
            if _trillion_or_more(value):
                self._wrong(node, field.name, op, "an amount below a trillion")
                return None
            if value != value.quantize(Decimal("0.0001")):
                self._wrong(node, field.name, op, "an amount with at most four decimals")
                return None
            return value
        if kind == F.INTEGER:
            if (
                not isinstance(value, Decimal)
                or not value.is_finite()
                or _trillion_or_more(value)
                or value != value.to_integral_value()
            ):
                self._wrong(node, field.name, op, "a whole number")
                return None
            return int(value)
        if kind == F.DATE:
            date_value = parse_date(value) if isinstance(value, str) else None
            if date_value is None:
                self._wrong(node, field.name, op, DATE_SPELLINGS)
                return None
            return date_value
        raise AssertionError(f"unhandled field type {kind}")

    def _wrong(
        self, node: YamlValue, key: str, op: str, expected: str, hint: str | None = None
    ) -> None:
        shown = node.text if isinstance(node, Scalar) else type(node).__name__.lower()
        if hint is None and isinstance(node, Scalar) and not node.quoted:
            line = self.line(node.pos)
            if not shown:
                # `tags: #vip` is a comment, `country: &FR` an anchor: YAML read no value.
                hint = reserved_after_colon(line)
            elif shown[0] in "<>=!":
                hint = operator_hint(line)
        self.problem(
            node.pos,
            f"{key} {op}: expected {expected}, got {shown!r}",
            key=key,
            hint=hint,
        )

    # -- predicates ---------------------------------------------------------------

    def _predicate(self, word: str, key: Scalar, value: YamlValue) -> ast.Condition | None:
        if word == "in_segment":
            if not isinstance(value, Scalar) or not isinstance(value.value, str):
                self._wrong(value, "in_segment", "name", "a segment name")
                return None
            return ast.InSegment(value.value.strip(), value.pos)
        if isinstance(value, Scalar) and isinstance(value.value, bool):
            # `abandoned_cart: false` (and the same for the other predicates) means "has none".
            base = self._build_predicate(word, {}, key.pos)
            assert base is not None  # with no keys, nothing in them is wrong
            return base if value.value else ast.Not(base, key.pos)
        if not isinstance(value, Mapping):
            self._wrong(value, word, "", f"a mapping of {', '.join(_PREDICATE_KEYS[word])}")
            return None
        options: dict[str, YamlValue] = {}
        ok = True
        for option, option_value in value.items:
            name = option.value if isinstance(option.value, str) else option.text
            if name not in _PREDICATE_KEYS[word]:
                self.problem(
                    option.pos,
                    f"unknown key {name!r} in {word} (expected {', '.join(_PREDICATE_KEYS[word])})",
                    key=name,
                    hint=did_you_mean(name, _PREDICATE_KEYS[word]),
                )
                ok = False
                continue
            options[name] = option_value
        if not ok:
            return None
        return self._build_predicate(word, options, key.pos)

    def _build_predicate(
        self, word: str, options: dict[str, YamlValue], pos: Pos
    ) -> ast.Condition | None:
        readers: dict[str, Callable[[str, YamlValue], object]] = {
            "date": lambda name, node: self._date(word, name, node),
            "names": lambda name, node: self._names(word, name, node),
            "count": lambda name, node: self._counts(word, name, node, F.INTEGER),
            "money": lambda name, node: self._counts(word, name, node, F.MONEY),
        }
        # The node's fields by name: dates, names or counts, as each key holds.
        parsed: dict[str, Any] = {}
        ok = True
        for name, node in options.items():
            result = readers[KEY_KINDS[name]](name, node)
            if result is None:
                ok = False
            parsed[name] = result
        if not ok:
            return None
        window = ast.Window(parsed.pop("after", None), parsed.pop("before", None))
        # A predicate that takes a mapping builds its node of the tree from its keys.
        return cast(ast.Condition, BY_WORD[word].node(window=window, pos=pos, **parsed))

    def _date(self, word: str, name: str, node: YamlValue) -> DateValue | None:
        value = (
            parse_date(node.value)
            if isinstance(node, Scalar) and isinstance(node.value, str)
            else None
        )
        if value is None:
            self._wrong(node, word, name, DATE_SPELLINGS)
            return None
        return value

    def _names(self, word: str, name: str, node: YamlValue) -> tuple[str, ...] | None:
        nodes = node.items if isinstance(node, Sequence) else (node,)
        names = []
        for item in nodes:
            if (
                not isinstance(item, Scalar)
                or item.value is None
                or isinstance(item.value, bool)
                or not item.text.strip()
            ):
                self._wrong(item, word, name, "a name or a list of names")
                return None
            names.append(item.text.strip())
        if not names:
            self._wrong(node, word, name, "a name or a list of names")
            return None
        return tuple(names)

    def _counts(
        self, word: str, name: str, node: YamlValue, kind: str
    ) -> tuple[ast.Count, ...] | None:
        # A field of whole numbers (F.INTEGER) or of money reads a number: an int or a
        # Decimal, or with between and the lists, a tuple of them.
        field = F.Field(f"{word}.{name}", kind, "")
        if not isinstance(node, Mapping):
            number = cast("Decimal | int | None", self._scalar(field, "eq", node))
            return None if number is None else (ast.Count("eq", number),)
        counts = []
        for op_key, op_value in node.items:
            op = canonical(op_key.text)
            if op not in _NUMBER_OPS:
                self.problem(
                    op_key.pos,
                    f"unknown operator {op_key.text!r} for {word} {name}",
                    key=op_key.text,
                    hint=did_you_mean(op_key.text, _NUMBER_OPS)
                    or f"use one of {', '.join(_NUMBER_OPS)}",
                )
                return None
            numbers = cast(
                "Decimal | int | tuple[Decimal | int, ...] | None", self._value(field, op, op_value)
            )
            if numbers is None:
                return None
            counts.append(ast.Count(op, numbers))
        if not counts:
            self._wrong(node, word, name, "a number or a mapping such as {gte: 2}")
            return None
        return tuple(counts)


def parse_segment_text(
    text: str, path: str, default_name: str
) -> tuple[ast.Segment | None, list[Problem]]:
    """Parse one segment file's text; the segment is None when anything is wrong."""
    document = load_yaml(text, path)
    if document.root is None:
        return None, document.problems
    parser = _Parser(path, text.splitlines())
    parser.problems.extend(document.problems)
    segment = parser.segment(document.root, default_name)
    if parser.problems:
        return None, sorted(parser.problems, key=lambda p: p.pos)
    return segment, []


def parse_criteria_text(
    text: str, source: str = "--criteria"
) -> tuple[ast.Condition | None, list[Problem]]:
    """Parse an inline condition (a quick filter given on the command line)."""
    document = load_yaml(text, source)
    if document.root is None:
        return None, document.problems
    parser = _Parser(source, text.splitlines())
    parser.problems.extend(document.problems)
    condition = parser.condition(document.root)
    if parser.problems:
        return None, sorted(parser.problems, key=lambda p: p.pos)
    return condition, []
