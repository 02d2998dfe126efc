"""The URLconf as a flat list: each pattern with its namespaced name and its enclosing patterns."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass(frozen=True)
class Entry:
    name: str  # "segment-list", or "console:segment-list" inside a namespace; "" when unnamed
    pattern: URLPattern
    outer: tuple[Any, ...]  # the enclosing resolvers' patterns, outermost first

    @property
    def view_class(self) -> type | None:
        """The class of a class-based view (DRF's or Django's), else None."""
        return getattr(self.pattern.callback, "view_class", None)


def url_entries(
    patterns: list[Any] | None = None, namespace: str = "", outer: tuple[Any, ...] = ()
) -> Iterator[Entry]:
    """Every pattern of the root URLconf (or of `patterns`), in resolution order."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from url_entries(entry.url_patterns, inner, (*outer, entry.pattern))
        elif isinstance(entry, URLPattern):
            yield Entry(f"{namespace}{entry.name}" if entry.name else "", entry, outer)
