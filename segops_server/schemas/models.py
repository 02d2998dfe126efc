"""An event type's schema: its payload's properties (type, required) and how ingestion enforces it."""

from __future__ import annotations

from django.db import models

from segops_server.core.scoping import TenantScopedManager


class Enforcement(models.TextChoices):
    OFF = "off", "Off"  # documented only: ingestion does not check
    WARN = "warn", "Warn"  # stored, and the violation counted and kept on the event
    REJECT = "reject", "Reject"  # refused (a single event) or skipped (a batch event)


class PropertyType(models.TextChoices):
    STRING = "string", "String"
    NUMBER = "number", "Number"
    INTEGER = "integer", "Integer"
    BOOLEAN = "boolean", "Boolean"
    OBJECT = "object", "Object"
    ARRAY = "array", "Array"


class EventSchema(models.Model):
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="+")
    event_type = models.CharField(max_length=100)
    # {name: {"type": PropertyType, "required": bool}}; names absent here are allowed on events.
    properties = models.JSONField(default=dict)
    enforcement = models.CharField(max_length=10, choices=Enforcement.choices, default=Enforcement.OFF)
    # Events stored with violations (warn) and events refused or skipped (reject), since creation.
    violation_count = models.BigIntegerField(default=0)
    rejection_count = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "event_type"], name="event_schema_unique_type")
        ]

    def __str__(self) -> str:
        return self.event_type
