"""Which member rows make a segment's set at a generation: the one rule every reader uses.

A row is a stay (models.SegmentMember): the user is a member of every generation g with
`generation <= g < until_generation` (no end while `until_generation` is null). A compute at work
writes rows of the next generation, and ends stays at it, before the swap moves the segment to
it, so readers of the current generation never see a half-written difference.
"""

from __future__ import annotations

from django.db.models import Q


def stay_covers_sql(member: str, generation: str) -> str:
    """SQL: member row alias `member` is in the set of generation `generation`, a column
    expression such as `s.generation`, or `%s` (then the generation is passed twice)."""
    return (
        f"{member}.generation <= {generation} AND "
        f"({member}.until_generation IS NULL OR {member}.until_generation > {generation})"
    )


def stay_covers(generation: int) -> Q:
    """The same rule for the ORM."""
    return Q(generation__lte=generation) & (
        Q(until_generation__isnull=True) | Q(until_generation__gt=generation)
    )
