"""The start-up check of the short way (core/fastpath.py): the application is built only while the
middleware and each fast view's DRF classes are the ones the short way mirrors."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.throttling import AnonRateThrottle
from rest_framework.versioning import QueryParameterVersioning

from segops_server.accounts.authentication import PersonJWTAuthentication
from segops_server.core.fastpath import MIRRORED_MIDDLEWARE, FastRoute, mirrors_check, short_way_routes
from segops_server.ingestion.api import TrackView
from segops_server.segments.delivery.api import MembershipView
from segops_server.wsgi import build_application


def _routes() -> list[FastRoute]:
    routes = sorted(short_way_routes(), key=lambda r: r.url_name)
    assert [r.view_class for r in routes] == [MembershipView, TrackView]
    return routes


def test_the_routes_are_the_views_whose_policy_opts_in() -> None:
    found = {(r.method, r.url_name, r.view_class) for r in short_way_routes()}
    assert found == {("GET", "segment-membership", MembershipView), ("POST", "track", TrackView)}


def test_a_policy_that_opts_in_without_a_handler_stops_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    from segops_server.segments.definitions.api import SegmentListView

    monkeypatch.setattr(
        SegmentListView, "policy", dataclasses.replace(SegmentListView.policy, short_way="GET")
    )
    with pytest.raises(ImproperlyConfigured, match="SegmentListView: a short way needs both"):
        build_application()


def test_a_handler_without_the_policys_consent_stops_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TrackView, "policy", dataclasses.replace(TrackView.policy, short_way=None))
    with pytest.raises(ImproperlyConfigured, match="TrackView: a short way needs both"):
        build_application()


def test_it_builds_the_application_with_the_settings_and_views_as_they_are() -> None:
    assert tuple(settings.MIDDLEWARE) == MIRRORED_MIDDLEWARE
    assert build_application() is not None


@pytest.mark.parametrize(
    "middleware",
    [
        [*MIRRORED_MIDDLEWARE, "django.middleware.locale.LocaleMiddleware"],  # one more
        [m for m in MIRRORED_MIDDLEWARE if "clickjacking" not in m],  # one fewer
        [MIRRORED_MIDDLEWARE[1], MIRRORED_MIDDLEWARE[0], *MIRRORED_MIDDLEWARE[2:]],  # reordered
    ],
    ids=["added", "removed", "reordered"],
)
def test_it_refuses_to_start_when_the_middleware_changes(middleware: list[str]) -> None:
    with override_settings(MIDDLEWARE=middleware), pytest.raises(ImproperlyConfigured, match="MIDDLEWARE"):
        build_application()


# Each case: a view, one of its DRF class attributes, and a value the short way does not mirror.
CHANGES: dict[str, tuple[type, str, Any]] = {
    "a throttle on track": (TrackView, "throttle_classes", [AnonRateThrottle]),
    "an authentication on track": (TrackView, "authentication_classes", [PersonJWTAuthentication]),
    "a parser on track": (TrackView, "parser_classes", [*TrackView.parser_classes, FormParser]),
    "a permission on membership": (MembershipView, "permission_classes", [AllowAny]),
    "a renderer on membership": (MembershipView, "renderer_classes", [JSONRenderer, BrowsableAPIRenderer]),
    "versioning on membership": (MembershipView, "versioning_class", QueryParameterVersioning),
}


@pytest.mark.parametrize("case", CHANGES)
def test_it_refuses_to_start_when_a_fast_views_drf_classes_change(
    monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    view, attribute, value = CHANGES[case]
    monkeypatch.setattr(view, attribute, value)
    with pytest.raises(ImproperlyConfigured, match=rf"{view.__qualname__}\.{attribute} is \["):
        build_application()


def test_it_refuses_a_view_with_a_new_mixin() -> None:
    class SuspensionCheck:
        """A check a mixin could add in initial(): the short way would skip it."""

    class CheckedTrackView(SuspensionCheck, TrackView):
        pass

    track, membership = _routes()
    route = dataclasses.replace(track, view_class=CheckedTrackView)
    with pytest.raises(ImproperlyConfigured, match=r"CheckedTrackView\.bases is \[.*SuspensionCheck"):
        mirrors_check([route, membership])


def test_it_names_every_difference_and_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TrackView, "throttle_classes", [AnonRateThrottle])
    monkeypatch.setattr(MembershipView, "renderer_classes", [BrowsableAPIRenderer])
    with pytest.raises(ImproperlyConfigured) as refused:
        mirrors_check(_routes())
    message = str(refused.value)
    assert "TrackView.throttle_classes is [AnonRateThrottle]; it mirrors [PlanQuotaThrottle]" in message
    assert "MembershipView.renderer_classes is [BrowsableAPIRenderer]; it mirrors [JSONRenderer]" in message
    assert "take the view's policy off the short way" in message
