"""Checks across segments: every in_segment names a known segment, and none loops."""

from __future__ import annotations

from collections.abc import Iterator

from segcli.rules import ast
from segcli.rules.parse import did_you_mean
from segcli.rules.problems import Problem


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
    segments: dict[str, ast.Segment], broken: set[str] = frozenset()
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
    return problems


def _find_cycle(name: str, segments: dict[str, ast.Segment], path: list[str]) -> list[str] | None:
    if name in path:
        return path[path.index(name) :]
    segment = segments.get(name)
    if segment is None:
        return None
    for ref in references(segment.criteria):
        found = _find_cycle(ref.name, segments, [*path, name])
        if found:
            return found
    return None
