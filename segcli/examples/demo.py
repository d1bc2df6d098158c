"""The bundled example store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

# The example store's "today": its last orders are from the day before. The demo evaluates
# segments as of this day so that it shows the same figures whenever it is run.
EXAMPLE_STORE_TODAY = date(2026, 11, 1)

# In this order so that every summary reads naturally; the result does not depend on it.
EXAMPLE_FILES = (
    ("products", "products.csv"),
    ("customers", "customers.csv"),
    ("orders", "orders.csv"),
    ("items", "items.csv"),
    ("reviews", "reviews.csv"),
    ("subscribers", "subscribers.csv"),
    ("carts", "carts.csv"),
)


def example_data_dir() -> Path:
    """The directory of the example store's CSV files, shipped inside the package."""
    return Path(__file__).parent / "data"


def example_segments_dir() -> Path:
    """The example segment files, shipped inside the package."""
    return Path(__file__).parent / "segments"


@dataclass
class ExampleSegments:
    """What adding the example segments to a directory did."""

    copied: list[Path] = field(default_factory=list)
    # The merchant's own files, kept where an example would have taken their file name
    # or their segment's name.
    kept: list[Path] = field(default_factory=list)


def add_example_segments(directory: Path) -> ExampleSegments:
    """Copy each example segment file into ``directory`` unless a file of that name, or a
    segment of that name, is there already: a merchant's own file is never replaced."""
    # Imported here: the demo's other parts need none of the segment language.
    from segcli.segments.authoring import write_segment
    from segcli.segments.catalog import load_catalog

    taken = load_catalog(directory).files
    done = ExampleSegments()
    for example in sorted(example_segments_dir().glob("*.yaml")):
        target = directory / example.name
        if target.exists():
            if target.read_bytes() != example.read_bytes():
                done.kept.append(target)
            continue
        # Every example is named after its file (a test checks).
        if example.stem in taken:
            done.kept.append(Path(taken[example.stem]))
            continue
        write_segment(target, example.read_text(encoding="utf-8"))
        done.copied.append(target)
    return done
