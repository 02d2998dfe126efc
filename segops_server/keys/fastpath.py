"""The short way's adapter of the access policy (core/fastpath.py, access/policy.py).

The short way serves a route's opted-in method for a live secret key only. The key is checked by
the same service as on the full path and the view's own policy is applied by the same `decide`;
anything else (another credential, a malformed header, a tenant named, an Idempotency-Key, a key
in the URL, any refusal) is Decline, so the DRF view refuses or serves it, audit entries included.
"""

from __future__ import annotations

from dataclasses import dataclass

from segops_server.access.policy import Caller, Credential, Policy, decide
from segops_server.access.quota import call_admit, events_admit
from segops_server.access.tenants import TenantContext
from segops_server.accounts.models import Tenant
from segops_server.accounts.permissions import TENANT_HEADER
from segops_server.core.environ_request import ShortRequest
from segops_server.core.errors import DomainError
from segops_server.core.fastpath import Decline
from segops_server.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from segops_server.keys.authentication import ApiKeyAuthenticationFailed, key_from_headers, key_in_url
from segops_server.keys.models import ApiKey
from segops_server.keys.services import KeyRefusal, api_key_check, api_key_touch
from segops_server.observability.context import tenant_note


@dataclass(frozen=True)
class ShortWayGrant:
    """What the short way's credential check found: the key and the tenant context it acts with."""

    request: ShortRequest
    policy: Policy
    key: ApiKey
    context: TenantContext

    @property
    def tenant(self) -> Tenant:
        return self.context.tenant

    def admit(self, *, events: int = 0) -> None:
        """The call is answered: count it (or its `events`) against the policy's quota and record
        the key's use. Decline when the quota refuses: nothing was counted, the full path counts
        and refuses."""
        try:
            if events:
                events_admit(self.policy, self.tenant, events)
            else:
                call_admit(self.policy, self.tenant)
        except DomainError:
            raise Decline from None
        api_key_touch(self.key, self.request)


def short_way_grant(request: ShortRequest, policy: Policy) -> ShortWayGrant:
    """A live secret key the policy lets call this method, acting on its own tenant; else Decline."""
    authorization = request.META.get("HTTP_AUTHORIZATION")
    if (
        (authorization is not None and not authorization.lower().startswith("apikey "))
        or TENANT_HEADER in request.META
        or IDEMPOTENCY_HEADER in request.META
        or key_in_url(request)
    ):
        raise Decline
    try:
        raw = key_from_headers(request)
    except ApiKeyAuthenticationFailed:
        raise Decline from None
    if raw is None:
        raise Decline
    checked = api_key_check(raw)
    if isinstance(checked, KeyRefusal) or checked.credential is not Credential.SECRET_KEY:
        raise Decline
    try:
        context = decide(policy, method=request.method or "", caller=Caller(machine=checked))
    except DomainError:
        raise Decline from None
    if context is None:
        raise Decline
    tenant_note(checked.tenant_id)  # for the request's log lines
    return ShortWayGrant(request=request, policy=policy, key=checked, context=context)
