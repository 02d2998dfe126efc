"""Events as received, the per-user profile they build, identity aliases and idempotency keys."""

from __future__ import annotations

from django.db import models

from segops_server.core.ids import MAX_ID_LENGTH
from segops_server.core.scoping import TenantScopedManager

IDENTIFY_EVENT = "context_identified"


class Event(models.Model):
    """One user event. Append-only; written in bulk (COPY on PostgreSQL)."""

    id = models.BigAutoField(primary_key=True)
    # No database-level cascade through Django's collector for millions of rows: a tenant's
    # events are deleted in one statement by the pre_delete receiver.
    tenant = models.ForeignKey(
        "accounts.Tenant", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    user_id = models.CharField(max_length=MAX_ID_LENGTH)
    event_type = models.CharField(max_length=100)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    payload = models.JSONField(default=dict)
    # NULL, not "", when absent: bulk COPY writes it as is and "no anonymous id" stays distinct.
    anonymous_id = models.CharField(max_length=MAX_ID_LENGTH, null=True, blank=True)  # noqa: DJ001
    # [{path, message}] when the event's schema warns and the payload does not conform; else NULL.
    schema_violations = models.JSONField(null=True, blank=True)

    objects = TenantScopedManager()

    class Meta:
        indexes = [
            # Segment conditions: one event type across users, or one user's events of a type, in a window.
            models.Index(
                fields=["tenant", "event_type", "user_id", "occurred_at"], name="event_type_user_time"
            ),
            # Explorer and per-user reads: one user's events in time order.
            models.Index(fields=["tenant", "user_id", "occurred_at"], name="event_user_time"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} by {self.user_id}"


class UserProfile(models.Model):
    """Maintained on ingestion: first and last seen, event count, and the identified traits."""

    tenant = models.ForeignKey(
        "accounts.Tenant", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    user_id = models.CharField(max_length=MAX_ID_LENGTH)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    event_count = models.BigIntegerField(default=0)
    properties = models.JSONField(default=dict)
    # occurred_at of the context_identified event the properties come from: the latest wins.
    properties_at = models.DateTimeField(null=True)

    objects = TenantScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "user_id"], name="profile_unique")]

    def __str__(self) -> str:
        return self.user_id


class ProfilePending(models.Model):
    """Per-request profile deltas on PostgreSQL, folded into UserProfile before profiles are read.

    Appending here costs a few microseconds a row and never waits on a lock; upserting the
    profile rows themselves on every request cost more than storing the events.
    """

    id = models.BigAutoField(primary_key=True)
    tenant_id = models.BigIntegerField()
    user_id = models.CharField(max_length=MAX_ID_LENGTH)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    event_count = models.BigIntegerField()
    properties = models.JSONField(null=True)
    properties_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return self.user_id


class EdgeKind(models.TextChoices):
    ALIAS = "alias", "Alias"  # an anonymous visitor identified as a user (first identify wins)
    MERGE = "merge", "Merge"  # a user merged into another by hand (identity/services.py)


class IdentityAlias(models.Model):
    """One identity edge, anonymous_id -> user_id, resolved at read time.

    An alias (`anon_<anonymous_id> -> user`) is recorded by the first identify and never
    rewritten. A merge (`from_user_id -> into_user_id`, kept in the same columns) is
    authoritative and overrides an edge. Every edge points at a final id (one hop), so reads
    resolve with one join whatever the history of merges.
    """

    tenant = models.ForeignKey(
        "accounts.Tenant", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    anonymous_id = models.CharField(max_length=MAX_ID_LENGTH)
    user_id = models.CharField(max_length=MAX_ID_LENGTH)
    created_at = models.DateTimeField()
    kind = models.CharField(
        max_length=10, choices=EdgeKind.choices, default=EdgeKind.ALIAS, db_default="alias"
    )

    objects = TenantScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "anonymous_id"], name="alias_unique")]
        indexes = [models.Index(fields=["tenant", "user_id"], name="alias_user")]

    def __str__(self) -> str:
        return f"{self.anonymous_id} -> {self.user_id}"


class SeenMessage(models.Model):
    """message_ids already stored, so a client's retry is acknowledged but not stored twice."""

    tenant = models.ForeignKey(
        "accounts.Tenant", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    message_id = models.CharField(max_length=255)

    objects = TenantScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "message_id"], name="seen_message_unique")]

    def __str__(self) -> str:
        return self.message_id


class EventShipCursor(models.Model):
    """How far events were copied to the ClickHouse events engine: one row, the last event id
    shipped. Advanced in the transaction that holds its row lock while a batch is shipped, so
    shippers take turns and a batch is never skipped (events_engine/shipping.py)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"events shipped up to {self.last_event_id}"
