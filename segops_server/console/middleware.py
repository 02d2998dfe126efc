"""The console's Content-Security-Policy header, and its messages' storage built when used."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

# Scripts and styles from this origin only: no inline script or style, no eval, no third-party
# host. htmx is vendored (static/console/htmx.min.js) and configured not to eval or inject its
# own <style>, so this needs no nonce. `form-action 'self'` stops an injected form from posting
# a freshly shown key elsewhere; `frame-ancestors 'none'` repeats X-Frame-Options for browsers
# that read only CSP.
POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


# Pages outside the console that get the same policy: the Swagger UI at /api/docs/, served
# from our own static files with its start script as a file (see urls.py).
OTHER_PAGES = frozenset({"docs"})


class ContentSecurityPolicyMiddleware:
    """Sets the policy on every console response (pages, fragments, errors) and on the API docs.

    A small middleware rather than django-csp: Django 5.2 has no CSP support of its own (6.0
    adds one) and the policy is a single constant with no nonces. It is scoped by the console's
    URL namespace (plus the docs page) because JSON answers have nothing for a policy to guard.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and ("console" in match.namespaces or match.url_name in OTHER_PAGES):
            response.headers.setdefault("Content-Security-Policy", POLICY)
        return response


class LazyMessageMiddleware(MessageMiddleware):
    """Django's MessageMiddleware with the storage built on first use.

    Only console pages show or add messages; building the storage (a session storage and a
    signed-cookie one) cost every API request ~10 µs. A storage never used has nothing to store:
    Django's `update` then writes nothing, so skipping it answers the same.
    """

    def process_request(self, request: HttpRequest) -> None:
        request._messages = SimpleLazyObject(lambda: default_storage(request))  # type: ignore[attr-defined]

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages.__dict__["_wrapped"] is empty:
            return response
        return super().process_response(request, response)
