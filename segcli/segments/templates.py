"""Segment templates: the example segments, with the parameters a merchant usually changes.

The templates are the files of ``examples/segments`` shipped in the package: one source
for the examples, the demo and ``segcli segment new``. A new segment is the template's
text with its name, its title and the chosen parameters rewritten in place, so its
comments and layout stay as they were.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from segcli.errors import SegcliError
from segcli.examples.demo import example_segments_dir
from segcli.rules.loader import Mapping, Scalar, Sequence, YamlValue, load_yaml
from segcli.rules.parameters import BadValue, Parameter, read_parameters, value_yaml
from segcli.rules.parse import did_you_mean, parse_segment_text
from segcli.rules.problems import Pos
from segcli.rules.validate import references
from segcli.segments.catalog import segment_text


@dataclass(frozen=True)
class Template:
    name: str
    title: str
    description: str
    path: Path
    text: str
    root: Mapping
    parameters: tuple[Parameter, ...]


def load_templates(directory: Path | None = None) -> dict[str, Template]:
    """Every template by name, in name order."""
    templates = {}
    for path in sorted((directory or example_segments_dir()).glob("*.yaml")):
        text = segment_text(path)
        document = load_yaml(text, str(path))
        root = document.root
        if not isinstance(root, Mapping):
            continue
        # A mistake in a template's parameters is segment validate's to report.
        parameters = read_parameters(root, lambda pos, message: None)
        name = _text(root, "name") or path.stem
        templates[name] = Template(
            name,
            _text(root, "title") or name,
            _text(root, "description") or "",
            path,
            text,
            root,
            tuple(parameters),
        )
    return templates


def _text(root: Mapping, key: str) -> str | None:
    node = root.get(key)
    return node.text.strip() if isinstance(node, Scalar) and node.text else None


def find_template(name: str, templates: dict[str, Template]) -> Template:
    template = templates.get(name)
    if template is None:
        hint = did_you_mean(name, templates) or "see segcli segment templates"
        raise SegcliError(f"no template {name!r}", hint=hint)
    return template


def needed_first(template: Template, segments: dict, templates: dict[str, Template]) -> None:
    """Refuse a template whose in_segment names a segment not among ``segments``, saying
    which one to create first and how."""
    segment, _ = parse_segment_text(template.text, str(template.path), template.name)
    if segment is None:
        return
    missing = [ref.name for ref in references(segment.criteria) if ref.name not in segments]
    if missing:
        first = missing[0]
        how = (
            f"segcli segment new {first} --template {first}"
            if first in templates
            else f"write {first}.yaml first"
        )
        raise SegcliError(
            f"template {template.name} uses the segment {first!r} (in_segment), which the "
            "segments directory does not have",
            hint=f"create it first: {how}",
        )


def fill(template: Template, name: str, values: dict[str, str], title: str | None) -> str:
    """The template's text for a segment ``name``, with ``values`` for its parameters."""
    parameters = {parameter.name: parameter for parameter in template.parameters}
    edits: list[tuple[YamlValue, str]] = []
    for key, given in values.items():
        parameter = parameters.get(key)
        if parameter is None:
            known = ", ".join(parameters) or "none"
            raise SegcliError(
                f"template {template.name} has no parameter {key!r} (its parameters: {known})",
                hint=did_you_mean(key, parameters),
            )
        try:
            text = value_yaml(parameter.kind, given)
        except BadValue as error:
            raise SegcliError(f"--set {key}: {error}") from None
        edits += [(target, text) for target in parameter.targets]
    # Every template, an example segment file shipped with segcli, has a name and a title.
    edits.append((cast(YamlValue, template.root.get("name")), name))
    description = template.root.get("description")
    if values and description is not None:
        # The template's description speaks of its own values.
        chosen = ", ".join(f"{key}={value.strip()}" for key, value in values.items())
        said = f"From the {template.name} template with {chosen}."
        edits.append((description, json.dumps(said, ensure_ascii=False)))
    if title is not None:
        edits.append(
            (cast(YamlValue, template.root.get("title")), json.dumps(title, ensure_ascii=False))
        )
    return _rewrite(template.text, edits)


def _rewrite(text: str, edits: list[tuple[YamlValue, str]]) -> str:
    """``text`` with each located value's source replaced, from the last to the first."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))

    def offset(pos: Pos) -> int:
        return starts[pos.line - 1] + pos.column - 1

    spans = []
    for node, new in edits:
        # What is rewritten is text or a list (a parameter's value, the name, the title, the
        # description) as read from the file, which knows where its source ends.
        located = cast("Scalar | Sequence", node)
        assert located.end is not None
        start, end = offset(located.pos), offset(located.end)
        # A block scalar or block list ends where the next key starts: keep the line
        # ends and indentation before it.
        end = start + len(text[start:end].rstrip())
        spans.append((start, end, new))
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def skeleton(name: str, title: str | None) -> str:
    """A blank segment, commented, that validates as it is."""
    shown = json.dumps(title or name.replace("-", " ").capitalize(), ensure_ascii=False)
    return f"""# {name}: say here who belongs to this segment and what it is for.
# The conditions are segcli's segment language (docs/segments.md); segcli segment
# templates lists ready-made segments to start from instead.
name: {name}
title: {shown}
description: ""
criteria:
  # Every condition under all: must hold. Change or add conditions, for example
  #   - total_spent: {{gte: 500}}
  #   - last_order_at: {{after: 90 days ago}}
  #   - purchased: {{collection: Kitchen}}
  all:
    - orders_count: {{gte: 1}}
"""
