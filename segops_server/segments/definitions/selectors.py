"""Reads of segments and their definitions: lists, versions, and the preview of a definition evaluated now."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DataError, connection
from django.db.models import QuerySet
from django.utils import timezone

from segops_server.accounts.models import Tenant
from segops_server.core.errors import Invalid, NotFound
from segops_server.core.rawsql import StatementTimeout, bounded_read, statement_timeout
from segops_server.ingestion.services import profiles_refresh
from segops_server.segments.models import Segment, SegmentVersion
from segops_server.segments.rules.tenant_compile import tenant_definition_compile


def segments_of_tenant(*, tenant: Tenant) -> QuerySet[Segment]:
    return Segment.objects.for_tenant(tenant).order_by("-created_at", "-pk")


def segment_get(*, tenant: Tenant, segment_id: int) -> Segment:
    segment = segments_of_tenant(tenant=tenant).select_related("tenant").filter(pk=segment_id).first()
    if segment is None:
        raise NotFound("Segment not found.")
    return segment


def versions_of_segment(*, segment: Segment) -> QuerySet[SegmentVersion]:
    return (
        SegmentVersion.objects.for_tenant(segment.tenant)
        .filter(segment=segment)
        .select_related("created_by")
        .order_by("-number")
    )


def preview(
    *, tenant: Tenant, definition: dict[str, Any], limit: int, now: datetime | None = None
) -> dict[str, Any]:
    """How many users match right now, a deterministic sample (lowest ids) and the compiled SQL."""
    profiles_refresh(tenant=tenant)
    bound = settings.SEGOPS_PREVIEW_TIMEOUT_SECONDS
    try:
        sql, params = tenant_definition_compile(
            definition, tenant=tenant, now=now or timezone.now(), timeout_seconds=bound
        )
        with (
            bounded_read(connection),
            connection.cursor() as cursor,
            statement_timeout(cursor, bound),
        ):
            cursor.execute(f"SELECT count(*) FROM ({sql}) q", params)  # noqa: S608 (compiled, parameterised)
            matched = cursor.fetchone()[0]
            cursor.execute(f"SELECT q.user_id FROM ({sql}) q ORDER BY q.user_id LIMIT %s", [*params, limit])  # noqa: S608
            sample = [row[0] for row in cursor.fetchall()]
    except (StatementTimeout, DataError) as exc:
        raise rule_refused(exc) from None
    return {
        "matched_users": matched,
        "sample_user_ids": sample,
        "sql": sql,
        "params": [str(p) for p in params],
    }


def rule_refused(exc: StatementTimeout | DataError) -> Invalid:
    """The 400 for a rule the database would not finish (past the time bound) or not read (a
    pattern PostgreSQL refuses that the definition check let through): the caller's to change."""
    if isinstance(exc, StatementTimeout):
        # The same bound on both databases (docs/segments.md, "Time bound").
        return Invalid({"detail": f"This rule took longer than {exc.seconds} s to evaluate."})
    if "invalid regular expression" not in str(exc):
        raise exc
    return Invalid({"detail": f"The database refused a regular expression of this rule: {exc}"})


def estimate(*, segment: Segment, now: datetime | None = None) -> dict[str, Any]:
    """The saved definition's size now, counted and not materialised (spec §15), bounded like a
    preview. Past the bound the answer is the last computed size, marked `exact: false` (with the
    time of that compute; null if never computed): an estimate is the cheap question, so it never
    fails for a slow rule. A rule that no longer compiles raises DefinitionError (the caller's 409)."""
    tenant = segment.tenant
    if segment.definition is None:
        raise Invalid({"detail": "Save a definition before estimating this segment."})
    now = now or timezone.now()
    profiles_refresh(tenant=tenant)
    bound = settings.SEGOPS_PREVIEW_TIMEOUT_SECONDS
    try:
        sql, params = tenant_definition_compile(
            segment.definition, tenant=tenant, now=now, timeout_seconds=bound
        )
        with (
            bounded_read(connection),
            connection.cursor() as cursor,
            statement_timeout(cursor, bound),
        ):
            cursor.execute(f"SELECT count(*) FROM ({sql}) q", params)  # noqa: S608 (compiled, parameterised)
            counted = int(cursor.fetchone()[0])
    except StatementTimeout:
        return {
            "segment_id": segment.pk,
            "estimated_members": segment.member_count,
            "exact": False,
            "computed_at": segment.last_computed_at,
        }
    except DataError as exc:
        raise rule_refused(exc) from None
    return {"segment_id": segment.pk, "estimated_members": counted, "exact": True, "computed_at": now}
