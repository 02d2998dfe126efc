"""Writes of segments: create, change (each changed definition saved as a new version), delete."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from segops_server.accounts.models import Tenant, User
from segops_server.core.errors import Invalid, NotFound
from segops_server.segments.exports.services import exports_discard_of_segment
from segops_server.segments.models import Segment, SegmentChange, SegmentMember, SegmentVersion
from segops_server.segments.rules.dsl import DefinitionError, definition_validate
from segops_server.segments.rules.lookup import definition_lookup


def definition_clean(*, tenant: Tenant, definition: Any, segment_id: int | None = None) -> dict[str, Any]:
    try:
        return definition_validate(
            definition, lookup_definition=definition_lookup(tenant), segment_id=segment_id
        )
    except DefinitionError as exc:
        raise Invalid({"definition": [str(exc)]}) from None


def _save_version(*, segment: Segment, definition: dict[str, Any], actor: User | None) -> SegmentVersion:
    last = (
        SegmentVersion.objects.for_tenant(segment.tenant).filter(segment=segment).order_by("-number").first()
    )
    version = SegmentVersion(
        tenant=segment.tenant,
        segment=segment,
        number=(last.number + 1) if last else 1,
        definition=definition,
        created_by=actor,
    )
    version.save()
    return version


@transaction.atomic
def segment_create(
    *,
    tenant: Tenant,
    actor: User | None,
    name: str,
    description: str = "",
    segment_type: str = "rule",
    definition: Any = None,
    refresh_interval_minutes: int | None = None,
    realtime: bool = True,
) -> Segment:
    segment = Segment(
        tenant=tenant,
        name=name,
        description=description,
        segment_type=segment_type,
        refresh_interval_minutes=refresh_interval_minutes,
        realtime=realtime,
        created_by=actor,
    )
    segment.save()
    if definition is not None:
        segment.definition = definition_clean(tenant=tenant, definition=definition, segment_id=segment.pk)
        segment.save(update_fields=["definition"])
        _save_version(segment=segment, definition=segment.definition, actor=actor)
    return segment


@transaction.atomic
def segment_update(*, segment: Segment, actor: User | None, **changes: Any) -> Segment:
    """Every saved definition becomes a new version; other fields change in place.

    The segment's row is locked first (PostgreSQL; SQLite's transactions take the one write
    lock anyway): two changes of one segment run one after the other, so each new version takes
    the next number rather than failing on the unique (segment, number), and each compares with
    the definition the other saved. Only the changed columns are written, so what a compute
    wrote meanwhile (status, count, generation) is not put back to what the caller read.
    """
    locked = Segment.objects.for_tenant(segment.tenant).select_for_update().filter(pk=segment.pk).first()
    if locked is None:
        raise NotFound("Segment not found.")
    definition = changes.pop("definition", None)
    fields = ["updated_at", *changes]
    was_realtime = locked.realtime
    for field, value in changes.items():
        setattr(locked, field, value)
    if definition is not None:
        cleaned = definition_clean(tenant=locked.tenant, definition=definition, segment_id=locked.pk)
        if cleaned != locked.definition:
            locked.definition = cleaned
            fields.append("definition")
            _save_version(segment=locked, definition=cleaned, actor=actor)
    locked.save(update_fields=fields)
    if changes.get("realtime") is True and not was_realtime and locked.generation > 0:
        # Events that arrived while it was off were never evaluated: a compute catches the set
        # up (live evaluation keeps it from then on).
        transaction.on_commit(lambda: _compute_request(locked))
    return locked


def _compute_request(segment: Segment) -> None:
    from segops_server.segments.compute.services import segment_compute_request

    segment_compute_request(segment=segment)


@transaction.atomic
def segment_delete(*, segment: Segment) -> None:
    exports_discard_of_segment(segment=segment)
    SegmentMember.objects.for_tenant(segment.tenant).filter(segment=segment)._raw_delete(
        SegmentMember.objects.db
    )
    SegmentChange.objects.for_tenant(segment.tenant).filter(segment=segment)._raw_delete(
        SegmentChange.objects.db
    )
    segment.delete()
