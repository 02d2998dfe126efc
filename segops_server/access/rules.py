"""The product's access rules, one per capability, each written once: the API's views and the
console's pages for the same capability use the same rule (a page serves people only, so only
its roles apply there). See docs/security.md for the table in prose."""

from __future__ import annotations

from segops_server.access.policy import Credential, Policy, Quota
from segops_server.accounts.models import Role
from segops_server.keys.models import Scope

PEOPLE_AND_KEYS = frozenset({Credential.PERSON, Credential.SECRET_KEY})
_READ_WRITE_SCOPES = {
    "GET": Scope.SEGMENTS_READ,
    "POST": Scope.SEGMENTS_WRITE,
    "PATCH": Scope.SEGMENTS_WRITE,
    "PUT": Scope.SEGMENTS_WRITE,
    "DELETE": Scope.SEGMENTS_WRITE,
}
_ADMINS_ONLY = Policy(read=Role.ADMIN, write=Role.ADMIN)

# A tenant's own pages (its home): Viewers read, Members write.
TENANT = Policy()
# Renaming the tenant and its settings need an Admin; deleting it, its Owner.
TENANT_DELETION = Policy(read=Role.OWNER, write=Role.OWNER)
TENANT_SETTINGS = Policy(write=Role.ADMIN, roles={"DELETE": TENANT_DELETION.write})
# Everyone sees the team; Admins invite, change roles and remove.
TEAM = Policy(write=Role.ADMIN)
TEAM_CHANGES = _ADMINS_ONLY  # pages that only change the team (a removal's confirmation)
INVITATIONS = _ADMINS_ONLY
KEYS = _ADMINS_ONLY  # keys never manage keys: people only
AUDIT = _ADMINS_ONLY

# Events come from secret keys with events:write and from public-key sessions.
INGESTION = Policy(
    credentials=frozenset({Credential.SECRET_KEY, Credential.PUBLIC_SESSION}),
    scopes={"POST": Scope.EVENTS_WRITE},
    quota=Quota.EVENTS,
)
# Segments: Viewers and segments:read keys read, Members and segments:write keys write.
SEGMENTS = Policy(credentials=PEOPLE_AND_KEYS, scopes=_READ_WRITE_SCOPES)
# Reading what a definition would match, or a file of members, is reading: a POST a Viewer and a
# segments:read key may send.
SEGMENT_PREVIEW = Policy(
    credentials=PEOPLE_AND_KEYS, scopes={"POST": Scope.SEGMENTS_READ}, roles={"POST": Role.VIEWER}
)
EXPORTS = Policy(
    credentials=PEOPLE_AND_KEYS,
    scopes={"GET": Scope.SEGMENTS_READ, "POST": Scope.SEGMENTS_READ},
    roles={"POST": Role.VIEWER},
)
EXPORT_DOWNLOAD = Policy(credentials=PEOPLE_AND_KEYS, scopes={"GET": Scope.SEGMENTS_READ})
# The explorer's user reads.
EXPLORER = Policy(credentials=PEOPLE_AND_KEYS, scopes={"GET": Scope.SEGMENTS_READ})
# Webhooks send member lists out of SegOps, and their deliveries show what was sent: Members and
# up for every method (a Viewer may not even list them), keys with webhooks:write for every method.
_EVERY_METHOD = ("GET", "HEAD", "OPTIONS", "POST", "PATCH", "PUT", "DELETE")
WEBHOOKS = Policy(
    credentials=PEOPLE_AND_KEYS,
    scopes=dict.fromkeys(_EVERY_METHOD, Scope.WEBHOOKS_WRITE),
    read=Role.MEMBER,
)
# Activations: reading them is reading segments (Viewers, segments:read keys); creating, changing,
# deleting or syncing one sends a segment's members out of SegOps, so it needs a Member and, for
# keys, webhooks:write, as webhooks do.
ACTIVATIONS = Policy(
    credentials=PEOPLE_AND_KEYS,
    scopes={
        "GET": Scope.SEGMENTS_READ,
        "POST": Scope.WEBHOOKS_WRITE,
        "PATCH": Scope.WEBHOOKS_WRITE,
        "PUT": Scope.WEBHOOKS_WRITE,
        "DELETE": Scope.WEBHOOKS_WRITE,
    },
)
# Event schemas: Viewers and segments:read keys read, and infer or validate (they store nothing);
# Members and segments:write keys create, change and delete (enforcement decides which events
# ingestion refuses, so it is a write like a segment's definition).
SCHEMAS = Policy(credentials=PEOPLE_AND_KEYS, scopes=_READ_WRITE_SCOPES)
SCHEMA_TOOLS = Policy(
    credentials=PEOPLE_AND_KEYS, scopes={"POST": Scope.SEGMENTS_READ}, roles={"POST": Role.VIEWER}
)

# --- Issue 14: sandbox, estimate, analytics
# The sandbox evaluates a made-up event against every segment and stores nothing, but it is a
# write-shaped question about how segments behave: Members and up; keys with segments:read.
SANDBOX = Policy(credentials=PEOPLE_AND_KEYS, scopes={"POST": Scope.SEGMENTS_READ})
# An estimate counts what a saved rule matches now, materialising nothing: as a preview.
SEGMENT_ESTIMATE = SEGMENT_PREVIEW
# Analytics are read-only figures of segments and activations: Viewers and segments:read keys.
ANALYTICS = Policy(credentials=PEOPLE_AND_KEYS, scopes={"GET": Scope.SEGMENTS_READ})
# Identity (spec §14): an alias or a merge moves one user's events and traits to another in every
# segment, so people need an Admin and keys the identity:write scope (no key has it by accident:
# it is named when the key is made, or comes with the default "every scope").
IDENTITY = Policy(credentials=PEOPLE_AND_KEYS, scopes={"POST": Scope.IDENTITY_WRITE}, write=Role.ADMIN)
