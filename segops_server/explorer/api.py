"""Thin views of a user's profile, events and search (a user's segments and explain: segments/delivery)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers as drf_serializers
from rest_framework.request import Request
from rest_framework.response import Response

from segops_server.access import rules
from segops_server.accounts.tenancy import TenantScopedAPIView
from segops_server.core.cursors import cursor_page
from segops_server.core.serializing import many_data
from segops_server.explorer import selectors
from segops_server.explorer.serializers import (
    EventOutSerializer,
    UserEventsQuerySerializer,
    UserProfileSerializer,
    UserSearchQuerySerializer,
    UserSummarySerializer,
)


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
        responses=cursor_page(EventOutSerializer),
    )
    def get(self, request: Request, user_id: str) -> Response:
        query = UserEventsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        selectors.user_get(tenant=self.tenant, user_id=user_id)
        events, next_cursor = selectors.user_events_page(
            tenant=self.tenant,
            user_id=user_id,
            event_type=query.validated_data.get("event_type"),
            limit=query.validated_data["limit"],
            cursor=query.validated_data.get("cursor"),
        )
        return Response({"results": many_data(EventOutSerializer, events), "next_cursor": next_cursor})
