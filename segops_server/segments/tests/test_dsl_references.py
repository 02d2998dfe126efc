"""segment_membership references: the segment must exist in the tenant, and no chain may loop."""

from __future__ import annotations

from typing import Any

import pytest

from segops_server.segments.rules.dsl import MAX_EXPANDED_CONDITIONS, DefinitionError, definition_validate

COUNT = {"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": 1}


def member_of(*segment_ids: int, operator: str = "in") -> dict[str, Any]:
    return {
        "logic": "OR",
        "conditions": [
            COUNT,
            *({"type": "segment_membership", "segment_id": s, "operator": operator} for s in segment_ids),
        ],
    }


def test_it_accepts_a_reference_to_a_saved_segment() -> None:
    saved = {7: {"logic": "AND", "conditions": [COUNT]}}
    normalised = definition_validate(member_of(7), lookup_definition=saved.get, segment_id=8)
    assert normalised["conditions"][1] == {"type": "segment_membership", "segment_id": 7, "operator": "in"}


def test_it_refuses_a_reference_to_no_such_segment() -> None:
    # The lookup is scoped to the tenant: another tenant's segment is "no such segment" too.
    with pytest.raises(DefinitionError) as error:
        definition_validate(member_of(99), lookup_definition={}.get)
    assert str(error.value) == "conditions[1].segment_id: no such segment"


def test_it_refuses_a_reference_through_a_deleted_segment() -> None:
    saved = {7: member_of(9)}
    with pytest.raises(DefinitionError) as error:
        definition_validate(member_of(7), lookup_definition=saved.get)
    assert str(error.value).startswith(
        "conditions[1].segment_id: no such segment (segment 7 refers to segment 9"
    )


def test_it_refuses_a_segment_that_contains_itself() -> None:
    with pytest.raises(DefinitionError) as error:
        definition_validate(
            member_of(5, operator="not_in"), lookup_definition={5: member_of()}.get, segment_id=5
        )
    assert "cycle" in str(error.value)
    assert str(error.value).startswith("conditions[1].segment_id:")


def test_it_refuses_a_two_segment_cycle() -> None:
    saved = {1: member_of(2), 2: member_of()}
    with pytest.raises(DefinitionError) as error:
        # Saving segment 2 as "in segment 1" while segment 1 is "in segment 2".
        definition_validate(member_of(1), lookup_definition=saved.get, segment_id=2)
    assert str(error.value) == "conditions[1].segment_id: segment 1 leads to a cycle (2 → 1 → 2)"


def test_it_refuses_a_three_segment_cycle() -> None:
    saved = {1: member_of(2), 2: member_of(3), 3: {"logic": "AND", "conditions": [COUNT]}}
    with pytest.raises(DefinitionError) as error:
        definition_validate(
            {"logic": "AND", "conditions": [COUNT, {"logic": "OR", "conditions": [member_of(1)]}]},
            lookup_definition=saved.get,
            segment_id=3,
        )
    assert (
        str(error.value)
        == "conditions[1].conditions[0].conditions[1].segment_id: segment 1 leads to a cycle (3 → 1 → 2 → 3)"
    )


def test_it_refuses_a_cycle_among_the_referenced_segments() -> None:
    # Older saved data that loops without the segment being saved must not loop forever here.
    saved = {1: member_of(2), 2: member_of(1)}
    with pytest.raises(DefinitionError, match="cycle"):
        definition_validate(member_of(1), lookup_definition=saved.get)


def test_it_accepts_a_diamond_of_references() -> None:
    saved = {1: member_of(2, 3), 2: member_of(4), 3: member_of(4), 4: {"logic": "AND", "conditions": [COUNT]}}
    definition_validate(member_of(1), lookup_definition=saved.get, segment_id=5)


def test_it_bounds_the_size_of_the_inlined_definition() -> None:
    # Each level references the one below twice: the inlined SQL would double per level.
    saved = {n: member_of(n + 1, n + 1) for n in range(1, 12)}
    saved[12] = {"logic": "AND", "conditions": [COUNT]}
    with pytest.raises(DefinitionError) as error:
        definition_validate(member_of(1), lookup_definition=saved.get)
    assert f"more than {MAX_EXPANDED_CONDITIONS} conditions" in str(error.value)
