"""Thin views for sign-up, JWT login, tenants and teams."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied, Throttled
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from segops_server.access import rules
from segops_server.access.policy import PERSON, PUBLIC
from segops_server.accounts import selectors, services, throttling, tokens
from segops_server.accounts.authentication import PersonJWTAuthentication
from segops_server.accounts.models import Role, User
from segops_server.accounts.permissions import person
from segops_server.accounts.serializers import (
    InvitationAcceptSerializer,
    InvitationIssuedSerializer,
    InvitationOutSerializer,
    MemberInviteSerializer,
    MemberOutSerializer,
    MemberRoleSerializer,
    MyTenantSerializer,
    PasswordChangeSerializer,
    RefreshSerializer,
    RegisterOutSerializer,
    RegisterSerializer,
    TenantCreateSerializer,
    TenantOutSerializer,
    TenantUpdateSerializer,
    TokenObtainSerializer,
    TokenPairSerializer,
    UserOutSerializer,
)
from segops_server.accounts.tenancy import TenantScopedAPIView
from segops_server.core.idempotency import secret_shown_once
from segops_server.core.pagination import PageNumberPagination, paginated_response
from segops_server.core.serializing import many_data

INVALID_LOGIN = "No active account found with the given credentials."
# The console page an invitation's link opens (console/urls.py names it invitation-accept).
ACCEPT_PATH = "/invitations/{token}/"


def invitation_accept_url(request: HttpRequest | Request, token: str) -> str:
    """The link mailed to the invitee, on the host the inviter used (one of ALLOWED_HOSTS)."""
    return request.build_absolute_uri(ACCEPT_PATH.format(token=token))


def _with_tokens(body: Any, status_code: int = status.HTTP_200_OK) -> Response:
    """An answer carrying a token pair: no cache, shared or private, may keep it."""
    return Response(body, status=status_code, headers={"Cache-Control": "no-store"})


def _rate_check(request: Request, action: str) -> None:
    wait = throttling.address_rate_take(request, action)
    if wait is not None:
        raise Throttled(wait=wait, detail="Too many requests from this address; try again later.")


class PublicAPIView(APIView):
    """An endpoint that needs no credential: sign-up and the token exchanges."""

    authentication_classes: list[Any] = []
    policy = PUBLIC

    def get_authenticate_header(self, request: Request) -> str:
        # Without authentication classes DRF turns AuthenticationFailed into a 403; a wrong
        # password or a dead refresh token is a 401 with a challenge, like everywhere else.
        return PersonJWTAuthentication().authenticate_header(request)


class RegisterView(PublicAPIView):
    @extend_schema(request=RegisterSerializer, responses={201: RegisterOutSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        if not settings.SEGOPS_ALLOW_REGISTRATION:
            raise PermissionDenied("Sign-up is switched off on this installation.")
        _rate_check(request, "registration")
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.user_register(
            email=data.validated_data["email"],
            password=data.validated_data["password"],
            tenant_name=data.validated_data.get("tenant_name"),
            tenant_slug=data.validated_data.get("tenant_slug"),
        )
        pair = tokens.token_pair_issue(user=result.user)
        body = {"user": result.user, "tenant": result.tenant, **pair}
        return _with_tokens(RegisterOutSerializer(body).data, status.HTTP_201_CREATED)


class TokenObtainView(PublicAPIView):
    @extend_schema(request=TokenObtainSerializer, responses={200: TokenPairSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        data = TokenObtainSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        email = data.validated_data["email"]
        wait = throttling.login_retry_after(request, email)
        if wait is not None:
            raise Throttled(wait=wait, detail="Too many failed sign-in attempts; try again later.")
        # Django's backend runs the hasher even for an unknown email, so both answers take
        # the same time and say the same thing.
        user = authenticate(request, email=email.strip().lower(), password=data.validated_data["password"])
        if not isinstance(user, User):
            throttling.login_failure_record(request, email)
            raise AuthenticationFailed(INVALID_LOGIN)
        throttling.login_failures_clear(request, email)
        user_logged_in.send(sender=User, request=request, user=user)
        return _with_tokens(tokens.token_pair_issue(user=user))


class TokenRefreshView(PublicAPIView):
    @extend_schema(request=RefreshSerializer, responses={200: TokenPairSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        data = RefreshSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return _with_tokens(tokens.token_pair_rotate(raw_refresh=data.validated_data["refresh"]))


class LogoutView(PublicAPIView):
    @extend_schema(request=RefreshSerializer, responses={204: None}, auth=[])
    def post(self, request: Request) -> Response:
        data = RefreshSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tokens.token_logout(raw_refresh=data.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    policy = PERSON

    @extend_schema(
        responses=inline_serializer(
            "Me", {"user": UserOutSerializer(), "tenants": MyTenantSerializer(many=True)}
        )
    )
    def get(self, request: Request) -> Response:
        memberships = selectors.memberships_of_user(user=person(request))
        return Response(
            {
                "user": UserOutSerializer(person(request)).data,
                "tenants": many_data(MyTenantSerializer, memberships),
            }
        )


class PasswordChangeView(APIView):
    policy = PERSON

    @extend_schema(request=PasswordChangeSerializer, responses={200: TokenPairSerializer})
    def post(self, request: Request) -> Response:
        user = person(request)
        # The current password is a second way to guess a password (with a stolen access
        # token): the same counters as sign-in, so failures here lock sign-in and vice versa.
        wait = throttling.login_retry_after(request, user.email)
        if wait is not None:
            raise Throttled(wait=wait, detail="Too many wrong passwords; try again later.")
        data = PasswordChangeSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        if not user.check_password(data.validated_data["current_password"]):
            throttling.login_failure_record(request, user.email)
            raise serializers.ValidationError({"current_password": ["Current password is wrong."]})
        throttling.login_failures_clear(request, user.email)
        services.user_change_password(user=user, new_password=data.validated_data["new_password"])
        # Every earlier token is dead; this caller gets a fresh pair to stay signed in.
        return _with_tokens(tokens.token_pair_issue(user=person(request)))


class TenantListView(APIView):
    policy = PERSON
    pagination_class = PageNumberPagination  # the schema shows the list in its page envelope

    @extend_schema(responses=MyTenantSerializer(many=True))
    def get(self, request: Request) -> Response:
        return paginated_response(
            self, request, selectors.memberships_of_user(user=person(request)), MyTenantSerializer
        )

    @extend_schema(request=TenantCreateSerializer, responses={201: TenantOutSerializer})
    def post(self, request: Request) -> Response:
        person(request)  # an API key is refused before it counts against anyone's rate
        _rate_check(request, "tenant_creation")
        data = TenantCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = services.tenant_create(owner=person(request), request=request, **data.validated_data)
        return Response(
            {**TenantOutSerializer(tenant).data, "role": Role.OWNER}, status=status.HTTP_201_CREATED
        )


class TenantDetailView(TenantScopedAPIView):
    policy = rules.TENANT_SETTINGS

    @extend_schema(responses=TenantOutSerializer)
    def get(self, request: Request, tenant_slug: str) -> Response:
        return Response({**TenantOutSerializer(self.tenant).data, "role": self.tenant_context.role})

    @extend_schema(request=TenantUpdateSerializer, responses=TenantOutSerializer)
    def patch(self, request: Request, tenant_slug: str) -> Response:
        data = TenantUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = services.tenant_update(
            tenant=self.tenant, actor=person(request), request=request, **data.validated_data
        )
        return Response({**TenantOutSerializer(tenant).data, "role": self.tenant_context.role})

    @extend_schema(responses={204: None})
    def delete(self, request: Request, tenant_slug: str) -> Response:
        services.tenant_delete(tenant=self.tenant, actor=person(request), request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberListView(TenantScopedAPIView):
    pagination_class = PageNumberPagination  # the schema shows the list in its page envelope
    policy = rules.TEAM

    @extend_schema(responses=MemberOutSerializer(many=True))
    def get(self, request: Request, tenant_slug: str) -> Response:
        return paginated_response(
            self, request, selectors.members_of_tenant(tenant=self.tenant), MemberOutSerializer
        )

    @extend_schema(request=MemberInviteSerializer, responses={201: InvitationIssuedSerializer})
    def post(self, request: Request, tenant_slug: str) -> Response:
        _rate_check(request, "invitation")
        data = MemberInviteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = services.member_invite(
            tenant=self.tenant,
            invited_by=person(request),
            accept_url_for=lambda token: invitation_accept_url(request, token),
            request=request,
            **data.validated_data,
        )
        body = {
            **InvitationOutSerializer(issued.invitation).data,
            "token": issued.token,
            "accept_url": invitation_accept_url(request, issued.token),
        }
        return secret_shown_once(
            Response(body, status=status.HTTP_201_CREATED), created=f"invitation {issued.invitation.pk}"
        )


class InvitationAcceptView(APIView):
    """The invitee, signed in as the invited email, takes the invitation and joins."""

    policy = PERSON

    @extend_schema(request=InvitationAcceptSerializer, responses={200: MyTenantSerializer})
    def post(self, request: Request) -> Response:
        data = InvitationAcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.invitation_accept(
            token=data.validated_data["token"], user=person(request), request=request
        )
        return Response(MyTenantSerializer(membership).data)


class MemberDetailView(TenantScopedAPIView):
    policy = rules.TEAM

    @extend_schema(responses=MemberOutSerializer)
    def get(self, request: Request, tenant_slug: str, user_id: int) -> Response:
        return Response(MemberOutSerializer(selectors.member_get(tenant=self.tenant, user_id=user_id)).data)

    @extend_schema(request=MemberRoleSerializer, responses=MemberOutSerializer)
    def patch(self, request: Request, tenant_slug: str, user_id: int) -> Response:
        data = MemberRoleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = selectors.member_get(tenant=self.tenant, user_id=user_id)
        membership = services.member_change_role(
            membership=membership, role=data.validated_data["role"], actor=person(request), request=request
        )
        return Response(MemberOutSerializer(membership).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, tenant_slug: str, user_id: int) -> Response:
        services.member_remove(
            membership=selectors.member_get(tenant=self.tenant, user_id=user_id),
            actor=person(request),
            request=request,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationListView(TenantScopedAPIView):
    pagination_class = PageNumberPagination  # the schema shows the list in its page envelope
    policy = rules.INVITATIONS

    @extend_schema(responses=InvitationOutSerializer(many=True))
    def get(self, request: Request, tenant_slug: str) -> Response:
        return paginated_response(
            self, request, selectors.invitations_of_tenant(tenant=self.tenant), InvitationOutSerializer
        )


class InvitationDetailView(TenantScopedAPIView):
    policy = rules.INVITATIONS

    @extend_schema(responses={204: None})
    def delete(self, request: Request, tenant_slug: str, invitation_id: int) -> Response:
        invitation = selectors.invitation_get(tenant=self.tenant, invitation_id=invitation_id)
        services.invitation_cancel(invitation=invitation, actor=person(request), request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)
