"""DRF's content negotiation, its answer remembered per Accept header.

DRF parses the Accept header and orders its media ranges on every request (~10-15 µs, the most
of any one step of a simple GET after URL resolution). Its choice depends only on the header,
the view's renderers (their classes and media types) and a format suffix or `?format=`; so the
answer for a header and a set of renderers is remembered, and requests that name a format are
negotiated as DRF does. Bounded: at `LIMIT` headers (a client chooses them) the memory empties.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from segops_server.core.memo import memo_put

LIMIT = 256
_NOT_ACCEPTABLE = -1

_memory: dict[tuple[Any, ...], tuple[int, str]] = {}


class RememberingContentNegotiation(DefaultContentNegotiation):
    """DefaultContentNegotiation's answers, each found once per Accept header and renderers."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)  # DRF gives a list
        if format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE):
            return super().select_renderer(request, renderers, format_suffix)  # type: ignore[no-any-return]
        key = (
            request.META.get("HTTP_ACCEPT", "*/*"),
            *((type(renderer), renderer.media_type) for renderer in renderers),
        )
        found = _memory.get(key)
        if found is None:
            try:
                renderer, media_type = super().select_renderer(request, renderers)
            except NotAcceptable:
                found = (_NOT_ACCEPTABLE, "")
            else:
                found = (next(i for i, r in enumerate(renderers) if r is renderer), media_type)
            memo_put(_memory, key, found, LIMIT)
        index, media_type = found
        if index == _NOT_ACCEPTABLE:
            raise NotAcceptable(available_renderers=renderers)
        return renderers[index], media_type
