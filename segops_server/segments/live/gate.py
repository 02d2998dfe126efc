"""Which tenants keep a segment live: only their events queue users for real-time evaluation.

A tenant without such a segment pays nothing on ingest. The answer is read from the database
(LIVE, below) and kept by each process until the shared `live-segments` epoch moves: every save
or delete of a segment bumps it, at once (this process, which may still be inside the change's
transaction, reads again) and when the change commits (every other process reads again, and
sees it). A caller inside a transaction asks the database each time: what it holds may not be
committed.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import Q

from segops_server.core.epochs import Epoch
from segops_server.segments.models import Segment

# The segments kept in real time: realtime on, with a rule (a first compute's too: its users wait
# for it, see evaluate.py).
LIVE = Q(realtime=True, definition__isnull=False)

_EPOCH = Epoch("live-segments")
_known: dict[int, tuple[int | str, bool]] = {}  # tenant id -> (epoch, keeps a segment live)


def tenant_is_live(tenant_id: int) -> bool:
    """Whether the tenant keeps a segment live (LIVE), as of now."""
    if connection.in_atomic_block:
        return _ask(tenant_id)
    epoch = _EPOCH.current()
    known = _known.get(tenant_id)
    if known is not None and known[0] == epoch:
        return known[1]
    live = _ask(tenant_id)
    _known[tenant_id] = (epoch, live)
    return live


def _ask(tenant_id: int) -> bool:
    return Segment.objects.for_tenant(tenant_id).filter(LIVE).exists()


def changed() -> None:
    """A segment was saved or deleted (segments/receivers.py): every process reads again."""
    _EPOCH.bump()
    transaction.on_commit(_EPOCH.bump)
