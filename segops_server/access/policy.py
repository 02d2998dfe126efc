"""Who may call what: each endpoint's policy, and the one function that applies it.

Every API view declares a `Policy` (who: the lowest role for people, the scope for keys; which
credential kinds; which plan quota it counts against; whether it may take the short way), and
every console page declares one through its decorator. `decide` turns a caller, the method and
the tenants a request names into the tenant and right it acts with, or raises a domain error
(core/errors.py). Nothing here knows DRF or HTTP: the API's permission and throttle classes
(accounts/tenancy.py), the console's page decorator (console/access.py) and the short way
(keys/fastpath.py) are adapters that build a `Caller` from their kind of request, call
`decide`, and answer its errors their own way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from segops_server.access.tenants import TenantContext, TenantName, tenant_resolve
from segops_server.accounts.models import Role, Tenant, User
from segops_server.core.errors import PermissionDenied, Unauthenticated

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

MACHINE_REFUSED = "API keys cannot use this endpoint; sign in as a person."


class Credential(StrEnum):
    PERSON = "person"  # a signed-in person: an access token (API) or the session cookie (console)
    SECRET_KEY = "secret_key"  # sk_ API key
    PUBLIC_KEY = "public_key"  # pk_ API key: only mints sessions
    PUBLIC_SESSION = "public_session"  # a session minted from a public key: one user's events


class Quota(StrEnum):
    """The plan limit a call counts against (accounts/plans.py)."""

    NONE = "none"
    CALLS = "calls_per_minute"  # every call, once its right is known
    EVENTS = "events_per_month"  # the events a call stores, counted when it stores them


class Machine(Protocol):
    """A machine credential: an API key or a public-key session."""

    @property
    def credential(self) -> Credential: ...

    @property
    def bound_tenant(self) -> Tenant: ...

    def has_scope(self, scope: str) -> bool: ...


@dataclass(frozen=True)
class Caller:
    """Who sends a request, as an adapter found it: nobody, a person, or a machine credential."""

    person: User | None = None
    machine: Machine | None = None

    @property
    def credential(self) -> Credential | None:
        if self.machine is not None:
            return self.machine.credential
        return Credential.PERSON if self.person is not None else None


@dataclass(frozen=True)
class Policy:
    """One endpoint's rule. People need `read` for safe methods and `write` for the rest (Viewer
    and Member unless said otherwise, `roles` overriding single methods); a machine credential may
    call a method only if `scopes` names one for it, and only holding that scope."""

    credentials: frozenset[Credential] = frozenset({Credential.PERSON})
    scopes: Mapping[str, str] = field(default_factory=dict)
    read: Role = Role.VIEWER
    write: Role = Role.MEMBER
    roles: Mapping[str, Role] = field(default_factory=dict)
    # False: the endpoint acts on no tenant (sign-up, the person's own account): only the
    # credential kind is checked.
    tenant: bool = True
    # True: a request without any credential is served too (credentials still say which kinds
    # are recognised when one is sent).
    anyone: bool = False
    quota: Quota = Quota.CALLS
    # The method that may take the short way (core/fastpath.py), or None.
    short_way: str | None = None

    def __post_init__(self) -> None:
        machines = self.credentials - {Credential.PERSON}
        if self.tenant and bool(machines) != bool(self.scopes):
            raise ValueError("A tenant policy names scopes exactly when it takes machine credentials.")
        if self.short_way is not None and Credential.SECRET_KEY not in self.credentials:
            raise ValueError("Only endpoints that take secret keys may take the short way.")

    def role_for(self, method: str) -> Role:
        return self.roles.get(method, self.read if method in SAFE_METHODS else self.write)

    def scope_for(self, method: str) -> str | None:
        return self.scopes.get(method)

    def permits(self, ctx: TenantContext, method: str) -> bool:
        """Whether a person with `ctx`'s role may call `method` here (for showing or hiding a
        control; the call itself is decided by `decide`)."""
        return ctx.has_role(self.role_for(method))


# Endpoints that need no credential at all (sign-up, token exchanges, leaked-key revocation).
PUBLIC = Policy(credentials=frozenset(), tenant=False, anyone=True, quota=Quota.NONE)
# A signed-in person's own account, outside any tenant (profile, password, tenants list).
PERSON = Policy(tenant=False, quota=Quota.NONE)


def decide(
    policy: Policy,
    *,
    method: str,
    caller: Caller,
    names: frozenset[TenantName] = frozenset(),
    object_tenant_id: int | None = None,
) -> TenantContext | None:
    """The tenant and right `caller` acts with, or a domain error; None for a tenant-less policy.

    Fail closed: no credential where one is needed (Unauthenticated), a kind the endpoint does not
    take, a scope or role too low (PermissionDenied), no tenant, an ambiguous one or one the caller
    is not in (Invalid / NotFound, see access/tenants.py).
    """
    kind = caller.credential
    if kind is None:
        if policy.anyone:
            return None
        raise Unauthenticated("Authentication credentials were not provided.")
    if kind not in policy.credentials:
        raise PermissionDenied(
            MACHINE_REFUSED if kind is not Credential.PERSON else "This endpoint takes an API key."
        )
    if not policy.tenant:
        return None
    ctx = tenant_resolve(caller.person, caller.machine, names=names, object_tenant_id=object_tenant_id)
    if caller.machine is not None:
        scope = policy.scope_for(method)
        if scope is None:
            raise PermissionDenied(MACHINE_REFUSED)
        if not caller.machine.has_scope(scope):
            raise PermissionDenied(f"This API key lacks the '{scope}' scope.")
    else:
        needed = policy.role_for(method)
        if not ctx.has_role(needed):
            raise PermissionDenied(f"This action needs the {needed.label} role or higher.")
    return ctx
