"""Settings → API Keys as the seed walks it: + New Key → name → Create → copy it once; the trash
icon revokes at once; Roll with a grace period; a reminder to rotate keys near 90 days old."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from segops_server.audit.models import Action, AuditEvent
from segops_server.console.tests.conftest import ConsoleFor, form_token, htmx
from segops_server.keys.models import ALL_SCOPES, ApiKey
from segops_server.testing.factories import Team
from segops_server.testing.keys import api_key_row, key_client, make_api_key

LIST = "/t/acme/settings/api-keys/"
NEW = "/t/acme/settings/api-keys/new/"
WHOAMI = "/api/auth/whoami/"
KEY_RE = re.compile(rb"(sk|pk)_(live|test)_[A-Za-z0-9]{20,}")


def _create(client: Client, **fields: object) -> tuple[object, str]:
    """Open + New Key, fill it in, press Create; the response and the key shown in it."""
    token = form_token(client.get(NEW).content)
    # As the browser sends the untouched form: every scope box is ticked.
    data: dict[str, object] = {
        "name": "Production Ingestor",
        "type": "secret",
        "environment": "live",
        "scopes": list(ALL_SCOPES),
        "form_token": token,
    }
    data.update(fields)
    response = client.post(NEW, data)
    match = re.search(rb'id="new-key" class="secret" type="text" readonly value="([^"]+)"', response.content)
    return response, match.group(1).decode() if match else ""


def test_it_lists_the_tenants_keys_with_their_metadata(team: Team, console: ConsoleFor) -> None:
    make_api_key(team.tenant, created_by=team.admin, name="Production Ingestor", scopes=["events:write"])
    make_api_key(team.tenant, name="Web app", type="public", environment="test")
    make_api_key(team.other_tenant, name="Globex secret")
    html = console("admin").get(LIST).content.decode()
    for text in [
        "Production Ingestor",
        "Web app",
        "Secret",
        "Public",
        "Live",
        "Test",
        "events:write",
        "never",
        "Active",
    ]:
        assert text in html, text
    assert re.search(r"sk_live_[0-9a-f]{4}…", html) or re.search(r"sk_live_\w{4}…", html)
    assert "admin@acme.test" in html
    assert "Globex secret" not in html
    assert KEY_RE.search(html.encode()) is None


def test_it_shows_the_new_key_once_with_a_copy_button_and_a_warning(team: Team, console: ConsoleFor) -> None:
    admin = console("admin")
    response, key = _create(admin, scopes=["events:write", "segments:read"])
    assert response.status_code == 201
    assert key.startswith("sk_live_")
    html = response.content.decode()
    assert "you will not see it again" in html
    assert 'data-copy="new-key"' in html
    assert "no-store" in response["Cache-Control"]
    row = ApiKey.objects.for_tenant(team.tenant).get()
    assert (row.name, row.type, row.environment, row.scopes) == (
        "Production Ingestor",
        "secret",
        "live",
        ["events:write", "segments:read"],
    )
    assert key_client(key).get(WHOAMI).json()["tenant"] == "acme"
    # After a reload only the prefix remains.
    listing = admin.get(LIST).content.decode()
    assert key not in listing
    assert f"{row.display_prefix}…" in listing
    assert key not in str(dict(admin.session))


def test_it_records_the_creation_in_the_audit_log(team: Team, console: ConsoleFor) -> None:
    _create(console("owner"))
    event = AuditEvent.objects.for_tenant(team.tenant).get(action=Action.KEY_CREATED)
    assert event.actor == team.owner
    assert event.detail == {"name": "Production Ingestor"}


def test_it_shows_a_public_keys_hmac_secret_once(team: Team, console: ConsoleFor) -> None:
    admin = console("admin")
    response, key = _create(
        admin,
        name="Web app",
        type="public",
        allowed_origins="https://app.example.com\nhttps://*.example.com\n",
        require_signed_user_id="on",
        scopes=["events:write"],
    )
    assert response.status_code == 201
    assert key.startswith("pk_live_")
    secret = re.search(
        rb'id="hmac-secret" class="secret" type="text" readonly value="([0-9a-f]+)"', response.content
    )
    assert secret is not None
    row = ApiKey.objects.for_tenant(team.tenant).get()
    assert row.allowed_origins == ["https://app.example.com", "https://*.example.com"]
    assert row.require_signed_user_id is True
    assert row.scopes == []
    assert row.hmac_secret == secret.group(1).decode()
    assert secret.group(1) not in admin.get(LIST).content


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, b"This field is required."),
        ({"scopes": []}, b"Give at least one scope."),
        ({"type": "public", "allowed_origins": "ftp://x.example.com"}, b"is not an origin"),
        ({"environment": "production"}, b"Select a valid choice."),
        ({"expires_on": "2000-01-01"}, b"Choose today or a later day."),
    ],
)
def test_it_explains_a_bad_form_and_creates_nothing(
    team: Team, console: ConsoleFor, fields: dict[str, object], message: bytes
) -> None:
    response, key = _create(console("admin"), **fields)
    assert response.status_code == 400
    assert message in response.content
    assert key == ""
    assert not ApiKey.objects.for_tenant(team.tenant).exists()


def test_it_sets_an_expiry_at_the_end_of_the_chosen_day(team: Team, console: ConsoleFor) -> None:
    day = (timezone.now() + timedelta(days=30)).date()
    _create(console("admin"), expires_on=day.isoformat())
    row = ApiKey.objects.for_tenant(team.tenant).get()
    assert row.expires_at is not None
    assert row.expires_at.date() == day + timedelta(days=1)
    assert (row.expires_at.hour, row.expires_at.minute) == (0, 0)


def test_it_makes_no_second_key_when_the_form_is_sent_again(team: Team, console: ConsoleFor) -> None:
    admin = console("admin")
    token = form_token(admin.get(NEW).content)
    data = {
        "name": "Production Ingestor",
        "type": "secret",
        "environment": "live",
        "scopes": ["events:write"],
    }
    assert admin.post(NEW, {**data, "form_token": token}).status_code == 201
    again = admin.post(NEW, {**data, "form_token": token})
    assert again.status_code == 302
    assert again["Location"] == LIST
    assert ApiKey.objects.for_tenant(team.tenant).count() == 1
    assert admin.post(NEW, data).status_code == 302  # no token at all
    assert ApiKey.objects.for_tenant(team.tenant).count() == 1


def test_the_trash_icon_asks_then_revokes_at_once(team: Team, console: ConsoleFor) -> None:
    issued = make_api_key(team.tenant, name="Production Ingestor")
    admin = console("admin")
    listing = admin.get(LIST).content.decode()
    url = f"/t/acme/settings/api-keys/{issued.api_key.pk}/revoke/"
    assert 'aria-label="Revoke Production Ingestor"' in listing
    assert f'hx-get="{url}" hx-target="#modal"' in listing
    dialog = htmx(admin, "get", url)
    assert dialog.status_code == 200
    assert dialog.content.startswith(b"<dialog")
    assert b"Revoke key" in dialog.content
    confirm_page = admin.get(url)  # without JavaScript: a page of its own
    assert b"<html" in confirm_page.content
    assert b"Revoke key" in confirm_page.content
    assert key_client(issued.key).get(WHOAMI).status_code == 200
    assert api_key_row(issued).revoked_at is None  # asking changed nothing
    response = admin.post(url)
    assert response.status_code == 302
    assert response["Location"] == LIST
    assert key_client(issued.key).get(WHOAMI).status_code == 401
    after = admin.get(LIST).content.decode()
    assert "Revoked" in after
    assert 'aria-label="Revoke Production Ingestor"' not in after
    assert (
        AuditEvent.objects.for_tenant(team.tenant)
        .filter(action=Action.KEY_REVOKED, actor=team.admin)
        .exists()
    )


def test_roll_shows_the_new_key_once_and_keeps_the_old_for_the_grace_period(
    team: Team, console: ConsoleFor
) -> None:
    old = make_api_key(team.tenant, name="Production Ingestor", scopes=["events:write"])
    admin = console("admin")
    url = f"/t/acme/settings/api-keys/{old.api_key.pk}/roll/"
    dialog = htmx(admin, "get", url)
    assert dialog.content.startswith(b"<dialog")
    assert b"Keep the old key working for" in dialog.content
    token = form_token(dialog.content)
    before = timezone.now()
    response = admin.post(url, {"grace_period_hours": "72", "form_token": token})
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    new_key = re.search(
        rb'id="new-key" class="secret" type="text" readonly value="([^"]+)"', response.content
    )
    assert new_key is not None
    assert b"you will not see it again" in response.content
    assert key_client(new_key.group(1).decode()).get(WHOAMI).status_code == 200
    assert key_client(old.key).get(WHOAMI).status_code == 200  # still inside its grace period
    row = api_key_row(old)
    assert row.expires_at is not None
    assert timedelta(hours=71) < row.expires_at - before < timedelta(hours=73)
    new_row = ApiKey.objects.for_tenant(team.tenant).exclude(pk=old.api_key.pk).get()
    assert (new_row.name, new_row.scopes) == ("Production Ingestor", ["events:write"])
    assert new_key.group(1) not in admin.get(LIST).content


def test_roll_with_no_grace_ends_the_old_key_now(team: Team, console: ConsoleFor) -> None:
    old = make_api_key(team.tenant, name="Production Ingestor")
    admin = console("admin")
    url = f"/t/acme/settings/api-keys/{old.api_key.pk}/roll/"
    token = form_token(admin.get(url).content)
    admin.post(url, {"grace_period_hours": "0", "form_token": token})
    assert key_client(old.key).get(WHOAMI).status_code == 401


def test_roll_refuses_a_revoked_key(team: Team, console: ConsoleFor) -> None:
    old = make_api_key(team.tenant, name="Production Ingestor")
    admin = console("admin")
    admin.post(f"/t/acme/settings/api-keys/{old.api_key.pk}/revoke/")
    url = f"/t/acme/settings/api-keys/{old.api_key.pk}/roll/"
    response = admin.post(url, {"grace_period_hours": "0", "form_token": form_token(admin.get(url).content)})
    assert response.status_code == 400
    assert b"Only an active key can be rolled." in response.content
    assert ApiKey.objects.for_tenant(team.tenant).count() == 1


@pytest.mark.parametrize(("age_days", "reminded"), [(10, False), (79, False), (81, True), (120, True)])
def test_it_reminds_to_rotate_keys_approaching_90_days(
    team: Team, console: ConsoleFor, age_days: int, reminded: bool
) -> None:
    issued = make_api_key(team.tenant, name="Production Ingestor")
    ApiKey.objects.for_tenant(team.tenant).filter(pk=issued.api_key.pk).update(
        created_at=timezone.now() - timedelta(days=age_days)
    )
    html = console("admin").get(LIST).content.decode()
    assert ("Rotate:" in html) is reminded
    assert "rotate them every 90 days" in html


def test_it_does_not_remind_about_a_revoked_key(team: Team, console: ConsoleFor) -> None:
    issued = make_api_key(team.tenant, name="Production Ingestor")
    ApiKey.objects.for_tenant(team.tenant).filter(pk=issued.api_key.pk).update(
        created_at=timezone.now() - timedelta(days=100), revoked_at=timezone.now()
    )
    assert "Rotate:" not in console("admin").get(LIST).content.decode()
