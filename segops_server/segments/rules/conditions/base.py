"""What every condition type provides: one small class per type, with the same methods.

A type is found by its name in the registry (`conditions/__init__.py`); the generic machinery
(groups and nesting in dsl.py, query assembly in compiler.py, the walk over users in
reference.py, explain.py, the console's rule builder) calls these methods and never asks which
type it holds. Adding a type is adding a module with a subclass and listing it in the registry.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from segops_server.ingestion.models import Event
    from segops_server.segments.rules.compiler import Compiler, Scope
    from segops_server.segments.rules.conditions.form import RowField
    from segops_server.segments.rules.conditions.sqltext import Sql
    from segops_server.segments.rules.reference import UserFacts


class DefinitionError(Exception):
    """A definition is malformed; the message names the position and the field."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ConditionType:
    """One kind of condition: its fields, its checks, its SQL, its meaning, its form."""

    name: ClassVar[str]
    label: ClassVar[str]  # the rule builder's choice
    # Required fields, then optional ones with their defaults (None: absent).
    required: ClassVar[tuple[str, ...]]
    optional: ClassVar[dict[str, Any]] = {}
    # The operators the rule builder offers, and the one a new row starts with.
    operators: ClassVar[tuple[str, ...]] = ()
    default_operator: ClassVar[str] = ""
    # The rule builder's inputs for this type, by name (the posted form's fields).
    form_names: ClassVar[tuple[str, ...]]

    # ---- the DSL

    def validate(self, fields: dict[str, Any], path: str) -> dict[str, Any]:
        """The condition normalised, without its type; `fields` has every field, defaults filled.

        Raise DefinitionError naming `path` and the field on the first problem.
        """
        raise NotImplementedError

    def referenced_segment(self, condition: dict[str, Any]) -> int | None:
        """The segment this (possibly not yet validated) condition refers to, if any."""
        return None

    def event_types(self, condition: dict[str, Any]) -> frozenset[str] | None:
        """The event types whose new events can change the condition's answer for their user, or
        None when an event of any type can (real-time evaluation skips a segment for a user whose
        events since its last evaluation are of none of them: segments/live/triggers.py). The
        default is None, so a new type is evaluated for every event until it says otherwise."""
        return None

    def time_windows(self, condition: dict[str, Any]) -> list[tuple[str, str, float]]:
        """How time alone changes the condition: (which, event_type, days) for each window, where
        the answer can change `days` after the user's "first" event of the type still inside
        the window, or after their "last" one (segments/live/timers.py)."""
        return []

    # ---- SQL

    def driving_event_type(self, condition: dict[str, Any]) -> str | None:
        """An event type every user matching the condition has done (its GROUP BY can drive)."""
        return None

    def sql(self, compiler: Compiler, condition: dict[str, Any], scope: Scope, stack: tuple[int, ...]) -> Sql:
        """A boolean SQL expression over the scope's users, for either dialect."""
        raise NotImplementedError

    # ---- the reference meaning, in plain Python

    def evaluate(self, condition: dict[str, Any], user: UserFacts) -> bool:
        raise NotImplementedError

    # ---- explain

    def value_seen(
        self, condition: dict[str, Any], events: list[Event], traits: dict[str, Any], now: datetime
    ) -> Any:
        """The value the condition looked at for one user (None when it has no single value)."""
        return None

    # ---- the console's rule builder: strings from the form in, strings to the form out

    def form_fields(self, values: dict[str, str], segments: list[tuple[int, str]]) -> list[RowField]:
        """The row's inputs after the type's own select, in order."""
        raise NotImplementedError

    def from_form(self, values: dict[str, str]) -> dict[str, Any]:
        """The condition (without its type) the row describes; the DSL judges it afterwards."""
        raise NotImplementedError

    def to_form(self, condition: dict[str, Any]) -> dict[str, str]:
        """The row's values for a saved condition."""
        raise NotImplementedError

    def form_message(self, message: str) -> str:
        """A DSL error as the row shows it (a type may label a field differently)."""
        return message
