"""Thin views: track and batch track (the explorer's user reads are in explorer/api.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from django.utils import timezone
from django.views import View
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from segops_server.access import rules
from segops_server.access.policy import Policy
from segops_server.accounts.permissions import PlanQuotaThrottle, PolicyPermission
from segops_server.accounts.tenancy import (
    TenantScopedAPIView,
    TenantScopedMixin,
)
from segops_server.core.environ_request import ShortRequest
from segops_server.core.errors import PayloadTooLarge
from segops_server.core.fastpath import Decline, Mirrors, json_body, query_params, short_way_of
from segops_server.core.parsers import FastJSONParser
from segops_server.ingestion.conformance import SchemaRejected, event_conform
from segops_server.ingestion.serializers import (
    BatchInSerializer,
    BatchQueuedSerializer,
    EventInSerializer,
    QueuedSerializer,
)
from segops_server.ingestion.services import events_store
from segops_server.ingestion.validation import MAX_BATCH_EVENTS, EventError, ValidEvent, event_validate
from segops_server.keys.authentication import (
    ApiKeyAuthentication,
    SessionCredential,
    SessionTokenAuthentication,
)
from segops_server.keys.fastpath import ShortWayGrant
from segops_server.observability.metrics import EVENTS_SKIPPED
from segops_server.schemas.enforcement import tenant_schemas
from segops_server.schemas.services import schema_counts_add


class _IngestionView(TenantScopedAPIView):
    """Secret keys with events:write, or public-key sessions (whose uid replaces every user_id)."""

    authentication_classes = [ApiKeyAuthentication, SessionTokenAuthentication]
    parser_classes = [FastJSONParser]
    policy: ClassVar[Policy] = rules.INGESTION

    def forced_ids(self, request: Request) -> dict[str, str | None]:
        """A session's uid (and anonymous id) replace what its events say."""
        if isinstance(request.auth, SessionCredential):
            return {"forced_user_id": request.auth.uid, "forced_anonymous_id": request.auth.anonymous_id}
        return {}

    def store(self, events: list[ValidEvent], received_at: Any) -> None:
        self.events_charge(len(events))
        events_store(tenant=self.tenant, events=events, received_at=received_at)


class TrackView(_IngestionView):
    policy = replace(_IngestionView.policy, short_way="POST")

    @extend_schema(request=EventInSerializer, responses={202: QueuedSerializer})
    def post(self, request: Request) -> Response:
        now = timezone.now()
        try:
            event = event_validate(request.data, now=now, **self.forced_ids(request))
            event = event_conform(event, tenant_schemas(self.tenant.pk))
        except SchemaRejected as exc:
            schema_counts_add(tenant_id=self.tenant.pk, rejections={exc.schema_id: 1})
            raise ValidationError(exc.field_errors()) from None
        except EventError as exc:
            raise ValidationError({exc.field: [exc.message]}) from None
        self.store([event], now)
        return Response({"queued": True}, status=status.HTTP_202_ACCEPTED)


@short_way_of(
    TrackView,
    mirrors=Mirrors(
        bases=(_IngestionView, TenantScopedAPIView, TenantScopedMixin, APIView, View, object),
        authentication=(ApiKeyAuthentication, SessionTokenAuthentication),
        parsers=(FastJSONParser,),
        permissions=(PolicyPermission,),
        throttles=(PlanQuotaThrottle,),
    ),
)
def _track_fast(request: ShortRequest, grant: ShortWayGrant) -> tuple[int, Any]:
    """The short way (core/fastpath.py) for one valid event sent with a secret key."""
    query_params(request, allowed=frozenset())
    data = json_body(request)
    if isinstance(data, dict) and ("tenant" in data or "tenant_slug" in data):
        raise Decline  # names a tenant: the DRF view checks it is the key's own
    now = timezone.now()
    try:
        event = event_conform(event_validate(data, now=now), tenant_schemas(grant.tenant.pk))
    except EventError:  # a schema's refusal too: the DRF view answers it and counts it
        raise Decline from None
    grant.admit(events=1)
    events_store(tenant=grant.tenant, events=[event], received_at=now)
    return status.HTTP_202_ACCEPTED, {"queued": True}


class TrackBatchView(_IngestionView):
    @extend_schema(request=BatchInSerializer, responses={202: BatchQueuedSerializer})
    def post(self, request: Request) -> Response:
        data = request.data
        raw_events = data.get("events") if isinstance(data, dict) else None
        if not isinstance(raw_events, list):
            raise ValidationError({"events": ['Send {"events": [...]} with a list of events.']})
        if len(raw_events) > MAX_BATCH_EVENTS:
            raise PayloadTooLarge(
                f"A batch holds at most {MAX_BATCH_EVENTS} events; this one has {len(raw_events)}. Split it."
            )
        now = timezone.now()
        forced = self.forced_ids(request)
        schemas = tenant_schemas(self.tenant.pk)
        valid: list[ValidEvent] = []
        errors: list[dict[str, Any]] = []
        rejections: dict[int, int] = {}
        for index, raw in enumerate(raw_events):
            try:
                valid.append(event_conform(event_validate(raw, now=now, **forced), schemas))
            except SchemaRejected as exc:
                rejections[exc.schema_id] = rejections.get(exc.schema_id, 0) + 1
                errors.append(
                    {"index": index, "field": exc.field, "message": exc.message, "reason": "schema"}
                )
            except EventError as exc:
                errors.append(
                    {"index": index, "field": exc.field, "message": exc.message, "reason": "invalid"}
                )
        self.store(valid, now)
        rejected = sum(rejections.values())
        if rejections:
            schema_counts_add(tenant_id=self.tenant.pk, rejections=rejections)
            EVENTS_SKIPPED.labels(reason="schema").inc(rejected)
        if len(errors) > rejected:
            EVENTS_SKIPPED.labels(reason="invalid").inc(len(errors) - rejected)
        body = {
            "queued": len(valid),
            "skipped": len(errors),
            "rejected": rejected,
            "violations": sum(1 for e in valid if e.violations_json is not None),
            "errors": errors[:50],
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)
