"""SQL text with its parameters: the pieces the compiler and the condition types build queries from."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal
from string import Formatter
from typing import Any

from segops_server.ingestion.models import Event, IdentityAlias, UserProfile

EVENTS = Event._meta.db_table
PROFILES = UserProfile._meta.db_table
EDGES = IdentityAlias._meta.db_table
# The same rows with ids resolved through the identity edges (Compiler.resolved_sources).
RESOLVED_EVENTS = "resolved_events"
RESOLVED_PROFILES = "resolved_profiles"


@dataclass(frozen=True)
class Sql:
    """A piece of SQL text with its parameters, in order."""

    text: str
    params: tuple[Any, ...] = ()


_formatter = Formatter()


def sql(template: str, **parts: Sql | str) -> Sql:
    """Fill `{name}` fields with pieces (their params follow in order) or with our own names.

    Plain strings are inserted as text, so they must be ours (aliases, table names); values
    from a definition always arrive as Sql pieces holding a placeholder. `{events}` and
    `{profiles}` are the tables unless given (the compiler gives its own: Compiler.events).
    """
    parts = {"events": EVENTS, "profiles": PROFILES, **parts}
    text: list[str] = []
    params: list[Any] = []
    for literal, name, _, _ in _formatter.parse(template):
        text.append(literal)
        if name is None:
            continue
        part = parts[name]
        if isinstance(part, Sql):
            text.append(part.text)
            params.extend(part.params)
        else:
            text.append(part)
    return Sql("".join(text), tuple(params))


def exact(value: int | float) -> Decimal:
    """numeric is exact: a float as its shortest repr, as JSON carries it ("0.1")."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def joined(separator: str, pieces: list[Sql]) -> Sql:
    return Sql(
        separator.join(p.text for p in pieces), tuple(itertools.chain.from_iterable(p.params for p in pieces))
    )
