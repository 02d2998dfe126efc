"""The base of every segments API view: the access policy they share, the actor, the user id check."""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from segops_server.access import rules
from segops_server.access.policy import Policy
from segops_server.accounts.models import User
from segops_server.accounts.permissions import person
from segops_server.accounts.tenancy import TenantScopedAPIView
from segops_server.core.ids import InvalidId, user_id_parse


class SegmentsView(TenantScopedAPIView):
    """Viewers read, Members and up write; keys need segments:read / segments:write."""

    policy: ClassVar[Policy] = rules.SEGMENTS

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if "user_id" in kwargs:  # the explorer's user reads: an id no user can have is nobody
            try:
                user_id_parse(kwargs["user_id"])
            except InvalidId:
                raise NotFound("User not found.") from None

    def actor(self, request: Request) -> User | None:
        return person(request) if self.tenant_context.role is not None else None
