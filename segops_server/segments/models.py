"""Segments, their saved definitions (versions) and their materialised members."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from segops_server.core.ids import MAX_ID_LENGTH
from segops_server.core.scoping import TenantScopedManager


class SegmentType(models.TextChoices):
    RULE = "rule", "Rule"
    AI = "ai", "AI"
    LOOKALIKE = "lookalike", "Lookalike"


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    COMPUTING = "computing", "Computing"
    COMPUTED = "computed", "Computed"
    FAILED = "failed", "Failed"


class ComputeState(models.TextChoices):
    IDLE = "idle", "Idle"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"


class Segment(models.Model):
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=2000)
    segment_type = models.CharField(max_length=20, choices=SegmentType.choices, default=SegmentType.RULE)
    definition = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    error = models.TextField(blank=True)
    member_count = models.BigIntegerField(default=0)
    last_computed_at = models.DateTimeField(null=True, blank=True)
    computed_version = models.ForeignKey(
        "SegmentVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Members of the current set carry this generation; a compute writes generation + 1 and then
    # moves this number in one UPDATE, so readers never see a half-written set.
    generation = models.BigIntegerField(default=0)
    compute_state = models.CharField(max_length=10, choices=ComputeState.choices, default=ComputeState.IDLE)
    # The running compute's lease: the worker that holds it renews it while it works; once it
    # has expired (the worker died) the compute is queued again (core/workers.py).
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Time-window rules drift as time passes; when set, the scheduler recomputes this often.
    refresh_interval_minutes = models.PositiveIntegerField(null=True, blank=True)
    # Real time: events re-evaluate the users they touch in this segment's current member set
    # (segments/live/); false keeps membership as old as the last compute.
    realtime = models.BooleanField(default=True)
    last_live_change_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantScopedManager()

    class Meta:
        indexes = [models.Index(fields=["tenant", "-created_at"], name="segment_tenant_recent")]

    def __str__(self) -> str:
        return self.name


class SegmentVersion(models.Model):
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="+")
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["segment", "number"], name="segment_version_unique")]

    def __str__(self) -> str:
        return f"{self.segment_id} v{self.number}"


class SegmentMember(models.Model):
    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey(
        "accounts.Tenant", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    segment = models.ForeignKey(
        Segment, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    # A row is a user's stay in the set: a member of every generation from `generation` (the
    # compute that brought them in) until `until_generation` (the one that took them out; null:
    # still in). A compute writes only the difference — who came, who left — and readers of
    # generation g see the rows with generation <= g < until_generation (members.py).
    generation = models.BigIntegerField()
    until_generation = models.BigIntegerField(null=True, blank=True)
    user_id = models.CharField(max_length=MAX_ID_LENGTH)
    computed_at = models.DateTimeField()  # when the compute that brought them in ran

    objects = TenantScopedManager()

    class Meta:
        constraints = [
            # Also the index of a segment's members by user id (pages, lookups, differences).
            models.UniqueConstraint(fields=["segment", "user_id", "generation"], name="segment_member_stay")
        ]
        # The delivery API: "which segments is this user in?"
        indexes = [models.Index(fields=["tenant", "user_id"], name="member_tenant_user")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.segment_id}"


class ChangeKind(models.TextChoices):
    ENTERED = "entered", "Entered"
    EXITED = "exited", "Exited"


class SegmentChange(models.Model):
    """A user who entered or exited a segment's member set with the compute of `generation`."""

    id = models.BigAutoField(primary_key=True)
    # As on SegmentMember: no foreign key constraints, so a compute writes thousands of rows without
    # a lookup each; a deleted segment's or tenant's changes are deleted in bulk (segment_delete,
    # receivers.py).
    tenant = models.ForeignKey(
        "accounts.Tenant", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    segment = models.ForeignKey(
        Segment, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    generation = models.BigIntegerField()
    user_id = models.CharField(max_length=MAX_ID_LENGTH)
    change = models.CharField(max_length=10, choices=ChangeKind.choices)
    at = models.DateTimeField()  # the compute's time, as the members' computed_at

    objects = TenantScopedManager()

    class Meta:
        indexes = [
            # The feed: a segment's changes after a cursor, oldest first.
            models.Index(fields=["segment", "id"], name="change_segment_feed"),
            # The retention purge: the oldest changes of every tenant.
            models.Index(fields=["at"], name="change_age"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.change} {self.segment_id}"


class LivePending(models.Model):
    """A user to evaluate again in the tenant's real-time segments from `due_at` on.

    One row per user (later events coalesce into it): written by ingestion in the events'
    transaction, or by the evaluator for the next moment time can change a membership. A worker
    claims rows under a lease; a row whose worker died is claimed again once its lease expires.
    `stamp` grows with every write, so a worker deletes only the row it evaluated, never one that
    a newer event wrote meanwhile."""

    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey(
        "accounts.Tenant", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    user_id = models.CharField(max_length=MAX_ID_LENGTH)
    due_at = models.DateTimeField()
    stamp = models.BigIntegerField(default=0)
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    objects = TenantScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "user_id"], name="live_pending_user")]
        indexes = [models.Index(fields=["due_at"], name="live_pending_due")]

    def __str__(self) -> str:
        return f"{self.user_id} due {self.due_at}"


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    PARQUET = "parquet", "Parquet"


class ExportStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"


class SegmentExport(models.Model):
    """A file of one member set (`user_id, computed_at`), written by the task worker."""

    # Random, so an export's id says nothing about how many others exist.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="+")
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="+")
    format = models.CharField(max_length=10, choices=ExportFormat.choices)
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    # The member set asked for, and the one written (a compute may swap in a newer one meanwhile).
    requested_generation = models.BigIntegerField()
    generation = models.BigIntegerField(null=True, blank=True)
    total_rows = models.BigIntegerField(null=True, blank=True)  # members when the work began
    row_count = models.BigIntegerField(default=0)  # rows written so far: the progress
    size_bytes = models.BigIntegerField(null=True, blank=True)
    file = models.CharField(max_length=255, blank=True)  # name in the "exports" storage
    error = models.TextField(blank=True)
    # The running export's lease, as on Segment: an expired one is run again by another worker.
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TenantScopedManager()

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "segment", "-created_at"], name="export_segment_recent"),
            models.Index(fields=["status", "created_at"], name="export_status_age"),
        ]

    def __str__(self) -> str:
        return f"{self.segment_id} {self.format} {self.status}"
