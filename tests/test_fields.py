"""The field registry is the one list of a person's fields and lifecycle stages: what
reads it agrees with it."""

from __future__ import annotations

import re

import pytest

from segcli.rules import fields as F
from segcli.segments.builtins import BUILTINS
from segcli.segments.evaluate import FACTS_SQL


def test_the_facts_decide_exactly_the_registry_stages_in_order():
    case = re.search(r"CASE\s+(WHEN orders_count = 1.*?)\s+END AS lifecycle", FACTS_SQL, re.S)
    assert case is not None
    named = re.findall(r"(?:THEN|ELSE) '([a-z-]+)'", case.group(1))
    assert tuple(named) == F.LIFECYCLE_STAGES


def test_every_stage_is_a_built_in_segment_with_its_title():
    for stage in F.STAGES:
        segment = BUILTINS[stage.name]
        assert (segment.title, segment.description) == (stage.title, stage.description)


@pytest.mark.parametrize("place", ["export", "default_export", "sort"])
def test_each_list_of_the_registry_has_one_field_in_each_place(place):
    places = sorted(
        getattr(field, place)
        for field in F.PERSON_FIELDS.values()
        if getattr(field, place) is not None
    )
    assert places == list(range(1, len(places) + 1))


def test_the_default_export_and_the_sortable_fields_are_exported():
    assert set(F.DEFAULT_EXPORT_FIELDS) <= set(F.EXPORT_FIELDS)
    assert set(F.SORTABLE) <= set(F.EXPORT_FIELDS)


def test_a_condition_names_every_field_but_the_person_key():
    assert set(F.PERSON_FIELDS) - set(F.FIELDS) == {"person_key"}
    assert all(F.lookup(name) is F.FIELDS[name] for name in F.FIELDS)
    assert F.lookup("person_key") is None


def test_a_sort_puts_unset_values_last_and_breaks_ties_by_person_key():
    assert F.sort_sql("total_spent", descending=True) == (
        "f.total_spent IS NULL, f.total_spent DESC, f.person_key"
    )
    assert F.sort_sql("email") == "f.email IS NULL, f.email ASC, f.person_key"
    with pytest.raises(ValueError):
        F.sort_sql("average_order_value")
