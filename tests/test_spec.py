"""Every "SPEC N.N" the code, the tests and the docs cite is a section of docs/spec.md."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "docs" / "spec.md"

# "SPEC 3.6", "SPEC 2.2, 3.2 and 3.7", "SPEC 1 exit codes", "docs/spec.md 3.6".
CITATION = re.compile(r"(?:\bSPEC|docs/spec\.md)((?:(?:,\s*|\s+and\s+|\s+)\d+(?:\.\d+)?\b)+)")
SECTION_NUMBER = re.compile(r"\d+(?:\.\d+)?")
HEADING = re.compile(r"^#{2,3} (\d+(?:\.\d+)?)\.? (.+)$", re.MULTILINE)
# Inside the spec a section is cited as "(2.4)", "(3.1, 3.3)", "see 2.2" or "section 3.2".
INNER_CITATION = re.compile(
    r"(?:\(|\bsee |\bsection )(\d\.\d+(?:,\s*\d\.\d+)*)(?=[),;: ])", re.IGNORECASE
)

# The sections of the first spec, which the code has cited since: they keep their numbers
# and their subjects (new sections are added after them, never renumbered).
FIRST_SECTIONS = {
    "1": "Commands",
    "2": "Data",
    "2.1": "Native CSV files",
    "2.2": "People and identity",
    "2.3": "Other dialects",
    "3": "Segments",
    "3.1": "Files",
    "3.2": "Fields of a person",
    "3.3": "Conditions",
    "3.4": "Operators",
    "3.5": "Built-in lifecycle segments",
    "3.6": "Dates in conditions",
    "3.7": "As-of",
    "4": "Exports and privacy",
}


def sections() -> dict[str, str]:
    return {number: title for number, title in HEADING.findall(SPEC.read_text("utf-8"))}


def citing_files() -> list[Path]:
    patterns = ("segcli/**/*.py", "tests/**/*.py", "benchmarks/**/*.py", "*.md", "docs/*.md")
    files = {path for pattern in patterns for path in ROOT.glob(pattern)}
    return sorted(files - {Path(__file__).resolve()})


def citations() -> list[tuple[str, int, str]]:
    """(file, line, section) for every SPEC citation outside the spec itself."""
    found = []
    for path in citing_files():
        text = path.read_text("utf-8")
        for match in CITATION.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            for number in SECTION_NUMBER.findall(match.group(1)):
                found.append((str(path.relative_to(ROOT)), line, number))
    return found


def test_the_first_sections_keep_their_numbers_and_subjects():
    present = sections()
    for number, title in FIRST_SECTIONS.items():
        assert present.get(number) == title, f"section {number} should be {title!r}"


def test_section_numbers_are_unique():
    numbers = HEADING.findall(SPEC.read_text("utf-8"))
    assert len({number for number, _ in numbers}) == len(numbers)


def test_every_spec_citation_names_a_section():
    found = citations()
    assert found, "no SPEC citation found: has the pattern stopped matching?"
    present = sections()
    missing = [f"{path}:{line}: SPEC {n}" for path, line, n in found if n not in present]
    assert not missing, "cited sections docs/spec.md does not have:\n" + "\n".join(missing)


def test_the_spec_cites_only_its_own_sections():
    text = SPEC.read_text("utf-8")
    present = sections()
    cited = {n for match in INNER_CITATION.finditer(text) for n in re.split(r",\s*", match[1])}
    assert cited, "no citation inside the spec found: has the pattern stopped matching?"
    assert cited <= set(present), sorted(cited - set(present))


def test_readme_and_spec_say_what_spec_means():
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "(docs/spec.md)" in readme
    assert '"SPEC N.N"' in readme
    assert '"SPEC N.N"' in SPEC.read_text("utf-8")
