"""The URLconf as a list of routes, each with the methods its view answers (for access tests)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from segops_server.core.converters import IdConverter
from segops_server.core.urlconf import url_entries

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


def url_routes() -> list[Route]:
    """Every route of the root URLconf, in resolution order."""
    routes = []
    for entry in url_entries():
        params: dict[str, bool] = {}
        # The enclosing patterns' parameters (the console's /t/<slug>/) belong to every route in them.
        for pattern in (*entry.outer, entry.pattern.pattern):
            params.update(_params(pattern))
        name = entry.name or f"<unnamed: {entry.pattern.pattern}>"
        routes.append(Route(name=name, methods=view_methods(entry.pattern.callback), params=params))
    return routes
