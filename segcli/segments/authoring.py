"""Writing segment files from the command line: from a template, a blank skeleton, or a
quick filter the merchant has just tried."""

from __future__ import annotations

import json
import os
from pathlib import Path

from segcli.errors import SegcliError
from segcli.files import atomic_write
from segcli.rules import ast
from segcli.rules.parse import NAME_PATTERN, parse_segment_text
from segcli.rules.validate import check_references
from segcli.segments.builtins import BUILTINS
from segcli.segments.catalog import Catalog, SegmentProblems


def checked_name(name: str, catalog: Catalog, path: Path, *, force: bool) -> None:
    """Refuse a name that is not a segment name, a built-in's, or taken without --force."""
    if not NAME_PATTERN.fullmatch(name):
        raise SegcliError(
            f"{name!r} is not a segment name: use lower-case letters, digits and '-', "
            "starting with a letter"
        )
    if name in BUILTINS:
        raise SegcliError(f"{name!r} is a built-in segment; choose another name")
    if path.exists() and not force:
        raise SegcliError(f"{path} exists already", hint="give --force to replace it")
    elsewhere = catalog.files.get(name)
    if elsewhere is not None and Path(elsewhere).resolve() != path.resolve():
        raise SegcliError(f"a segment named {name!r} is defined in {elsewhere} already")


def validated(text: str, path: Path, catalog: Catalog) -> ast.Segment:
    """The segment ``text`` defines, checked as ``segment validate`` checks a file."""
    segment, problems = parse_segment_text(text, str(path), path.stem)
    if segment is not None:
        segments = {**catalog.segments, segment.name: segment}
        problems += [
            problem
            for problem in check_references(segments, catalog.broken)
            if problem.path == str(path)
        ]
    if problems or segment is None:
        raise SegmentProblems(problems)
    return segment


def write_segment(path: Path, text: str) -> None:
    """Write the file whole or not at all: a temporary name, renamed when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A segment file is the merchant's to share and edit: made as their editor would make it.
    with atomic_write(path, mode=0o644 & ~_umask(), newline="\n") as out:
        out.write(text)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def quick_filter_file(name: str, title: str | None, criteria: str, today: str) -> str:
    """A segment file holding a quick filter's criteria as the merchant wrote them."""
    shown = json.dumps(title or name.replace("-", " ").capitalize(), ensure_ascii=False)
    lines = criteria.strip("\n").splitlines() or [""]
    # Always a block under criteria: a one-line mapping cannot follow "criteria:" inline.
    indent = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
    body = "criteria:\n" + "".join(f"  {line[indent:]}\n" for line in lines)
    return (
        f"# Saved from a quick filter (segcli segment calculate --criteria) on {today}.\n"
        f"name: {name}\n"
        f"title: {shown}\n"
        'description: ""\n'
        f"{body}"
    )


def quick_filter_to_save(
    directory: Path,
    catalog: Catalog,
    name: str,
    title: str | None,
    criteria: str,
    *,
    today: str,
    force: bool,
) -> tuple[Path, str]:
    """Where a quick filter is saved as ``name`` and the file's text, both checked as
    ``segment new`` checks them; nothing is written yet."""
    path = directory / f"{name}.yaml"
    checked_name(name, catalog, path, force=force)
    text = quick_filter_file(name, title, criteria, today)
    validated(text, path, catalog)
    return path, text
