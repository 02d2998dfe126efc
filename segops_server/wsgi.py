"""WSGI entry point: Django, with the short way for the hottest endpoints in front (core/fastpath.py)."""

from __future__ import annotations

import gc
import os
from typing import TYPE_CHECKING, Any

from segops_server.core.middleware import chunked_bodies_buffered
from segops_server.core.proxy import forwarded_allow_ips, process_environment_dropped, trusted_proxy_scheme

if TYPE_CHECKING:
    from segops_server.core.fastpath import FastPath

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "segops_server.settings")


def build_application() -> FastPath:
    """A new application; middleware and the short way read the settings as they are now."""
    from segops_server.core.routes import django_application

    django_app = django_application()  # sets Django up: the apps' modules import after it
    from django.conf import settings
    from django.db import connection

    from segops_server.core.writelock import gate

    if connection.vendor == "sqlite" and not settings.TESTING:  # the suite's in-process app: no gate
        gate.enable(settings.SEGOPS_SQLITE_WRITE_WAIT_SECONDS)  # requests never queue on the lock
    from segops_server.accounts.permissions import policies_check
    from segops_server.core.fastpath import FastPath, short_way_routes
    from segops_server.keys.fastpath import short_way_grant

    policies_check()
    # The routes whose views opt in, from the URLconf; the view's policy is applied to each
    # request by the short way's credential adapter.
    return FastPath(django_app, short_way_routes(), grant=short_way_grant)


def _serving_counted(app: FastPath) -> Any:
    """The requests in progress are counted for the group commit of single events, when it is on
    (SEGOPS_GROUP_COMMIT_MS, read at start like every server setting)."""
    from django.conf import settings

    from segops_server.ingestion.groupcommit import serving_counted

    return serving_counted(app) if settings.SEGOPS_GROUP_COMMIT_MS > 0 else app


# Outermost first: the process environment leaves each request, then a trusted proxy's HTTPS is
# seen and a chunked body is read (by the short way too).
application = process_environment_dropped(
    trusted_proxy_scheme(
        chunked_bodies_buffered(_serving_counted(build_application())), forwarded_allow_ips()
    )
)
# Everything loaded so far lives as long as the process: out of the cyclic collector's sight, a
# full collection no longer walks it (it stalled a worker for 50-70 ms under load).
gc.freeze()
