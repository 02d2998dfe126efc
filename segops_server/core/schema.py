"""OpenAPI extensions so every custom authentication class shows up as a security scheme."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object


class PersonJWTScheme(OpenApiAuthenticationExtension):
    target_class = "segops_server.accounts.authentication.PersonJWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return build_bearer_security_scheme_object(
            header_name="AUTHORIZATION", token_prefix="Bearer", bearer_format="JWT"
        )


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
        return build_bearer_security_scheme_object(
            header_name="AUTHORIZATION", token_prefix="Bearer", bearer_format="SegOps session JWT"
        )
