"""URL resolution remembered per path, for every request Django answers.

Django resolves each request's path by trying the URLconf's patterns in order, building the list
of patterns tried as it goes: ~40-70 µs for an API route under the nested includes of urls.py,
more than everything else a simple authenticated GET costs in Python. What a path resolves to
depends only on the path and the URLconf (our converters are pure functions of the text), so the
server's handler remembers each path's match on the URLconf's resolver, and gives each request a
copy of it whose argument dicts are its own.

Bounded: at `LIMIT` remembered paths (ids in paths make them many) the memory is emptied and
fills again. Paths that resolve to nothing (404) are never remembered. A changed ROOT_URLCONF
(tests' override_settings) gets a new resolver from Django, hence an empty memory; a request
whose middleware set its own `request.urlconf` is resolved as Django does.
"""

from __future__ import annotations

from typing import Any

import django
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest
from django.urls import URLResolver, get_resolver
from django.urls.resolvers import ResolverMatch

from segops_server.core.memo import memo_put

LIMIT = 4096
_MEMORY = "_segops_matches"  # the attribute of a resolver that holds its remembered matches
_ARGUMENT_DICTS = ("kwargs", "captured_kwargs", "extra_kwargs")


def resolved(resolver: URLResolver, path: str) -> ResolverMatch:
    """`resolver.resolve(path)` (Resolver404 as it raises it), remembered per path."""
    memory: dict[str, ResolverMatch] | None = resolver.__dict__.get(_MEMORY)
    if memory is None:
        memory = resolver.__dict__.setdefault(_MEMORY, {})
    found = memory.get(path)
    if found is None:
        found = memo_put(memory, path, resolver.resolve(path), LIMIT)
    match = ResolverMatch.__new__(ResolverMatch)  # a copy (it refuses copy.copy: no pickling)
    attributes = match.__dict__
    attributes.update(found.__dict__)
    for name in _ARGUMENT_DICTS:  # the dicts a view or middleware could change: the request's own
        value = attributes.get(name)
        if value is not None:
            attributes[name] = dict(value)
    return match


class Handler(WSGIHandler):
    """Django's WSGI handler, resolving through `resolved`."""

    def resolve_request(self, request: HttpRequest) -> Any:
        if hasattr(request, "urlconf"):
            return super().resolve_request(request)
        match = resolved(get_resolver(), request.path_info)
        request.resolver_match = match
        return match


def django_application() -> Handler:
    """What `django.core.wsgi.get_wsgi_application()` gives, with the remembering handler."""
    django.setup(set_prefix=False)
    return Handler()
