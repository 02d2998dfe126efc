"""The API key format: type prefix, random body, CRC32 checksum; and how keys are digested.

    sk_live_<30 base62 random chars><6 base62 chars of CRC32>

30 base62 characters carry 178 random bits. The checksum (as in GitHub's tokens) lets a
mistyped or invented key be refused before any database lookup, and lets secret scanners
recognise a real SegOps key offline with KEY_PATTERN plus the checksum.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib

from django.conf import settings

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_LENGTH = 30
CHECKSUM_LENGTH = 6
KEY_PATTERN = re.compile(r"\b(?P<prefix>(?:sk|pk)_(?:live|test)_)(?P<body>[0-9A-Za-z]{36})\b")
DISPLAY_CHARS = 4


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, rem = divmod(number, 62)
        digits.append(ALPHABET[rem])
    return "".join(reversed(digits)).rjust(width, "0")


def checksum(text: str) -> str:
    return _base62(zlib.crc32(text.encode()), CHECKSUM_LENGTH)


def key_generate(*, kind: str, environment: str) -> str:
    """kind is "sk" or "pk"; environment is "live" or "test"."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    head = f"{kind}_{environment}_{body}"
    return head + checksum(head)


def key_is_well_formed(key: str) -> bool:
    """Shape and checksum only: no database, no secret involved."""
    match = KEY_PATTERN.fullmatch(key)
    if match is None:
        return False
    head = key[:-CHECKSUM_LENGTH]
    return hmac.compare_digest(checksum(head), key[-CHECKSUM_LENGTH:])


def key_display_prefix(key: str) -> str:
    """What lists show: the type prefix and four characters, e.g. "sk_live_4f9a"."""
    match = KEY_PATTERN.fullmatch(key)
    if match is None:
        return key[:8]
    return match["prefix"] + match["body"][:DISPLAY_CHARS]


def key_digest(key: str) -> str:
    """The stored form of a key: a tagged SHA-256 digest, HMAC'd with a pepper when one is set.

    A fast hash is right here, unlike for passwords: the key has 178 random bits, so no
    dictionary or brute force can invert its digest, while a slow KDF (bcrypt, argon2) would
    add tens of milliseconds to every API call. The tag names the scheme so it can change
    later; the optional pepper (SEGOPS_API_KEY_PEPPER, kept apart from the database) means a
    stolen database alone cannot even confirm a guessed key.
    """
    pepper = settings.SEGOPS_API_KEY_PEPPER
    if pepper:
        return "hmac-sha256$" + hmac.new(pepper.encode(), key.encode(), hashlib.sha256).hexdigest()
    return "sha256$" + hashlib.sha256(key.encode()).hexdigest()


def hmac_secret_generate() -> str:
    """The public key's signing secret, 256 bits as hex."""
    return secrets.token_hex(32)
