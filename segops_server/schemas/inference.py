"""A schema per event type inferred from sample events: each property's JSON type, required when
every sample of the type carries it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from segops_server.schemas.enforcement import json_type


def _merged(types: Counter[str]) -> str:
    """One type for a property seen with several: integers and numbers are numbers; otherwise the
    most common (ties by name, so the answer does not depend on the samples' order)."""
    if set(types) <= {"integer", "number"}:
        return "number" if "number" in types else "integer"
    return min(types, key=lambda name: (-types[name], name))


def schemas_infer(events: Sequence[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """[(event_type, payload)] → [{event_type, properties, events}], by event type. A property
    that was only ever null has no type to give and is left out."""
    seen: dict[str, list[dict[str, Any]]] = {}
    for event_type, payload in events:
        seen.setdefault(event_type, []).append(payload)
    inferred = []
    for event_type in sorted(seen):
        payloads = seen[event_type]
        types: dict[str, Counter[str]] = {}
        present: Counter[str] = Counter()
        for payload in payloads:
            for name, value in payload.items():
                present[name] += 1
                if value is not None:
                    types.setdefault(name, Counter())[json_type(value)] += 1
        properties = {
            name: {"type": _merged(types[name]), "required": present[name] == len(payloads)}
            for name in sorted(types)
        }
        inferred.append({"event_type": event_type, "properties": properties, "events": len(payloads)})
    return inferred
