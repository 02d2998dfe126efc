"""Thin views of analytics: read-only, Viewers and segments:read keys (access/rules.py ANALYTICS)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from segops_server.access import rules
from segops_server.accounts.tenancy import TenantScopedAPIView
from segops_server.analytics import selectors
from segops_server.analytics.serializers import (
    ActivationStatsSerializer,
    OverlapSerializer,
    OverviewSerializer,
    SegmentTrendSerializer,
    UsageSerializer,
)
from segops_server.core.serializing import many_data


class _AnalyticsView(TenantScopedAPIView):
    policy = rules.ANALYTICS


class OverviewView(_AnalyticsView):
    @extend_schema(responses=OverviewSerializer)
    def get(self, request: Request) -> Response:
        return Response(OverviewSerializer(selectors.overview(tenant=self.tenant)).data)


class SegmentTrendsView(_AnalyticsView):
    @extend_schema(responses=SegmentTrendSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(many_data(SegmentTrendSerializer, selectors.segment_trends(tenant=self.tenant)))


class OverlapView(_AnalyticsView):
    @extend_schema(responses=OverlapSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(many_data(OverlapSerializer, selectors.overlap(tenant=self.tenant)))


class ActivationStatsView(_AnalyticsView):
    @extend_schema(responses=ActivationStatsSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(many_data(ActivationStatsSerializer, selectors.activations(tenant=self.tenant)))


class UsageView(_AnalyticsView):
    @extend_schema(responses=UsageSerializer)
    def get(self, request: Request) -> Response:
        return Response(UsageSerializer(selectors.usage(tenant=self.tenant)).data)
