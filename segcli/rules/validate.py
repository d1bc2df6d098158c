"""Checks across segments: every in_segment names a known segment, none loops, and no
segment nests deeper than SQLite can evaluate."""

from __future__ import annotations

from collections.abc import Iterator, Set

from segcli.rules import ast
from segcli.rules.parse import did_you_mean
from segcli.rules.problems import Pos, Problem

# SQLite's parser takes about 38 levels of NOT ( ... ) in a segment's query. A path through
# a segment may hold this many all, any and not groups and in_segment steps: more than any
# merchant writes, and what the tests evaluate.
MAX_NESTING = 24

_GROUPS = (ast.All, ast.Any, ast.Not, ast.InSegment)


def walk(condition: ast.Condition) -> Iterator[ast.Condition]:
    """Every node of a condition tree, depth first."""
    yield condition
    if isinstance(condition, ast.All | ast.Any):
        for item in condition.items:
            yield from walk(item)
    elif isinstance(condition, ast.Not):
        yield from walk(condition.item)


def references(condition: ast.Condition) -> list[ast.InSegment]:
    return [node for node in walk(condition) if isinstance(node, ast.InSegment)]


def check_references(
    segments: dict[str, ast.Segment], broken: Set[str] = frozenset()
) -> list[Problem]:
    """Problems with in_segment: unknown names and cycles, each reported where it is written.

    ``broken`` names segments whose files have problems of their own: using one is
    reported as such, not as an unknown name.
    """
    problems = []
    for segment in segments.values():
        for ref in references(segment.criteria):
            if ref.name in broken:
                problems.append(
                    Problem(
                        segment.source,
                        ref.pos,
                        f"in_segment: segment {ref.name!r} has problems of its own",
                        key="in_segment",
                        hint="run segcli segment validate to see them",
                    )
                )
            elif ref.name not in segments:
                problems.append(
                    Problem(
                        segment.source,
                        ref.pos,
                        f"in_segment: unknown segment {ref.name!r}",
                        key="in_segment",
                        hint=did_you_mean(ref.name, segments) or "see segcli segment list",
                    )
                )
    reported: set[str] = set()
    for name in segments:
        cycle = _find_cycle(name, segments, [])
        if cycle and cycle[0] not in reported:
            reported.update(cycle)
            segment = segments[cycle[0]]
            ref = next(r for r in references(segment.criteria) if r.name == cycle[1 % len(cycle)])
            problems.append(
                Problem(
                    segment.source,
                    ref.pos,
                    "in_segment makes a cycle: " + " → ".join([*cycle, cycle[0]]),
                    key="in_segment",
                    hint="a segment cannot include itself, directly or through others",
                )
            )
    deepest: dict[tuple[str, int], bool] = {}
    for name, segment in segments.items():
        if name in reported:
            continue
        pos = _too_deep(segment.criteria, segments, MAX_NESTING, deepest)
        if pos is not None:
            problems.append(
                Problem(
                    segment.source,
                    pos,
                    f"conditions nest more than {MAX_NESTING} levels deep here (all, any, "
                    "not and in_segment, counting the segments in_segment brings in)",
                    hint="write the condition with fewer levels, or split it into segments "
                    "used side by side",
                )
            )
    return problems


def _too_deep(
    condition: ast.Condition,
    segments: dict[str, ast.Segment],
    room: int,
    deepest: dict[tuple[str, int], bool],
) -> Pos | None:
    """Where ``condition`` nests more groups than ``room`` allows, following in_segment.

    ``deepest`` remembers, per segment name and room left, whether that segment is too
    deep there; the room shrinks with every step, so loops and long chains end.
    """
    if isinstance(condition, _GROUPS):
        room -= 1
        if room < 0:
            return condition.pos
    if isinstance(condition, ast.InSegment):
        key = (condition.name, room)
        if key not in deepest:
            target = segments.get(condition.name)
            deepest[key] = (
                target is not None
                and _too_deep(target.criteria, segments, room, deepest) is not None
            )
        return condition.pos if deepest[key] else None
    if isinstance(condition, ast.All | ast.Any):
        children = condition.items
    elif isinstance(condition, ast.Not):
        children = (condition.item,)
    else:
        children = ()
    for child in children:
        pos = _too_deep(child, segments, room, deepest)
        if pos is not None:
            return pos
    return None


def _find_cycle(name: str, segments: dict[str, ast.Segment], path: list[str]) -> list[str] | None:
    if name in path:
        return path[path.index(name) :]
    if len(path) > MAX_NESTING:
        return None  # a chain this long is too deep anyway, and is reported as such
    segment = segments.get(name)
    if segment is None:
        return None
    for ref in references(segment.criteria):
        found = _find_cycle(ref.name, segments, [*path, name])
        if found:
            return found
    return None
