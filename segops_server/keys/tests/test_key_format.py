"""The key format: prefix, 36 base62 characters, a CRC32 checksum, and what is stored of a key."""

from __future__ import annotations

import hashlib
import hmac
import zlib

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from segops_server.keys.format import (
    KEY_PATTERN,
    checksum,
    key_display_prefix,
    key_generate,
    key_is_well_formed,
)
from segops_server.keys.models import ApiKey
from segops_server.keys.services import IssuedKey
from segops_server.testing.factories import Team
from segops_server.testing.keys import api_key_row, key_client, make_api_key

WHOAMI = "/api/auth/whoami/"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _crc32_base62(text: str) -> str:
    """An independent re-implementation of the checksum: CRC32, six base62 digits."""
    number, digits = zlib.crc32(text.encode()), ""
    for _ in range(6):
        number, rem = divmod(number, 62)
        digits = BASE62[rem] + digits
    return digits


@pytest.mark.parametrize(
    ("kind", "environment"), [("sk", "live"), ("sk", "test"), ("pk", "live"), ("pk", "test")]
)
def test_it_generates_prefix_36_base62_characters_and_a_crc32_checksum(kind: str, environment: str) -> None:
    key = key_generate(kind=kind, environment=environment)
    match = KEY_PATTERN.fullmatch(key)
    assert match is not None
    assert match["prefix"] == f"{kind}_{environment}_"
    assert len(match["body"]) == 36
    assert set(match["body"]) <= set(BASE62)
    assert key[-6:] == _crc32_base62(key[:-6]) == checksum(key[:-6])
    assert key_is_well_formed(key)


def test_it_never_generates_the_same_key_twice() -> None:
    keys = {key_generate(kind="sk", environment="live") for _ in range(2000)}
    assert len(keys) == 2000
    assert len({key[8:14] for key in keys}) > 1900  # the random part really varies


def test_it_refuses_every_single_character_change() -> None:
    key = key_generate(kind="sk", environment="live")
    for position in range(8, len(key)):
        for replacement in ("0", "z"):
            if key[position] != replacement:
                changed = key[:position] + replacement + key[position + 1 :]
                assert not key_is_well_formed(changed), (position, replacement)


def test_it_refuses_a_bad_checksum_without_touching_the_keys_table(team: Team, secret_key: IssuedKey) -> None:
    typo = secret_key.key[:-1] + ("A" if secret_key.key[-1] != "A" else "B")
    with CaptureQueriesContext(connection) as queries:
        response = key_client(typo).get(WHOAMI)
    assert response.status_code == 401
    touched = [q["sql"] for q in queries.captured_queries if "keys_apikey" in q["sql"]]
    assert touched == []
    # The one write is the audit trail of the failed attempt.
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]


def test_it_looks_up_a_well_formed_key_with_one_select(team: Team) -> None:
    """The control for the test above: a key that passes the checksum does reach the table."""
    head = "sk_live_" + "0" * 30
    with CaptureQueriesContext(connection) as queries:
        response = key_client(head + checksum(head)).get(WHOAMI)
    assert response.status_code == 401
    selects = [q["sql"] for q in queries.captured_queries if "keys_apikey" in q["sql"]]
    assert len(selects) == 1
    assert selects[0].startswith("SELECT")


def test_it_stores_only_a_tagged_sha256_digest_of_the_key(team: Team, secret_key: IssuedKey) -> None:
    row = api_key_row(secret_key)
    assert row.digest == "sha256$" + hashlib.sha256(secret_key.key.encode()).hexdigest()
    for field in ApiKey._meta.concrete_fields:
        assert secret_key.key not in str(getattr(row, field.attname))
        assert secret_key.key[8:] not in str(getattr(row, field.attname))


@override_settings(SEGOPS_API_KEY_PEPPER="pepper-kept-outside-the-database")
def test_it_stores_an_hmac_digest_when_a_pepper_is_set(team: Team) -> None:
    issued = make_api_key(team.tenant)
    expected = hmac.new(b"pepper-kept-outside-the-database", issued.key.encode(), hashlib.sha256).hexdigest()
    assert api_key_row(issued).digest == "hmac-sha256$" + expected
    assert key_client(issued.key).get(WHOAMI).status_code == 200


def test_it_no_longer_accepts_keys_made_before_a_pepper_was_set(team: Team, secret_key: IssuedKey) -> None:
    """Expected and documented: adding (or changing) the pepper invalidates every existing key,
    since their stored digests were computed without it."""
    with override_settings(SEGOPS_API_KEY_PEPPER="added-later"):
        assert key_client(secret_key.key).get(WHOAMI).status_code == 401
    assert key_client(secret_key.key).get(WHOAMI).status_code == 200


def test_it_keeps_digests_unique(team: Team, secret_key: IssuedKey) -> None:
    row = api_key_row(secret_key)
    twin = ApiKey(tenant=team.other_tenant, name="Twin", digest=row.digest, display_prefix=row.display_prefix)
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save()


def test_it_displays_the_type_environment_and_four_characters(team: Team, secret_key: IssuedKey) -> None:
    assert api_key_row(secret_key).display_prefix == secret_key.key[:12]
    assert key_display_prefix(secret_key.key) == secret_key.key[:12]
    assert len(secret_key.key[:12].removeprefix("sk_live_")) == 4


def test_it_lets_a_scanner_find_keys_in_text() -> None:
    key = key_generate(kind="sk", environment="live")
    text = f'SEGOPS_KEY="{key}"\nother = "sk_live_tooshort"'
    assert [m.group(0) for m in KEY_PATTERN.finditer(text)] == [key]
