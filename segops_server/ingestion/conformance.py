"""An event checked against its type's schema (schemas/enforcement.py), on both ingestion paths:
the DRF views and the short way call `event_conform`, so they refuse and flag alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

from segops_server.ingestion.validation import EventError, ValidEvent
from segops_server.schemas.enforcement import CompiledSchema
from segops_server.schemas.models import Enforcement

_encoder = msgspec.json.Encoder()


class SchemaRejected(EventError):
    """The event's type has a `reject` schema and the payload does not conform."""

    def __init__(self, schema: CompiledSchema, violations: list[dict[str, str]]) -> None:
        first = violations[0]
        described = "; ".join(f"{v['path']}: {v['message']}" for v in violations)
        super().__init__(first["path"], f"Refused by the {schema.event_type} schema: {described}")
        self.schema_id = schema.schema_id
        self.violations = violations

    def field_errors(self) -> dict[str, list[str]]:
        """For a single event's 400: each property named, with what is wrong with it."""
        errors: dict[str, list[str]] = {}
        for v in self.violations:
            errors.setdefault(v["path"], []).append(v["message"])
        return errors


def event_conform(event: ValidEvent, schemas: Mapping[str, CompiledSchema]) -> ValidEvent:
    """The event as stored: unchanged without an enforced schema or when it conforms; with its
    violations when its schema warns; SchemaRejected when its schema rejects."""
    schema = schemas.get(event.event_type)
    if schema is None:
        return event
    violations = schema.violations(event.payload)
    if not violations:
        return event
    if schema.enforcement == Enforcement.REJECT:
        raise SchemaRejected(schema, violations)
    return msgspec.structs.replace(
        event, violations_json=_encoder.encode(violations).decode(), schema_id=schema.schema_id
    )


def violations_by_schema(events: Iterable[ValidEvent]) -> dict[int, int]:
    """{schema id: events among these stored with its violations}."""
    counts: dict[int, int] = {}
    for e in events:
        if e.schema_id is not None:
            counts[e.schema_id] = counts.get(e.schema_id, 0) + 1
    return counts
