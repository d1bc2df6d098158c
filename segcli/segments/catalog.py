"""Finding segments: built-ins, the YAML files of the segments directory, and file paths;
choosing those a command is about, listing and validating them."""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from segcli.errors import SegcliError
from segcli.rules import ast
from segcli.rules.parse import did_you_mean, parse_criteria_text, parse_segment_text
from segcli.rules.problems import Pos, Problem
from segcli.rules.validate import check_references, references
from segcli.segments.builtins import BUILTINS

SEGMENT_SUFFIXES = (".yaml", ".yml")


class SegmentProblems(SegcliError):
    """Segment files with problems; the message lists every one."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        count = len(problems)
        lines = "\n".join(str(problem) for problem in problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in segment files:\n{lines}")


@dataclass
class Catalog:
    """Every segment known, and the problems of the files that could not be used."""

    # Readable segments by name: built-ins and files (also those whose in_segment is wrong).
    segments: dict[str, ast.Segment] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # The file that defines each name (also for files with problems).
    files: dict[str, str] = field(default_factory=dict)
    # Every file read, as shown in messages.
    sources: list[str] = field(default_factory=list)
    # Names that cannot be evaluated: their file, or a segment they use, has problems.
    broken: set[str] = field(default_factory=set)

    def usable(self) -> dict[str, ast.Segment]:
        """Segments that can be evaluated."""
        return {name: s for name, s in self.segments.items() if name not in self.broken}

    def names(self) -> list[str]:
        return list(self.segments)

    def problems_in(self, source: str) -> list[Problem]:
        return [problem for problem in self.problems if problem.path == source]

    def files_with_problems(self) -> int:
        return len({problem.path for problem in self.problems})


def segment_text(path: Path) -> str:
    """A segment file's text: UTF-8, a byte-order mark allowed (UnicodeDecodeError else)."""
    # Not utf-8-sig: it reads a file of just b"\xef" as empty text.
    return path.read_bytes().removeprefix(codecs.BOM_UTF8).decode("utf-8")


def _read(path: Path) -> tuple[ast.Segment | None, list[Problem], str]:
    default_name = path.stem
    try:
        text = segment_text(path)
    except UnicodeDecodeError:
        return None, [Problem(str(path), Pos(1, 1), "the file is not UTF-8 text")], default_name
    except OSError as error:
        return None, [Problem(str(path), Pos(1, 1), f"cannot read: {error.strerror}")], default_name
    segment, problems = parse_segment_text(text, str(path), default_name)
    return segment, problems, segment.name if segment else default_name


def load_catalog(directory: Path, extra_files: Sequence[Path] = ()) -> Catalog:
    """Built-ins, then every segment file in ``directory``, then ``extra_files``."""
    catalog = Catalog(segments=dict(BUILTINS))
    paths: list[Path] = []
    if directory.is_dir():
        paths = sorted(
            p for p in directory.iterdir() if p.suffix in SEGMENT_SUFFIXES and p.is_file()
        )
    seen: set[Path] = set()
    for path in [*paths, *extra_files]:
        if path.resolve() in seen:
            continue  # a file of the directory also named on the command line
        seen.add(path.resolve())
        source = str(path)
        catalog.sources.append(source)
        segment, problems, name = _read(path)
        if name in catalog.files or name in BUILTINS:
            where = catalog.files.get(name, "a built-in segment")
            catalog.problems.append(
                Problem(
                    source,
                    Pos(1, 1),
                    f"segment name {name!r} is already used by {where}",
                    key="name",
                    hint="give this file another name, or a name: key",
                )
            )
            catalog.problems.extend(problems)
            continue
        catalog.files[name] = source
        if segment is None:
            catalog.problems.extend(problems)
            catalog.broken.add(name)
            continue
        catalog.segments[name] = segment
    reference_problems = check_references(catalog.segments, catalog.broken)
    catalog.problems.extend(reference_problems)
    for problem in reference_problems:
        catalog.broken.update(n for n, s in catalog.files.items() if s == problem.path)
    # A segment that uses a broken one cannot be evaluated either.
    changed = True
    while changed:
        changed = False
        for name, segment in catalog.segments.items():
            if name not in catalog.broken and any(
                ref.name in catalog.broken for ref in references(segment.criteria)
            ):
                catalog.broken.add(name)
                changed = True
    return catalog


def is_path(argument: str) -> bool:
    return argument.endswith(SEGMENT_SUFFIXES) or "/" in argument


def _existing(paths: list[Path]) -> list[Path]:
    for path in paths:
        if not path.is_file():
            raise SegcliError(f"no segment file {path}")
    return paths


def open_catalog(directory: Path, arguments: Iterable[str] = ()) -> Catalog:
    """The catalog of ``directory``, with the segment files among a command's arguments."""
    return load_catalog(directory, _existing([Path(a) for a in arguments if is_path(a)]))


def choose(catalog: Catalog, arguments: list[str], criteria: str | None) -> list[ast.Segment]:
    """The segments a command is about: the quick filter ``criteria``, else the segments
    ``arguments`` name, else all of them.

    All of them includes the files with problems, so that the error then lists every
    problem of every file; a file whose name another has already taken is left out of
    the listing, and its problem is the error.
    """
    if criteria is not None:
        return [quick_filter(catalog, criteria)]
    if arguments:
        return resolve(catalog, arguments)
    everything = [*catalog.names(), *[n for n in sorted(catalog.files) if n in catalog.broken]]
    duplicates = [
        p for p in catalog.problems if p.key == "name" and p.path not in catalog.files.values()
    ]
    if duplicates:
        raise every_problem(catalog, duplicates)
    return resolve(catalog, list(dict.fromkeys(everything)))


# The columns of segment list for scripts.
LISTING_FIELDS = ("segment", "title", "description", "source", "problems")


def listing(catalog: Catalog) -> list[dict]:
    """A row per segment, and per segment file that gave none, saying whether it has problems."""
    rows = [
        {
            "segment": s.name,
            "title": s.title,
            "description": s.description,
            "source": s.source,
            "problems": s.name in catalog.broken,
        }
        for s in catalog.segments.values()
    ]
    listed = {row["source"] for row in rows}
    for source in catalog.sources:
        if source not in listed:
            name = next((n for n, f in catalog.files.items() if f == source), Path(source).stem)
            rows.append(
                {
                    "segment": name,
                    "title": "",
                    "description": "",
                    "source": source,
                    "problems": True,
                }
            )
    return rows


@dataclass(frozen=True)
class Validation:
    """The segment files ``segment validate`` checked, and their problems."""

    catalog: Catalog
    # Resolved paths of the files checked.
    files: set[Path]
    problems: list[Problem]

    def files_with_problems(self) -> int:
        return len({Path(problem.path).resolve() for problem in self.problems})

    def usable(self) -> list[ast.Segment]:
        """The segments of the files checked that can be evaluated."""
        return [
            segment
            for segment in self.catalog.usable().values()
            if Path(segment.source).resolve() in self.files
        ]


def validate_files(directory: Path, files: list[Path]) -> Validation:
    """Check ``files``, or every file of ``directory`` when none is given."""
    catalog = load_catalog(directory, _existing(files))
    checked = {path.resolve() for path in files} or {Path(s).resolve() for s in catalog.sources}
    problems = [p for p in catalog.problems if Path(p.path).resolve() in checked]
    return Validation(catalog, checked, problems)


def resolve(catalog: Catalog, arguments: list[str]) -> list[ast.Segment]:
    """The segments named by the arguments (names or .yaml paths), checked with all they use.

    When any of them cannot be evaluated, the error lists every problem of every file
    read: theirs and those they use first, then the others, so that one run shows all.
    """
    chosen: list[ast.Segment] = []
    broken: list[str] = []
    for argument in arguments:
        name = argument
        if is_path(argument):
            wanted = Path(argument).resolve()
            found = next(
                (n for n, source in catalog.files.items() if Path(source).resolve() == wanted),
                None,
            )
            if found is None:
                problems = [p for p in catalog.problems if Path(p.path).resolve() == wanted]
                if problems:
                    raise every_problem(catalog, problems)
                raise SegcliError(f"no segment file {argument}")
            name = found
        if name in catalog.broken:
            broken.append(name)
            continue
        if name not in catalog.segments:
            raise SegcliError(
                f"unknown segment {name!r}",
                hint=did_you_mean(name, catalog.segments) or "see segcli segment list",
            )
        chosen.append(catalog.segments[name])
    if broken:
        raise every_problem(catalog, [p for name in broken for p in _problems_of(catalog, name)])
    return chosen


def every_problem(catalog: Catalog, first: list[Problem]) -> SegmentProblems:
    """The problems ``first``, then every other problem of the files read."""
    listed = list(dict.fromkeys(first))
    return SegmentProblems(listed + [p for p in catalog.problems if p not in listed])


def _problems_of(catalog: Catalog, name: str) -> list[Problem]:
    """Problems of a segment's file and of every segment it uses."""
    seen: set[str] = set()
    pending = [name]
    problems: list[Problem] = []
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        source = catalog.files.get(current)
        if source is not None:
            problems += catalog.problems_in(source)
        segment = catalog.segments.get(current)
        if segment is not None:
            pending += [ref.name for ref in references(segment.criteria)]
    return problems


def quick_filter(catalog: Catalog, criteria: str) -> ast.Segment:
    """An unsaved segment from ``--criteria 'YAML'``."""
    condition, problems = parse_criteria_text(criteria)
    if condition is None:
        raise every_problem(catalog, problems)
    segment = ast.Segment("criteria", "Quick filter", criteria.strip(), condition, "--criteria")
    problems = check_references({**catalog.segments, segment.name: segment}, catalog.broken)
    problems = [p for p in problems if p.path == "--criteria"]
    for ref in references(condition):
        if ref.name in catalog.broken:
            problems += _problems_of(catalog, ref.name)
    if problems:
        raise every_problem(catalog, problems)
    return segment
