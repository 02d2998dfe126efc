"""Routes for analytics (spec §16), under /api/analytics/."""

from django.urls import path

from segops_server.analytics import api

urlpatterns = [
    path("analytics/overview/", api.OverviewView.as_view(), name="analytics-overview"),
    path("analytics/segments/", api.SegmentTrendsView.as_view(), name="analytics-segments"),
    path("analytics/overlap/", api.OverlapView.as_view(), name="analytics-overlap"),
    path("analytics/activations/", api.ActivationStatsView.as_view(), name="analytics-activations"),
    path("analytics/usage/", api.UsageView.as_view(), name="analytics-usage"),
]
