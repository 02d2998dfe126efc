"""Storing events: one transaction per request, committed before the 202 is sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction

from segops_server.accounts.models import Tenant
from segops_server.ingestion import groupcommit, storage
from segops_server.ingestion.conformance import violations_by_schema
from segops_server.ingestion.validation import ValidEvent
from segops_server.observability.metrics import EVENTS_INGESTED, EVENTS_SKIPPED
from segops_server.schemas.services import schema_counts_add
from segops_server.segments.live import gate as live_gate
from segops_server.segments.live import queue as live_queue

# Up to this many events go in one statement (PostgreSQL); larger batches use COPY.
ONE_STATEMENT_MAX = 50


def events_store(*, tenant: Tenant, events: Sequence[ValidEvent], received_at: datetime) -> int:
    """Store events (retries with a known message_id are acknowledged, not stored twice).

    Returns how many were new. The transaction commits before the caller answers, so a 202
    means the events are on disk. Events stored with schema violations (warn) add to their
    schemas' counts in the same transaction. A single event outside a transaction may share
    its commit with the process's other single events of the moment (ingestion/groupcommit.py):
    it returns once that commit is done, or raises GroupCommitFailed with nothing stored.
    """
    if not events:
        return 0
    # Whether their users are queued for real-time evaluation: asked before the transaction, as
    # the gate's cache serves only a caller outside one.
    live = live_gate.tenant_is_live(tenant.pk)
    entry = groupcommit.Entry(tenant_id=tenant.pk, events=events, received_at=received_at, live=live)
    if len(events) == 1 and groupcommit.grouping():
        return groupcommit.committer.store(entry, commit=_group_write, alone=_entry_store)
    return _entry_store(entry)


def _one_statement(entry: groupcommit.Entry) -> bool:
    """PostgreSQL, a small request without message ids or schemas: one statement stores it."""
    return (
        len(entry.events) <= ONE_STATEMENT_MAX
        and connection.vendor == "postgresql"
        and all(e.message_id is None and e.schema_id is None for e in entry.events)
    )


def _entry_store(entry: groupcommit.Entry) -> int:
    """One request's events in their own transaction (or statement); returns how many were new."""
    if _one_statement(entry) and not connection.in_atomic_block:
        storage.events_store_one_statement(
            tenant_id=entry.tenant_id, events=entry.events, received_at=entry.received_at, live=entry.live
        )
        stored = len(entry.events)
    else:
        with transaction.atomic():
            stored = _entry_write(entry)
    _entry_count(entry, stored)
    return stored


def _group_write(entries: Sequence[groupcommit.Entry]) -> list[int]:
    """Several requests' events in one transaction, each request's rows those it writes alone, so
    the rows are those of the same requests one after another. On PostgreSQL the requests whose
    rows nothing else in the group reads (events and profile deltas only) share one statement;
    when all do, that statement is the whole transaction: one round trip, one commit."""
    shared = [
        e
        for e in entries
        if _one_statement(e) and storage.can_share_one_statement(events=e.events, live=e.live)
    ]
    apart = [e for e in entries if e not in shared]
    if not apart:
        storage.requests_store_one_statement([(e.tenant_id, e.events, e.received_at) for e in shared])
        stored = {id(e): len(e.events) for e in shared}
    else:
        with transaction.atomic():
            if shared:
                storage.requests_store_one_statement([(e.tenant_id, e.events, e.received_at) for e in shared])
            stored = {id(e): len(e.events) for e in shared}
            stored.update({id(e): _entry_write(e) for e in apart})
    counts = [stored[id(e)] for e in entries]
    for entry, count in zip(entries, counts, strict=True):
        _entry_count(entry, count)
    return counts


def _entry_write(entry: groupcommit.Entry) -> int:
    """One request's rows, inside the caller's transaction (as a request is written inside one,
    never by the one-statement path); returns how many events were new."""
    tenant_id, events, received_at = entry.tenant_id, entry.events, entry.received_at
    message_ids = [e.message_id for e in events if e.message_id is not None]
    if message_ids:
        fresh = storage.messages_claim(tenant_id=tenant_id, message_ids=sorted(set(message_ids)))
        kept: list[ValidEvent] = []
        for e in events:
            if e.message_id is None:
                kept.append(e)
            elif e.message_id in fresh:
                fresh.discard(e.message_id)  # a repeat inside the same batch counts once
                kept.append(e)
        events = kept
    if events:
        storage.events_insert(tenant_id=tenant_id, events=events, received_at=received_at)
        if connection.vendor == "postgresql":
            storage.pending_insert(tenant_id=tenant_id, events=events)
        else:
            storage.profiles_upsert(tenant_id=tenant_id, events=events)
        storage.aliases_insert(tenant_id=tenant_id, events=events, now=received_at)
        if violations := violations_by_schema(events):
            schema_counts_add(tenant_id=tenant_id, violations=violations)
        if entry.live:  # their users' real-time evaluation, durable with the events (segments/live/)
            live_queue.users_enqueue(
                tenant_id=tenant_id, user_ids=(e.user_id for e in events), due_at=received_at
            )
    return len(events)


def _entry_count(entry: groupcommit.Entry, stored: int) -> None:
    """Once committed: the events stored and the duplicates skipped."""
    EVENTS_INGESTED.inc(stored)
    if duplicates := len(entry.events) - stored:
        EVENTS_SKIPPED.labels(reason="duplicate").inc(duplicates)


def profiles_refresh(*, tenant: Tenant) -> int:
    """Before a read of `tenant`'s profiles: fold at most one batch of its own pending deltas.

    A read never folds another tenant's rows, and never more than SEGOPS_PROFILE_FOLD_BATCH of
    its own: a Viewer's GET does not pay for anyone's backlog. What is left (a burst larger than
    a batch) is folded by the worker's scheduler within a round, so a read may then see
    profiles up to one round behind. SQLite stores profiles directly: nothing is pending there.
    """
    if connection.vendor != "postgresql":
        return 0
    return storage.profiles_rollup(tenant_id=tenant.pk, limit=settings.SEGOPS_PROFILE_FOLD_BATCH)


def profiles_fold_pending(*, tenant_id: int | None = None) -> int:
    """The worker's fold (the scheduler's round, a segment compute): every pending delta of
    `tenant_id` (every tenant if None), one tenant at a time, in transactions of at most
    SEGOPS_PROFILE_FOLD_BATCH rows so no lock is held long. Returns how many were folded."""
    if connection.vendor != "postgresql":
        return 0
    batch = settings.SEGOPS_PROFILE_FOLD_BATCH
    folded = 0
    for tenant in [tenant_id] if tenant_id is not None else storage.pending_tenants():
        while (moved := storage.profiles_rollup(tenant_id=tenant, limit=batch)) > 0:
            folded += moved
            if moved < batch:
                break
    return folded
