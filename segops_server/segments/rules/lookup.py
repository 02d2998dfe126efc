"""The tenant's saved definitions, as a rule looks up the segments it refers to (segment_membership)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from segops_server.accounts.models import Tenant
from segops_server.segments.models import Segment


def definition_lookup(tenant: Tenant) -> Callable[[int], dict[str, Any] | None]:
    """Other segments' definitions, from this tenant only (segment_membership conditions)."""

    def lookup(segment_id: int) -> dict[str, Any] | None:
        definition = (
            Segment.objects.for_tenant(tenant)
            .filter(pk=segment_id)
            .values_list("definition", flat=True)
            .first()
        )
        return definition if isinstance(definition, dict) else None

    return lookup
