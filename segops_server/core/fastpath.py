"""A short way through for the hottest endpoints: single-event track and the delivery API.

`segops_server.wsgi.application` is Django wrapped in `FastPath`. A view opts in through its
access policy (`Policy.short_way`, the method) and a handler registered with `@short_way_of`;
the routes are found in the URLconf (short_way_routes). A request to one (method and exact path)
goes to that route's handler first, once the short way's credential adapter (keys/fastpath.py)
has applied the view's own policy. A handler answers only a valid request authenticated by a
secret key that asks for nothing unusual, with the same services and selectors as the DRF view
but without Django's middleware chain, URL resolver and DRF's request machinery (a plain GET
without Django's request either: core/environ_request.py). Anything else (a bad or missing key,
a missing scope, invalid input, a quota reached, an Idempotency-Key, a person's JWT, a body over
the limit, a Host not allowed) is declined before anything is written, and Django answers it
exactly as it always has, audit entries included. So is whatever the short way does not
understand exactly, since the full path may answer it otherwise: content negotiation (an Accept
DRF would refuse or render with parameters), a Content-Type or Content-Encoding other than plain
JSON, cookies, query parameters the route does not take.

The headers the middleware puts on an API answer (Content-Length, the security headers, HSTS,
X-Frame-Options) come from those same middleware classes. What the short way mirrors (the
middleware, each route's DRF classes) is declared here and next to each handler, and checked when
the application is built (mirrors_check): a difference stops the server from starting. A property
test (core/tests/test_fastpath_parity.py) sends generated requests both ways and compares status,
headers, body and the rows written. `SEGOPS_FAST_PATH=0` turns the short way off.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost, ImproperlyConfigured, RequestDataTooBig
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import get_script_prefix, resolve, reverse
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from segops_server.core import requestsignals
from segops_server.core.environ_request import (
    EnvironRequest,
    ShortRequest,
    accepts_plain_json,
    django_request,
)
from segops_server.core.memo import memo_put
from segops_server.core.negotiation import RememberingContentNegotiation
from segops_server.core.parsers import JSONBodyError, json_decode
from segops_server.core.urlconf import url_entries
from segops_server.observability.context import ENVIRON_STARTED, HEADER, request_begin
from segops_server.observability.metrics import request_record

Handler = Callable[[ShortRequest, Any], tuple[int, Any]]  # (request, the credential grant)
Grant = Callable[[ShortRequest, Any], Any]  # (request, the view's policy) -> grant, or Decline
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_renderer = JSONRenderer()


class Decline(Exception):
    """Not a request the short way answers: Django will."""


# The middleware the short way mirrors, in settings.MIDDLEWARE's order: _check_plain declines what
# the request-side ones would answer or change, FastPath's finishers apply the response-side ones.
MIRRORED_MIDDLEWARE = (
    "segops_server.observability.middleware.RequestObservabilityMiddleware",
    "segops_server.core.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "segops_server.console.middleware.LazyMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "segops_server.console.middleware.ContentSecurityPolicyMiddleware",
)


@dataclass(frozen=True)
class Mirrors:
    """What a route's handler answers as: its DRF view's classes, as the handler was written for
    them. Checked when the application is built (mirrors_check): a class added to the view (a
    throttle, an authentication, a mixin with a new check) would otherwise be skipped by the
    short way without a word."""

    bases: tuple[type, ...]  # the view's method resolution order after the view itself
    authentication: tuple[type, ...]
    parsers: tuple[type, ...]
    permissions: tuple[type, ...]  # the policy's adapters (accounts/tenancy.py)
    throttles: tuple[type, ...]
    renderers: tuple[type, ...] = (JSONRenderer,)  # one renderer: see accepts_plain_json
    negotiation: type = RememberingContentNegotiation
    versioning: type | None = None


@dataclass(frozen=True)
class ShortWay:
    """A view's short way: its handler, and what the handler was written to answer as."""

    handler: Handler
    mirrors: Mirrors


def short_way_of(view_class: type[APIView], *, mirrors: Mirrors) -> Callable[[Handler], Handler]:
    """Register the decorated handler as the short way of `view_class`, whose policy opts in."""

    def register(handler: Handler) -> Handler:
        view_class.short_way = ShortWay(handler, mirrors)  # type: ignore[attr-defined]
        return handler

    return register


@dataclass(frozen=True)
class FastRoute:
    method: str
    url_name: str  # resolved with reverse(), so the route is exactly the one Django serves
    handler: Handler
    view_class: type[APIView]  # the DRF view that answers everything the handler declines
    mirrors: Mirrors  # what the handler was written to answer as (see mirrors_check)


def short_way_routes() -> list[FastRoute]:
    """The routes whose view opts in (policy.short_way) with a registered handler, from the
    URLconf; a view that opts in without a handler, or the reverse, stops the server."""
    routes: list[FastRoute] = []
    for entry in url_entries():
        view_class = entry.view_class
        method = getattr(getattr(view_class, "policy", None), "short_way", None)
        way: ShortWay | None = getattr(view_class, "short_way", None)
        if view_class is None or (method is None and way is None):
            continue
        if method is None or way is None or not entry.name:
            raise ImproperlyConfigured(
                f"{view_class.__qualname__}: a short way needs both the policy's short_way method"
                " and a handler registered with @short_way_of, on a named route."
            )
        routes.append(FastRoute(method, entry.name, way.handler, view_class, way.mirrors))
    return routes


def _names(classes: Iterable[type | None]) -> str:
    return "[" + ", ".join(c.__qualname__ if c is not None else "None" for c in classes) + "]"


def mirrors_check(routes: Sequence[FastRoute]) -> None:
    """ImproperlyConfigured unless the middleware and each route's view are what the short way
    mirrors: the server then refuses to start rather than answer two ways."""
    problems = []
    if tuple(settings.MIDDLEWARE) != MIRRORED_MIDDLEWARE:
        problems.append(
            f"settings.MIDDLEWARE is {list(settings.MIDDLEWARE)}; it mirrors {list(MIRRORED_MIDDLEWARE)}"
        )
    for route in routes:
        view, mirrors = route.view_class, route.mirrors
        pairs: list[tuple[str, tuple[Any, ...], tuple[Any, ...]]] = [
            ("bases", view.__mro__[1:], mirrors.bases),
            ("authentication_classes", tuple(view.authentication_classes), mirrors.authentication),
            ("permission_classes", tuple(view.permission_classes), mirrors.permissions),
            ("throttle_classes", tuple(view.throttle_classes), mirrors.throttles),
            ("parser_classes", tuple(view.parser_classes), mirrors.parsers),
            ("renderer_classes", tuple(view.renderer_classes), mirrors.renderers),
            ("content_negotiation_class", (view.content_negotiation_class,), (mirrors.negotiation,)),
            ("versioning_class", (view.versioning_class,), (mirrors.versioning,)),
        ]
        for attribute, found, mirrored in pairs:
            if found != mirrored:
                problems.append(
                    f"{view.__qualname__}.{attribute} is {_names(found)}; it mirrors {_names(mirrored)}"
                )
    if problems:
        raise ImproperlyConfigured(
            "The short way (core/fastpath.py) would no longer answer as the full path does: "
            + "; ".join(problems)
            + ". Make the route's handler answer as the change requires (or decline) and update what"
            " it mirrors, or take the view's policy off the short way."
        )


def _no_view(request: HttpRequest) -> HttpResponse:
    raise AssertionError("only process_response is used")


class FastPath:
    """WSGI: the registered routes' handlers first, Django for everything else."""

    def __init__(self, app: WSGIApp, routes: Sequence[FastRoute], grant: Grant) -> None:
        mirrors_check(routes)
        self.app = app
        self._routes = routes
        self._grant = grant
        self._table: dict[tuple[str, str], tuple[Handler, Any, str, str]] | None = None
        self._templates: dict[tuple[int, int, str, str, bool], tuple[str, list[tuple[str, str]]]] = {}
        # Applied in the order Django applies them to a response (the reverse of MIDDLEWARE).
        self._finishers: tuple[Any, ...] = (
            XFrameOptionsMiddleware(_no_view),
            CommonMiddleware(_no_view),
            SecurityMiddleware(_no_view),
        )

    def _lookup(self, method: str, path: str) -> tuple[Handler, Any, str, str] | None:
        if self._table is None:
            # PATH_INFO never holds the script prefix (only mounts without one are served here).
            prefix = len(get_script_prefix())
            table = {}
            for r in self._routes:
                path_info = "/" + reverse(r.url_name)[prefix:]
                # The metrics label is the route pattern, as Django's answers are counted.
                label = "/" + resolve(path_info).route
                policy = r.view_class.policy  # type: ignore[attr-defined]
                table[(r.method, path_info)] = (r.handler, policy, _allow(r.view_class), label)
            self._table = table
        return self._table.get((method, path))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        route = None
        if settings.SEGOPS_FAST_PATH and not environ.get("SCRIPT_NAME"):
            route = self._lookup(environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""))
        if route is not None:
            handler, policy, allow, label = route
            # Counted and given a request id as Django's answers are; a declined request keeps
            # both its id and its start time (RequestObservabilityMiddleware reads them).
            started = environ[ENVIRON_STARTED] = time.perf_counter()
            ctx = request_begin(environ)
            answer = self._answer(environ, handler, policy, allow)
            if answer is not None:
                status_line, headers, content = answer
                headers.append((HEADER, ctx.request_id))
                request_record(
                    route=label,
                    method=environ["REQUEST_METHOD"],
                    status=int(status_line[:3]),
                    seconds=time.perf_counter() - started,
                )
                start_response(status_line, headers)
                return [content]
        return self.app(environ, start_response)

    def _answer(
        self, environ: dict[str, Any], handler: Handler, policy: Any, allow: str
    ) -> tuple[str, list[tuple[str, str]], bytes] | None:
        """(status line, headers, body), or None when declined (Django answers)."""
        # Django's request signals, as its own handler sends them (core/requestsignals.py): their
        # receivers drop database connections that are broken or past CONN_MAX_AGE.
        requestsignals.request_started.send(sender=self.__class__, environ=environ)
        try:
            request: ShortRequest = EnvironRequest.of(environ) or WSGIRequest(environ)
            try:
                _check_plain(request)
                status, body = handler(request, self._grant(request, policy))
            except Decline:
                if hasattr(request, "_body"):  # read once already: Django reads it again
                    environ["wsgi.input"] = io.BytesIO(request._body)
                return None
            except Exception as exc:  # what Django's handler would answer (logged; JSON 500)
                full = django_request(request)
                response = self._finished(full, response_for_exception(full, exc))
                return self._status_line(response), list(response.items()), response.content  # type: ignore[attr-defined]
            content = _renderer.render(body)
            status_line, template = self._template(request, status, allow)
            length = str(len(content))
            return status_line, [(k, length if k == "Content-Length" else v) for k, v in template], content
        finally:
            requestsignals.request_finished.send(sender=self.__class__)

    def _finished(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        for finisher in self._finishers:
            response = finisher.process_response(request, response)
        return response

    @staticmethod
    def _status_line(response: HttpResponseBase) -> str:
        return f"{response.status_code} {response.reason_phrase}"

    def _template(self, request: ShortRequest, status: int, allow: str) -> tuple[str, list[tuple[str, str]]]:
        """The status line and headers of a handler's JSON answer as the middleware finishes it:
        they depend on the status, the route and HTTPS (HSTS), not on the body but for its length,
        so one answer of each kind is finished and the others reuse its headers."""
        key = (_settings_generation[0], status, allow, request.path_info, request.is_secure())
        found = self._templates.get(key)
        if found is None:
            response: HttpResponseBase = HttpResponse(b"", status=status, content_type="application/json")
            response["Allow"] = allow
            response = self._finished(django_request(request), response)
            found = self._templates[key] = (self._status_line(response), list(response.items()))
        return found


_settings_generation = [0]  # moves when a setting changes: templates and judged hosts are forgotten

# What get_host() reads, already judged against ALLOWED_HOSTS (a few in practice; bounded).
_hosts: dict[tuple[str | None, ...], bool] = {}
_HOSTS_MAX = 256


@receiver(setting_changed)
def _settings_changed(**kwargs: Any) -> None:
    _settings_generation[0] += 1
    _hosts.clear()


def _host_allowed(request: ShortRequest) -> bool:
    """Whether Django's get_host() accepts the request's host (else CommonMiddleware's 400)."""
    meta = request.META
    raw = (
        meta.get("HTTP_X_FORWARDED_HOST"),
        meta.get("HTTP_HOST"),
        meta.get("SERVER_NAME"),
        meta.get("SERVER_PORT"),
    )
    allowed = _hosts.get(raw)
    if allowed is None:
        try:
            request.get_host()
            allowed = True
        except DisallowedHost:
            allowed = False
        memo_put(_hosts, raw, allowed, _HOSTS_MAX)
    return allowed


def _allow(view_class: type[APIView]) -> str:
    """The Allow header the DRF view sends (Django's View.setup() adds HEAD wherever GET is)."""
    view = view_class()
    if hasattr(view, "get") and not hasattr(view, "head"):
        view.head = view.get  # type: ignore[attr-defined]
    return ", ".join(view.allowed_methods)


def _check_plain(request: ShortRequest) -> None:
    """Decline what a middleware would answer or change (see settings.MIDDLEWARE)."""
    if not _host_allowed(request):
        raise Decline
    if settings.SECURE_SSL_REDIRECT and not request.is_secure():
        raise Decline
    if settings.PREPEND_WWW or settings.DISALLOWED_USER_AGENTS:
        raise Decline
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > settings.SEGOPS_MAX_BODY_BYTES:
        raise Decline  # BodySizeLimitMiddleware's 400 / 413
    if "HTTP_TRANSFER_ENCODING" in request.META:
        raise Decline  # a body chunked_bodies_buffered did not read: BodySizeLimitMiddleware's 411
    if request.META.get("HTTP_COOKIE"):
        raise Decline  # CsrfViewMiddleware renews a malformed csrftoken cookie (a Set-Cookie)
    if "HTTP_CONTENT_ENCODING" in request.META:
        raise Decline  # nothing decodes it; the full path says what it makes of the bytes
    if not accepts_plain_json(request.META.get("HTTP_ACCEPT")):
        raise Decline  # DRF's content negotiation: a 406, or JSON indented as the Accept asks


def json_body(short: ShortRequest) -> Any:
    """The decoded JSON body, or Decline for anything the DRF parser would refuse or treat apart."""
    request = django_request(short)
    # Parsed as DRF's parser selection parses it (media type in any case); a parameter other than
    # a UTF-8 charset is left to the full path, which says what it makes of it.
    params = request.content_params or {}
    if request.content_type != "application/json" or any(name != "charset" for name in params):
        raise Decline
    if params.get("charset", "utf-8").lower() != "utf-8":
        raise Decline
    try:
        return json_decode(request.body)
    except (JSONBodyError, RequestDataTooBig):
        raise Decline from None


def query_params(request: ShortRequest, *, allowed: frozenset[str]) -> dict[str, str]:
    """Query parameters given once each and all in `allowed`; otherwise Decline."""
    found: dict[str, str] = {}
    for name, values in request.GET.lists():
        if name not in allowed or len(values) != 1:
            raise Decline
        found[name] = values[0]
    return found
