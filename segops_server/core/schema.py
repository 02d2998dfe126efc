"""OpenAPI extensions so every custom authentication class shows up as a security scheme."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object


class PersonJWTScheme(OpenApiAuthenticationExtension):
    target_class = "segops_server.accounts.authentication.PersonJWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        scheme: dict[str, Any] = build_bearer_security_scheme_object(
            header_name="AUTHORIZATION", token_prefix="Bearer", bearer_format="JWT"
        )
        return scheme


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "segops_server.keys.authentication.ApiKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Authorization: ApiKey sk_live_…` (or the `X-API-Key` header).",
        }


class PublicKeyScheme(OpenApiAuthenticationExtension):
    target_class = "segops_server.keys.authentication.PublicKeyAuthentication"
    name = "publicKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Authorization: ApiKey pk_live_…`: a public key, for /api/auth/session/ only.",
        }


class SessionTokenScheme(OpenApiAuthenticationExtension):
    target_class = "segops_server.keys.authentication.SessionTokenAuthentication"
    name = "sessionTokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        scheme: dict[str, Any] = build_bearer_security_scheme_object(
            header_name="AUTHORIZATION", token_prefix="Bearer", bearer_format="SegOps session JWT"
        )
        return scheme


# The one error shape of the API (core/errors.py), as every operation can answer it: a 4xx for
# bad input, a missing or refused credential, another tenant's object, a quota (429, with
# Retry-After). It is the operation's `default` response, which OpenAPI defines as "any status
# not listed": each view lists its successes, and clients and schema-based tests know the rest.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": 'Either {"detail": "message"} or field errors {"field": ["message", ...]}.',
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {"anyOf": [{"type": "array"}, {"type": "object"}, {"type": "string"}]},
}


def error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the error shape as every operation's default response."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    error = {
        "description": "An error: the status says which (400 bad input, 401, 403, 404, 409, 413, 429, …).",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault("default", error)
    return result
