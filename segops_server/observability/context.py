"""The request being answered, for logs and metrics: its request id and, once known, its tenant.

A context variable rather than a thread-local: granian runs each request on one thread, and
the value is set when a request starts being answered (by the short way in core/fastpath.py or
RequestObservabilityMiddleware) and cleared at Django's request_finished signal, so a log line
knows its request.
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

HEADER = "X-Request-Id"
META_KEY = "HTTP_X_REQUEST_ID"
# Set in the WSGI environ by the short way, so a request it hands to Django keeps its id and its
# start time (the latency then covers both).
ENVIRON_ID = "segops.request_id"
ENVIRON_STARTED = "segops.started"

# An incoming id (from a proxy or a client) is kept only if it looks like one: letters, digits
# and . _ - : up to 64 characters. Anything else could forge log lines or carry a secret; it is
# replaced by one of ours.
WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,63}")


@dataclass(slots=True)
class RequestContext:
    request_id: str
    tenant_id: int | None = None


_current: ContextVar[RequestContext | None] = ContextVar("segops_request", default=None)


def request_id_for(environ: dict[str, Any]) -> str:
    """The request's id: the one already given to it, a well-formed incoming one, or a new one."""
    given = environ.get(ENVIRON_ID)
    if given is None:
        incoming = environ.get(META_KEY) or ""
        # Ours: 128 random bits, as a UUID4 has, at a fifth of the cost.
        given = incoming if WELL_FORMED.fullmatch(incoming) else os.urandom(16).hex()
        environ[ENVIRON_ID] = given
    return str(given)


def request_begin(environ: dict[str, Any]) -> RequestContext:
    """The request's context, current until `request_end` (at Django's request_finished)."""
    ctx = RequestContext(request_id=request_id_for(environ))
    _current.set(ctx)
    return ctx


def request_end(**kwargs: Any) -> None:
    """No request is being answered (a receiver of Django's request_finished signal)."""
    _current.set(None)


def current() -> RequestContext | None:
    return _current.get()


def tenant_note(tenant_id: int) -> None:
    """The request acts on this tenant (called where the tenant is resolved)."""
    ctx = _current.get()
    if ctx is not None:
        ctx.tenant_id = tenant_id
