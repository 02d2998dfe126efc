"""The segments app: its signal receivers, and RE2 as SQLite's REGEXP on every connection."""

from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _sqlite_regexp_is_re2(sender: Any, connection: Any, **kwargs: Any) -> None:
    # Django registers REGEXP as Python's backtracking re; a rule's pattern must never run
    # there (a catastrophic pattern holds the database lock for every tenant).
    if connection.vendor == "sqlite":
        from segops_server.segments.rules.regex import sqlite_regexp

        connection.connection.create_function("regexp", 2, sqlite_regexp, deterministic=True)


class SegmentsConfig(AppConfig):
    name = "segops_server.segments"
    label = "segments"

    def ready(self) -> None:
        from segops_server.segments import receivers  # noqa: F401  (purges members with their tenant)

        connection_created.connect(_sqlite_regexp_is_re2, dispatch_uid="segments.sqlite_regexp_is_re2")
