"""The URLconf as a list of routes, each with the methods its view answers (for access tests)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from segops_server.core.converters import IdConverter

# What a view that restricts nothing answers (a plain function view takes any method).
EVERY_METHOD = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@dataclass(frozen=True)
class Route:
    name: str  # "segment-list", or "console:segment-list" inside a namespace
    methods: tuple[str, ...]
    params: dict[str, bool]  # path parameter → True when it takes a numeric id (IdConverter)

    @property
    def console(self) -> bool:
        return self.name.startswith("console:")


def view_methods(callback: Callable[..., Any]) -> tuple[str, ...]:
    """The methods a view answers: a DRF view's handlers (HEAD wherever GET is, and OPTIONS, which
    DRF answers for every view), or the list a function view's `require_http_methods` holds."""
    view_class = getattr(callback, "cls", None)
    if view_class is not None:
        initkwargs: dict[str, Any] = getattr(callback, "initkwargs", {})
        allowed = initkwargs.get("http_method_names", view_class.http_method_names)
        # Django's View.setup() answers HEAD with the GET handler wherever there is one.
        return tuple(m.upper() for m in allowed if hasattr(view_class, "get" if m == "head" else m))
    func: Any = callback
    while func is not None:  # down the decorators (functools.wraps sets __wrapped__)
        allowed = inspect.getclosurevars(func).nonlocals.get("request_method_list")
        if allowed is not None:
            return tuple(allowed)
        func = getattr(func, "__wrapped__", None)
    return EVERY_METHOD


def _params(pattern: Any) -> dict[str, bool]:
    converters = getattr(pattern, "converters", {})
    return {name: isinstance(converters.get(name), IdConverter) for name in pattern.regex.groupindex}


def _walk(patterns: list[Any], namespace: str, outer: dict[str, bool]) -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            # The enclosing pattern's parameters (the console's /t/<slug>/) belong to every route in it.
            yield from _walk(entry.url_patterns, inner, {**outer, **_params(entry.pattern)})
        elif isinstance(entry, URLPattern):
            yield Route(
                name=f"{namespace}{entry.name}" if entry.name else f"<unnamed: {entry.pattern}>",
                methods=view_methods(entry.callback),
                params={**outer, **_params(entry.pattern)},
            )


def url_routes() -> list[Route]:
    """Every route of the root URLconf, in resolution order."""
    return list(_walk(get_resolver().url_patterns, "", {}))
