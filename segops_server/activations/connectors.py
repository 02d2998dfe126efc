"""Connector kinds: what each one's `config` holds, how it is checked, and how it reads back.

One class per kind, looked up in `CONNECTORS`; a kind the contract names but this installation
does not build (Klaviyo, Braze, Talon.One) has no class and is refused on create.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings

from segops_server.activations.models import ConnectorType
from segops_server.core.errors import Invalid
from segops_server.webhooks import ssrf

MASK = "***"

# Config keys whose values are credentials: they never leave the server. A name ending in one of
# these is one too (`client_secret`, `access_token`, `private_key`).
_SECRET_NAMES = ("secret", "api_key", "token", "password", "private_key", "apikey", "credentials")


def is_secret_key(name: str) -> bool:
    lowered = name.lower()
    return any(lowered == word or lowered.endswith(word) for word in _SECRET_NAMES)


def config_masked(config: dict[str, Any]) -> dict[str, Any]:
    """`config` as it reads back: every secret value replaced by "***"."""
    return {key: MASK if is_secret_key(key) else value for key, value in config.items()}


def _refuse(message: str) -> Invalid:
    return Invalid({"config": [message]})


class Connector:
    """A connector kind: its config's keys and their check."""

    keys: ClassVar[tuple[str, ...]]

    def config_clean(self, config: Any, *, stored: dict[str, Any] | None = None) -> dict[str, Any]:
        """The config to store, or Invalid on `config`. `stored` is the config saved before (a
        change): a secret sent back as "***" keeps its stored value."""
        if not isinstance(config, dict):
            raise _refuse("Expected an object.")
        unknown = sorted(str(key) for key in config if key not in self.keys)
        if unknown:
            raise _refuse(
                f"Unknown setting {', '.join(unknown)}: this connector takes {', '.join(self.keys)}."
            )
        config = dict(config)
        for key, value in config.items():
            if is_secret_key(key) and value == MASK:
                if not stored or key not in stored:
                    raise _refuse(
                        f'{key}: "***" stands for a stored value; there is none yet, send the value.'
                    )
                config[key] = stored[key]
        return self.check(config)

    def check(self, config: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError


class WebhookConnector(Connector):
    """Signed POSTs of entered and exited users to the customer's URL (spec §11; docs/activations.md)."""

    keys = ("url", "secret")

    def check(self, config: dict[str, Any]) -> dict[str, Any]:
        url, secret = config.get("url"), config.get("secret")
        if not isinstance(url, str) or not url:
            raise _refuse("url: a webhook connector needs the https URL to send to.")
        if len(url) > 2000:
            raise _refuse("url: at most 2,000 characters.")
        if not isinstance(secret, str) or not secret:
            raise _refuse("secret: a webhook connector needs the secret its batches are signed with.")
        if len(secret) > 200:
            raise _refuse("secret: at most 200 characters.")
        try:
            # The same guard as webhooks: https only, and a host that resolves to public addresses.
            ssrf.destination_check(url, allow_private=settings.SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS)
        except Invalid as exc:
            raise _refuse(f"url: {exc}") from None
        return {"url": url, "secret": secret}


CONNECTORS: dict[str, Connector] = {ConnectorType.WEBHOOK: WebhookConnector()}


def connector_of(connector_type: str) -> Connector:
    connector = CONNECTORS.get(connector_type)
    if connector is None:
        raise Invalid({"connector_type": [f"{connector_type} is not available in this installation."]})
    return connector
