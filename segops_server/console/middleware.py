"""The console's Content-Security-Policy header."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

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
