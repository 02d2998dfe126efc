"""Console routes: sign-in at /, then everything about a workspace under /t/<slug>/."""

from django.urls import URLPattern, include, path

from segops_server.console.views import (
    activations,
    audit,
    auth,
    changes,
    compute,
    dashboard,
    explorer,
    exports,
    general,
    keys,
    merge,
    sandbox,
    schemas,
    segments,
    team,
    webhooks,
)

app_name = "console"

tenant_patterns: list[URLPattern] = [
    path("", dashboard.tenant_home, name="tenant-home"),
    path("segments/", segments.segment_list, name="segment-list"),
    path("segments/new/", segments.segment_new, name="segment-new"),
    path("segments/preview/", segments.segment_preview, name="segment-preview"),
    path("segments/<id:segment_id>/", segments.segment_detail, name="segment-detail"),
    path("segments/<id:segment_id>/recompute/", compute.segment_recompute, name="segment-recompute"),
    path("segments/<id:segment_id>/status/", compute.segment_status, name="segment-status"),
    path("segments/<id:segment_id>/history/", compute.segment_history, name="segment-history"),
    path("segments/<id:segment_id>/changes/", changes.segment_changes, name="segment-changes"),
    path(
        "segments/<id:segment_id>/activations/", activations.segment_activations, name="segment-activations"
    ),
    path(
        "segments/<id:segment_id>/activations/<id:activation_id>/status/",
        activations.activation_status,
        name="activation-status",
    ),
    path(
        "segments/<id:segment_id>/activations/<id:activation_id>/sync/",
        activations.activation_sync,
        name="activation-sync",
    ),
    path(
        "segments/<id:segment_id>/activations/<id:activation_id>/delete/",
        activations.activation_delete,
        name="activation-delete",
    ),
    path("segments/<id:segment_id>/export/", exports.segment_export, name="segment-export"),
    path(
        "segments/<id:segment_id>/export/status/", exports.segment_export_status, name="segment-export-status"
    ),
    path(
        "segments/exports/<uuid:export_id>/download/",
        exports.segment_export_download,
        name="segment-export-download",
    ),
    path("explorer/", explorer.explorer, name="explorer"),
    path("explorer/user/", explorer.user_detail, name="explorer-user"),
    path("explorer/sandbox/", sandbox.sandbox, name="explorer-sandbox"),
    path("explorer/merge/", merge.merge, name="explorer-merge"),
    path("schemas/", schemas.schema_list, name="schema-list"),
    path("schemas/new/", schemas.schema_new, name="schema-new"),
    path("schemas/<id:schema_id>/", schemas.schema_detail, name="schema-detail"),
    path("schemas/<id:schema_id>/delete/", schemas.schema_delete, name="schema-delete"),
    path("settings/", general.settings_home, name="settings"),
    path("settings/general/", general.general, name="settings-general"),
    path("settings/delete/", general.tenant_delete, name="tenant-delete"),
    path("settings/team/", team.team, name="settings-team"),
    path("settings/team/invite/", team.invite, name="team-invite"),
    path("settings/team/<id:user_id>/role/", team.change_role, name="team-role"),
    path("settings/team/<id:user_id>/remove/", team.remove, name="team-remove"),
    path(
        "settings/team/invitations/<id:invitation_id>/cancel/",
        team.cancel_invitation,
        name="invitation-cancel",
    ),
    path("settings/api-keys/", keys.key_list, name="key-list"),
    path("settings/api-keys/new/", keys.key_new, name="key-new"),
    path("settings/api-keys/<id:key_id>/revoke/", keys.key_revoke, name="key-revoke"),
    path("settings/api-keys/<id:key_id>/roll/", keys.key_roll, name="key-roll"),
    path("settings/audit-log/", audit.audit_log, name="settings-audit"),
    path("settings/webhooks/", webhooks.webhook_list, name="webhook-list"),
    path("settings/webhooks/new/", webhooks.webhook_new, name="webhook-new"),
    path(
        "settings/webhooks/<id:webhook_id>/deliveries/",
        webhooks.webhook_deliveries,
        name="webhook-deliveries",
    ),
    path("settings/webhooks/<id:webhook_id>/test/", webhooks.webhook_test, name="webhook-test"),
    path("settings/webhooks/<id:webhook_id>/active/", webhooks.webhook_active, name="webhook-active"),
    path("settings/webhooks/<id:webhook_id>/delete/", webhooks.webhook_delete, name="webhook-delete"),
    path(
        "settings/webhooks/<id:webhook_id>/deliveries/<id:delivery_id>/redeliver/",
        webhooks.webhook_redeliver,
        name="webhook-redeliver",
    ),
]

urlpatterns = [
    path("", auth.entry, name="entry"),
    path("sign-in/", auth.sign_in, name="sign-in"),
    path("sign-up/", auth.sign_up, name="sign-up"),
    path("sign-out/", auth.sign_out, name="sign-out"),
    path("workspaces/new/", auth.tenant_new, name="tenant-new"),
    # accounts/api.py ACCEPT_PATH builds the same path for the emailed link.
    path("invitations/<str:token>/", team.invitation_accept, name="invitation-accept"),
    path("t/<str:tenant_slug>/", include(tenant_patterns)),
]
