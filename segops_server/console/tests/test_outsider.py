"""Every console URL of tenant acme is a 404 for globex's owner, by GET and by POST, and says nothing."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from segops_server.accounts.services import member_invite
from segops_server.activations.models import Activation
from segops_server.console.tests.conftest import ConsoleFor
from segops_server.keys.models import ApiKey
from segops_server.schemas.services import schema_create
from segops_server.segments.definitions.services import segment_create
from segops_server.segments.models import Segment, SegmentExport
from segops_server.testing.factories import Team
from segops_server.testing.keys import make_api_key

DEFINITION = {
    "logic": "AND",
    "conditions": [{"type": "event_count", "event_type": "login", "operator": "gte", "value": 1}],
}


@pytest.fixture
def acme_urls(team: Team) -> list[str]:
    key = make_api_key(team.tenant, name="Production Ingestor").api_key
    segment = segment_create(tenant=team.tenant, actor=team.owner, name="Active", definition=DEFINITION)
    invitation = member_invite(
        tenant=team.tenant, email="new@acme.test", role="viewer", invited_by=team.owner
    )
    assert invitation.invitation is not None
    export = SegmentExport(tenant=team.tenant, segment=segment, format="csv", requested_generation=1)
    export.save()
    activation = Activation(tenant=team.tenant, segment=segment, connector_type="webhook", config={})
    activation.save()
    schema = schema_create(tenant=team.tenant, event_type="order_placed", properties={})
    base = "/t/acme"
    return [
        f"{base}/",
        f"{base}/segments/",
        f"{base}/segments/new/",
        f"{base}/segments/preview/",
        f"{base}/segments/{segment.pk}/",
        f"{base}/segments/{segment.pk}/recompute/",
        f"{base}/segments/{segment.pk}/status/",
        f"{base}/segments/{segment.pk}/history/",
        f"{base}/segments/{segment.pk}/changes/",
        f"{base}/segments/{segment.pk}/activations/",
        f"{base}/segments/{segment.pk}/activations/{activation.pk}/status/",
        f"{base}/segments/{segment.pk}/activations/{activation.pk}/sync/",
        f"{base}/segments/{segment.pk}/activations/{activation.pk}/delete/",
        f"{base}/segments/{segment.pk}/export/",
        f"{base}/segments/{segment.pk}/export/status/",
        f"{base}/segments/exports/{export.pk}/download/",
        f"{base}/explorer/?q=u",
        f"{base}/explorer/user/?user_id=u1",
        f"{base}/explorer/sandbox/",
        f"{base}/explorer/merge/",
        f"{base}/schemas/",
        f"{base}/schemas/new/",
        f"{base}/schemas/{schema.pk}/",
        f"{base}/schemas/{schema.pk}/delete/",
        f"{base}/settings/",
        f"{base}/settings/general/",
        f"{base}/settings/delete/",
        f"{base}/settings/team/",
        f"{base}/settings/team/invite/",
        f"{base}/settings/team/{team.member.pk}/role/",
        f"{base}/settings/team/{team.member.pk}/remove/",
        f"{base}/settings/team/invitations/{invitation.invitation.pk}/cancel/",
        f"{base}/settings/api-keys/",
        f"{base}/settings/api-keys/new/",
        f"{base}/settings/api-keys/{key.pk}/revoke/",
        f"{base}/settings/api-keys/{key.pk}/roll/",
        f"{base}/settings/audit-log/",
    ]


def test_it_answers_404_to_the_outsider_for_every_url(
    team: Team, console: ConsoleFor, acme_urls: list[str]
) -> None:
    outsider = console("outsider")
    for url in acme_urls:
        for method in ("get", "post"):
            response = getattr(outsider, method)(url, {"name": "x", "slug": "x", "role": "admin"})
            assert response.status_code == 404, (method, url, response.status_code)
            assert b"Acme" not in response.content, url
    # Nothing changed on the way.
    assert ApiKey.objects.for_tenant(team.tenant).filter(revoked_at__isnull=True).count() == 1
    assert Segment.objects.for_tenant(team.tenant).count() == 1
    assert SegmentExport.objects.for_tenant(team.tenant).count() == 1
    team.tenant.refresh_from_db()
    assert team.tenant.slug == "acme"


def test_it_answers_the_same_for_a_tenant_that_does_not_exist(console: ConsoleFor) -> None:
    outsider = console("outsider")
    real = outsider.get("/t/acme/settings/api-keys/")
    made_up = outsider.get("/t/no-such-tenant/settings/api-keys/")
    assert real.status_code == made_up.status_code == 404

    def without_tokens(html: bytes) -> bytes:  # the CSRF token is masked afresh on every page
        return re.sub(rb'(X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]+', rb"\1", html)

    assert without_tokens(real.content) == without_tokens(made_up.content)


def test_it_sends_strangers_to_sign_in_from_every_url(team: Team, acme_urls: list[str]) -> None:
    for url in acme_urls:
        response = Client().get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/sign-in/?next="), url


def test_it_finds_no_object_of_another_tenant_through_acmes_urls(team: Team, console: ConsoleFor) -> None:
    """Globex's key and segment ids, under /t/acme/, are 404 even for acme's owner."""
    key = make_api_key(team.other_tenant, created_by=team.outsider).api_key
    segment = segment_create(
        tenant=team.other_tenant, actor=team.outsider, name="Theirs", definition=DEFINITION
    )
    owner = console("owner")
    for url in [
        f"/t/acme/settings/api-keys/{key.pk}/revoke/",
        f"/t/acme/settings/api-keys/{key.pk}/roll/",
        f"/t/acme/segments/{segment.pk}/",
        f"/t/acme/segments/{segment.pk}/history/",
        f"/t/acme/segments/{segment.pk}/changes/",
        f"/t/acme/segments/{segment.pk}/activations/",
        f"/t/acme/settings/team/{team.outsider.pk}/remove/",
    ]:
        assert owner.get(url).status_code == 404, url
    assert owner.post(f"/t/acme/settings/api-keys/{key.pk}/revoke/").status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None
