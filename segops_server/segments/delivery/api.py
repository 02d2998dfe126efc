"""Thin views: a segment's members, the delivery API and its short way, a user's segments and explain."""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import datetime
from typing import Any

from django.db import DataError
from django.views import View
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from segops_server.access import rules
from segops_server.accounts.authentication import PersonJWTAuthentication
from segops_server.accounts.models import Tenant
from segops_server.accounts.permissions import PlanQuotaThrottle, PolicyPermission
from segops_server.accounts.tenancy import TenantScopedAPIView, TenantScopedMixin
from segops_server.core.converters import MAX_ID_DIGITS
from segops_server.core.cursors import cursor_page
from segops_server.core.environ_request import ShortRequest
from segops_server.core.errors import Conflict, Invalid
from segops_server.core.fastpath import Decline, Mirrors, query_params, short_way_of
from segops_server.core.ids import InvalidId, user_id_parse
from segops_server.core.parsers import DepthLimitedJSONParser
from segops_server.core.rawsql import StatementTimeout
from segops_server.core.serializing import many_data
from segops_server.keys.authentication import ApiKeyAuthentication
from segops_server.keys.fastpath import ShortWayGrant
from segops_server.segments.api_base import SegmentsView
from segops_server.segments.definitions import selectors
from segops_server.segments.delivery import selectors as membership
from segops_server.segments.delivery.serializers import (
    ExplainSerializer,
    MemberSerializer,
    MembershipQuerySerializer,
    MembersQuerySerializer,
    UserSegmentSerializer,
)
from segops_server.segments.rules.clickhouse import EngineUnsupported
from segops_server.segments.rules.dsl import DefinitionError
from segops_server.segments.rules.explain import segment_explain


class MembersView(SegmentsView):
    @extend_schema(
        operation_id="segments_members_list",
        parameters=[MembersQuerySerializer],
        responses=cursor_page(MemberSerializer),
    )
    def get(self, request: Request, segment_id: int) -> Response:
        query = MembersQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        segment = selectors.segment_get(tenant=self.tenant, segment_id=segment_id)
        members, next_cursor = membership.members_page(
            segment=segment, limit=query.validated_data["limit"], cursor=query.validated_data.get("cursor")
        )
        return Response({"results": many_data(MemberSerializer, members), "next_cursor": next_cursor})


def _membership_answer(*, tenant: Tenant, user_id: str, segment_id: int | None) -> dict[str, Any] | None:
    """The delivery API's body; None when `segment_id` is not one of the tenant's segments."""
    if segment_id is not None:
        member = membership.user_in_segment(tenant=tenant, user_id=user_id, segment_id=segment_id)
        return None if member is None else {"user_id": user_id, "segment_id": segment_id, "member": member}
    found = membership.user_segments(tenant=tenant, user_id=user_id)
    for segment in found:
        segment["computed_at"] = _datetime_text(segment["computed_at"])
    return {"user_id": user_id, "segments": found}


_DATETIME = serializers.DateTimeField()


@functools.lru_cache(maxsize=4096)
def _datetime_text(value: datetime | None) -> str | None:
    """A compute's time as DRF renders it (in TIME_ZONE: the API never activates another), once
    per value: every answer names the same few computes."""
    return None if value is None else str(_DATETIME.to_representation(value))


class MembershipView(SegmentsView):
    """The delivery API: which segments is this user in (or: is this user in that segment)?"""

    policy = replace(rules.SEGMENTS, short_way="GET")

    @extend_schema(
        parameters=[MembershipQuerySerializer],
        responses=PolymorphicProxySerializer(
            component_name="MembershipAnswer",
            serializers=[
                inline_serializer(
                    "UserSegments",
                    {
                        "user_id": serializers.CharField(),
                        "segments": inline_serializer(
                            "MembershipSegment",
                            {
                                "id": serializers.IntegerField(),
                                "name": serializers.CharField(),
                                "computed_at": serializers.DateTimeField(),
                            },
                            many=True,
                        ),
                    },
                ),
                inline_serializer(
                    "SegmentMembership",
                    {
                        "user_id": serializers.CharField(),
                        "segment_id": serializers.IntegerField(),
                        "member": serializers.BooleanField(),
                    },
                ),
            ],
            resource_type_field_name=None,
        ),
    )
    def get(self, request: Request) -> Response:
        query = MembershipQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        answer = _membership_answer(
            tenant=self.tenant,
            user_id=query.validated_data["user_id"],
            segment_id=query.validated_data.get("segment_id"),
        )
        if answer is None:
            raise NotFound("Segment not found.")  # another tenant's, or none: the same 404
        return Response(answer)


_MEMBERSHIP_PARAMS = frozenset({"user_id", "segment_id"})


@short_way_of(
    MembershipView,
    mirrors=Mirrors(
        bases=(SegmentsView, TenantScopedAPIView, TenantScopedMixin, APIView, View, object),
        authentication=(PersonJWTAuthentication, ApiKeyAuthentication),
        parsers=(DepthLimitedJSONParser,),
        permissions=(PolicyPermission,),
        throttles=(PlanQuotaThrottle,),
    ),
)
def _membership_fast(request: ShortRequest, grant: ShortWayGrant) -> tuple[int, Any]:
    """The short way (core/fastpath.py) for a well-formed question from a secret key."""
    params = query_params(request, allowed=_MEMBERSHIP_PARAMS)
    try:
        user_id = user_id_parse(params.get("user_id", ""))
    except InvalidId:
        raise Decline from None  # MembershipQuerySerializer's 400
    segment_id = None
    if "segment_id" in params:
        raw = params["segment_id"]
        if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_ID_DIGITS and int(raw) >= 1):
            raise Decline
        segment_id = int(raw)
    answer = _membership_answer(tenant=grant.tenant, user_id=user_id, segment_id=segment_id)
    if answer is None:
        raise Decline
    grant.admit()
    return 200, answer


class UserSegmentsView(SegmentsView):
    """The explorer's view of one user's segments (a plain list)."""

    @extend_schema(responses=UserSegmentSerializer(many=True))
    def get(self, request: Request, user_id: str) -> Response:
        found = membership.user_segments(tenant=self.tenant, user_id=user_id)
        counts = dict(
            selectors.segments_of_tenant(tenant=self.tenant)
            .filter(pk__in=[s["id"] for s in found])
            .values_list("pk", "member_count")
        )
        rows = [
            {
                "segment_id": s["id"],
                "segment_name": s["name"],
                "member_count": counts.get(s["id"], 0),
                "computed_at": s["computed_at"],
            }
            for s in found
        ]
        return Response(many_data(UserSegmentSerializer, rows))


# Explain evaluates the rule now (rules/explain.py) rather than reading the stored members, but it
# answers the explorer's next question about the user above: why in this segment, or why not.
class ExplainView(SegmentsView):
    @extend_schema(responses=ExplainSerializer)
    def get(self, request: Request, user_id: str, segment_id: int) -> Response:
        segment = selectors.segment_get(tenant=self.tenant, segment_id=segment_id)
        try:
            explained = segment_explain(tenant=self.tenant, segment=segment, user_id=user_id)
        except EngineUnsupported as exc:  # the tenant's data, not the rule: as for a preview
            raise Invalid({"detail": exc.message}) from None
        except DefinitionError as exc:
            # The saved rule no longer compiles (a segment it refers to was deleted): the segment's
            # state, not this request, is what is wrong.
            raise Conflict(
                f"This segment's rule cannot be evaluated as saved ({exc.message}); edit the rule."
            ) from None
        except (StatementTimeout, DataError) as exc:
            raise selectors.rule_refused(exc) from None
        return Response(ExplainSerializer(explained).data)
