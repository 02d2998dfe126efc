"""Thin views of a user's profile, events and search (a user's segments and explain: segments/delivery)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers as drf_serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from segops_server.access import rules
from segops_server.accounts.tenancy import TenantScopedAPIView
from segops_server.core.errors import Invalid
from segops_server.core.serializing import many_data
from segops_server.explorer import selectors
from segops_server.explorer.sandbox import sandbox_publish
from segops_server.explorer.serializers import (
    EventOutSerializer,
    SandboxEventSerializer,
    SandboxResultSerializer,
    UserEventsQuerySerializer,
    UserProfileSerializer,
    UserSearchQuerySerializer,
    UserSummarySerializer,
)
from segops_server.ingestion.validation import EventError, event_validate
from segops_server.segments.rules.clickhouse import EngineUnsupported


class _ExplorerView(TenantScopedAPIView):
    policy = rules.EXPLORER


class UserListView(_ExplorerView):
    @extend_schema(
        operation_id="explorer_users_list",  # as before the answer's {count, results} was documented
        parameters=[UserSearchQuerySerializer],
        responses=inline_serializer(
            name="UserSearchResult",
            fields={"count": drf_serializers.IntegerField(), "results": UserSummarySerializer(many=True)},
        ),
    )
    def get(self, request: Request) -> Response:
        query = UserSearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        users = selectors.users_search(tenant=self.tenant, q=query.validated_data["q"])
        page = users[: query.validated_data["limit"]]
        return Response({"count": users.count(), "results": many_data(UserSummarySerializer, page)})


class UserDetailView(_ExplorerView):
    @extend_schema(responses=UserProfileSerializer)
    def get(self, request: Request, user_id: str) -> Response:
        profile = selectors.user_get(tenant=self.tenant, user_id=user_id)
        identity = selectors.user_identity(tenant=self.tenant, user_id=user_id)
        return Response({**UserProfileSerializer(profile).data, **identity})


class UserEventsView(_ExplorerView):
    @extend_schema(
        operation_id="explorer_users_events_list",
        parameters=[UserEventsQuerySerializer],
        responses=inline_serializer(
            name="UserEventsPage",
            fields={
                "count": drf_serializers.IntegerField(help_text="Events matching the filters, all pages."),
                "results": EventOutSerializer(many=True),
                "next_cursor": drf_serializers.CharField(allow_null=True),
            },
        ),
    )
    def get(self, request: Request, user_id: str) -> Response:
        query = UserEventsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        selectors.user_get(tenant=self.tenant, user_id=user_id)
        events, next_cursor, count = selectors.user_events_page(
            tenant=self.tenant,
            user_id=user_id,
            event_type=query.validated_data.get("event_type"),
            since=query.validated_data.get("since"),
            limit=query.validated_data["limit"],
            cursor=query.validated_data.get("cursor"),
        )
        return Response(
            {"count": count, "results": many_data(EventOutSerializer, events), "next_cursor": next_cursor}
        )


class SandboxView(TenantScopedAPIView):
    policy = rules.SANDBOX

    @extend_schema(request=SandboxEventSerializer, responses=SandboxResultSerializer)
    def post(self, request: Request) -> Response:
        try:
            # The same check as ingestion's for one event: what the sandbox accepts, track accepts.
            event = event_validate(request.data, now=timezone.now())
        except EventError as exc:
            raise ValidationError({exc.field: [exc.message]}) from None
        try:
            published = sandbox_publish(tenant=self.tenant, event=event)
        except EngineUnsupported as exc:
            raise Invalid({"detail": exc.message}) from None  # as a preview's
        return Response(SandboxResultSerializer(published).data)
