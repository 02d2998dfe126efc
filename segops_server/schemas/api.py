"""Thin views of event schemas (spec §17): list, create, read, change, delete, infer, validate."""

from __future__ import annotations

from typing import ClassVar

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from segops_server.access import rules
from segops_server.access.policy import Policy
from segops_server.accounts.tenancy import TenantScopedAPIView
from segops_server.core.pagination import PageNumberPagination
from segops_server.schemas import selectors, services
from segops_server.schemas.enforcement import compile_schema
from segops_server.schemas.inference import schemas_infer
from segops_server.schemas.serializers import (
    EventSchemaSerializer,
    EventSchemaUpdateSerializer,
    InferInSerializer,
    InferOutSerializer,
    ValidateInSerializer,
    ValidateOutSerializer,
)


class _SchemasView(TenantScopedAPIView):
    policy: ClassVar[Policy] = rules.SCHEMAS


class SchemaListView(_SchemasView):
    pagination_class = PageNumberPagination  # the schema shows the list in its page envelope

    @extend_schema(responses=EventSchemaSerializer(many=True))
    def get(self, request: Request) -> Response:
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(
            selectors.schemas_of_tenant(tenant=self.tenant), request, view=self
        )
        return paginator.get_paginated_response(EventSchemaSerializer.many_init(page or []).data)

    @extend_schema(request=EventSchemaSerializer, responses={201: EventSchemaSerializer})
    def post(self, request: Request) -> Response:
        data = EventSchemaSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        schema = services.schema_create(tenant=self.tenant, **data.validated_data)
        return Response(EventSchemaSerializer(schema).data, status=status.HTTP_201_CREATED)


class SchemaDetailView(_SchemasView):
    @extend_schema(responses=EventSchemaSerializer)
    def get(self, request: Request, schema_id: int) -> Response:
        schema = selectors.schema_get(tenant=self.tenant, schema_id=schema_id)
        return Response(EventSchemaSerializer(schema).data)

    @extend_schema(request=EventSchemaUpdateSerializer, responses=EventSchemaSerializer)
    def patch(self, request: Request, schema_id: int) -> Response:
        schema = selectors.schema_get(tenant=self.tenant, schema_id=schema_id)
        data = EventSchemaUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        schema = services.schema_update(schema=schema, **data.validated_data)
        return Response(EventSchemaSerializer(schema).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, schema_id: int) -> Response:
        schema = selectors.schema_get(tenant=self.tenant, schema_id=schema_id)
        services.schema_delete(schema=schema)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SchemaInferView(TenantScopedAPIView):
    policy: ClassVar[Policy] = rules.SCHEMA_TOOLS

    @extend_schema(request=InferInSerializer, responses=InferOutSerializer)
    def post(self, request: Request) -> Response:
        """A schema per event type seen in the samples (nothing is stored)."""
        data = InferInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        samples = [(e["event_type"], e["payload"]) for e in data.validated_data["events"]]
        return Response({"results": schemas_infer(samples)})


class SchemaValidateView(TenantScopedAPIView):
    policy: ClassVar[Policy] = rules.SCHEMA_TOOLS

    @extend_schema(request=ValidateInSerializer, responses=ValidateOutSerializer)
    def post(self, request: Request) -> Response:
        """The payload checked against its type's schema, whatever the schema's enforcement."""
        data = ValidateInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        schema = selectors.schema_for_type(tenant=self.tenant, event_type=data.validated_data["event_type"])
        if schema is None:
            return Response({"valid": True, "errors": [], "schema": None})
        errors = compile_schema(schema).violations(data.validated_data["payload"])
        return Response({"valid": not errors, "errors": errors, "schema": schema.pk})
