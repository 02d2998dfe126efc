"""Checking payloads against event schemas: the JSON Schema a schema stands for, its compiled
validator, violations as `{path, message}`, and each tenant's enforced schemas cached per process.

Ingestion (both its DRF views and the short way) checks every event through `tenant_schemas`:
with the cache on, a request costs one epoch read and a dict lookup for a tenant without
enforced schemas, and one jsonschema validation per event whose type has one. Any schema change
bumps the shared epoch (core/epochs.py) before and once more after its transaction commits, so
every process reloads on its next request, and nothing stale outlives a committed change.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from segops_server.core.epochs import Epoch
from segops_server.schemas.models import Enforcement, EventSchema

ENTRY_SECONDS = 60.0
MAX_ENTRIES = 10_000
MAX_ERRORS = 20  # violations reported per event: enough to fix it, bounded whatever was sent

_EPOCH = Epoch("event-schemas")
_lock = threading.Lock()
_entries: dict[int, tuple[int | str, float, dict[str, CompiledSchema]]] = {}


def json_schema_of(properties: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The JSON Schema of a payload: an object with these typed properties, the required ones
    present; other properties are allowed.

    Checked with Draft 7: `type`, `properties` and `required` mean there what they mean in 2020-12
    (1.0 is an integer in both), and jsonschema checks Draft 7 in about 60 % of the time it takes
    for 2020-12 (no dynamic scopes to track), which ingestion pays per event of an enforced type.
    """
    return {
        "type": "object",
        "properties": {name: {"type": spec["type"]} for name, spec in properties.items()},
        "required": [name for name, spec in properties.items() if spec.get("required")],
    }


def _path(error: ValidationError) -> str:
    parts = [str(part) for part in error.absolute_path]
    if error.validator == "required":
        # jsonschema reports a missing property on the object, one error per missing name.
        missing = [name for name in error.validator_value if name not in error.instance]
        named = next((name for name in missing if error.message.startswith(repr(name))), None)
        if named is not None:
            parts.append(named)
    return ".".join(["payload", *parts])


def _message(error: ValidationError) -> str:
    if error.validator == "required":
        return "Required by the schema, missing."
    if error.validator == "type":
        return f"Must be of type {error.validator_value}, not {json_type(error.instance)}."
    return str(error.message)[:200]


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


@dataclass(frozen=True)
class CompiledSchema:
    schema_id: int
    event_type: str
    enforcement: str
    validator: Draft7Validator

    def violations(self, payload: Any) -> list[dict[str, str]]:
        """`[{path, message}]`, empty when the payload conforms (paths as `payload.<name>`)."""
        errors = []
        for error in self.validator.iter_errors(payload):
            errors.append({"path": _path(error), "message": _message(error)})
            if len(errors) >= MAX_ERRORS:
                break
        return sorted(errors, key=lambda e: e["path"])


def compile_schema(schema: EventSchema) -> CompiledSchema:
    validator = Draft7Validator(json_schema_of(schema.properties))
    return CompiledSchema(schema.pk, schema.event_type, schema.enforcement, validator)


def _load(tenant_id: int) -> dict[str, CompiledSchema]:
    enforced = EventSchema.objects.for_tenant(tenant_id).exclude(enforcement=Enforcement.OFF)
    return {schema.event_type: compile_schema(schema) for schema in enforced}


def tenant_schemas(tenant_id: int) -> Mapping[str, CompiledSchema]:
    """The tenant's enforced schemas (warn, reject) by event type, compiled."""
    if not settings.SEGOPS_SCHEMA_CACHE:
        return _load(tenant_id)
    current = _EPOCH.current()
    entry = _entries.get(tenant_id)
    if entry is not None and entry[0] == current and time.monotonic() - entry[1] <= ENTRY_SECONDS:
        return entry[2]
    loaded = _load(tenant_id)  # read after the epoch: a change committed in between leaves it stale
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[tenant_id] = (current, time.monotonic(), loaded)
    return loaded


def epoch_bump() -> None:
    """Every process drops its cached schemas (called on a change, and after it commits)."""
    if settings.SEGOPS_SCHEMA_CACHE:
        _EPOCH.bump()


def cache_clear() -> None:
    with _lock:
        _entries.clear()
