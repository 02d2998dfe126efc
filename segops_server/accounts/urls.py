"""Routes for sign-up, JWT login, tenants and teams."""

from django.urls import path

from segops_server.accounts import api

urlpatterns = [
    path("auth/register/", api.RegisterView.as_view(), name="register"),
    path("auth/token/", api.TokenObtainView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", api.TokenRefreshView.as_view(), name="token-refresh"),
    path("auth/logout/", api.LogoutView.as_view(), name="logout"),
    path("auth/me/", api.MeView.as_view(), name="me"),
    path("auth/password/", api.PasswordChangeView.as_view(), name="password-change"),
    path("invitations/accept/", api.InvitationAcceptView.as_view(), name="invitation-accept"),
    path("tenants/", api.TenantListView.as_view(), name="tenant-list"),
    path("tenants/<str:tenant_slug>/", api.TenantDetailView.as_view(), name="tenant-detail"),
    path("tenants/<str:tenant_slug>/members/", api.MemberListView.as_view(), name="member-list"),
    path(
        "tenants/<str:tenant_slug>/members/<id:user_id>/",
        api.MemberDetailView.as_view(),
        name="member-detail",
    ),
    path(
        "tenants/<str:tenant_slug>/invitations/",
        api.InvitationListView.as_view(),
        name="invitation-list",
    ),
    path(
        "tenants/<str:tenant_slug>/invitations/<id:invitation_id>/",
        api.InvitationDetailView.as_view(),
        name="invitation-detail",
    ),
]
