"""URL resolution remembered per path (core/routes.py): the same match Django finds, every route."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.test import override_settings
from django.urls import NoReverseMatch, Resolver404, URLResolver, get_resolver, path, reverse
from django.urls.resolvers import ResolverMatch

from segops_server.core import routes
from segops_server.core.routes import Handler, resolved
from segops_server.testing.routes import url_routes
from segops_server.testing.wsgi import Application

SAMPLES = ("7", "acme", "0b7e6c3a-9c1d-4f3e-8a2b-5d6c7e8f9a0b", "pim")
FIELDS = (
    "func",
    "args",
    "kwargs",
    "url_name",
    "route",
    "captured_kwargs",
    "extra_kwargs",
    "app_names",
    "namespaces",
    "view_name",
)


def _fields(match: ResolverMatch) -> dict[str, Any]:
    return {name: getattr(match, name) for name in FIELDS}


def _paths() -> list[str]:
    """A path for every named route of the URLconf, its parameters filled with values its
    converters take."""
    found = []
    for route in url_routes():
        if route.name.startswith("<unnamed"):
            continue
        for values in itertools.product(SAMPLES, repeat=len(route.params)):
            try:
                found.append(reverse(route.name, kwargs=dict(zip(route.params, values, strict=True))))
            except NoReverseMatch:
                continue
            break
        else:
            raise AssertionError(f"no sample path for {route.name}")
    return found


def _fresh() -> URLResolver:
    resolver = get_resolver()
    resolver.__dict__.pop("_segops_matches", None)
    return resolver


def test_every_route_resolves_as_django_resolves_it_first_and_from_memory() -> None:
    resolver = _fresh()
    paths = _paths()
    assert len(paths) > 100  # the API and the console
    for url in paths:
        expected = _fields(resolver.resolve(url))
        assert _fields(resolved(resolver, url)) == expected, url
        assert _fields(resolved(resolver, url)) == expected, url  # remembered
    assert len(resolver.__dict__["_segops_matches"]) == len(set(paths))


def test_each_request_gets_its_own_argument_dicts() -> None:
    resolver = _fresh()
    url = reverse("segment-detail", kwargs={"segment_id": 7})
    first = resolved(resolver, url)
    first.kwargs["segment_id"] = 99
    first.kwargs["added"] = True
    second = resolved(resolver, url)
    assert second.kwargs == {"segment_id": 7}
    assert second is not first


def test_a_path_that_resolves_to_nothing_is_never_remembered() -> None:
    resolver = _fresh()
    for _ in range(2):
        with pytest.raises(Resolver404):
            resolved(resolver, "/api/no-such-route/")
    assert "/api/no-such-route/" not in resolver.__dict__.get("_segops_matches", {})


def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routes, "LIMIT", 10)
    resolver = _fresh()
    for n in range(1, 36):
        url = reverse("segment-detail", kwargs={"segment_id": n})
        assert resolved(resolver, url).kwargs == {"segment_id": n}
        assert len(resolver.__dict__["_segops_matches"]) <= 10


def _other_view(request: Any) -> Any:
    raise AssertionError("not called")


urlpatterns = [path("api/segments/", _other_view, name="other")]


def test_another_urlconf_is_resolved_from_its_own_memory() -> None:
    url = "/api/segments/"
    assert resolved(get_resolver(), url).url_name == "segment-list"
    with override_settings(ROOT_URLCONF=__name__):
        assert resolved(get_resolver(), url).url_name == "other"
    assert resolved(get_resolver(), url).url_name == "segment-list"


def test_a_request_with_its_own_urlconf_is_resolved_as_django_does() -> None:
    class Request:
        urlconf = __name__
        path_info = "/api/segments/"

    request: Any = Request()
    match = Handler().resolve_request(request)
    assert match.url_name == "other"
    assert request.resolver_match is match


@pytest.mark.django_db
def test_the_server_application_resolves_through_the_memory() -> None:
    resolver = _fresh()
    answer = Application().django("GET", "/api/auth/whoami/")
    assert answer.status == 200
    assert "/api/auth/whoami/" in resolver.__dict__["_segops_matches"]
