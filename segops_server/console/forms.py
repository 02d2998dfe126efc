"""The console's forms: sign-up and sign-in, workspaces, team, API keys, webhooks and segment details.

Field rules are the API's: where an API serializer already validates something (an origin
allowlist, a grace period) the form runs that serializer instead of repeating its rules.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.utils import timezone
from django.utils.text import slugify

from segops_server.accounts.models import INVITABLE_ROLES, User, slug_validator
from segops_server.keys.models import ALL_SCOPES, Environment, KeyType, Scope
from segops_server.keys.serializers import MAX_GRACE_HOURS, ApiKeyCreateSerializer
from segops_server.webhooks.models import WEBHOOK_EVENTS, WebhookEvent
from segops_server.webhooks.serializers import WebhookWriteSerializer


def _slug_field(**kwargs: Any) -> forms.CharField:
    return forms.CharField(
        min_length=3,
        max_length=40,
        validators=[slug_validator],
        help_text="3-40 lowercase letters, digits or hyphens; it appears in URLs.",
        **kwargs,
    )


class SignInForm(forms.Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        max_length=128, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class SignUpForm(forms.Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters, not a common password.",
    )
    tenant_name = forms.CharField(label="Workspace name", max_length=100, required=False)
    tenant_slug = _slug_field(label="Workspace slug", required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        password = data.get("password")
        if password:
            try:
                password_validation.validate_password(password, user=User(email=data.get("email") or ""))
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        if data.get("tenant_name") and not data.get("tenant_slug"):
            data["tenant_slug"] = slugify(data["tenant_name"])[:40].strip("-") or None
            try:
                slug_validator(data["tenant_slug"] or "")
            except forms.ValidationError:
                self.add_error("tenant_slug", "Choose a slug for this workspace.")
        return data


class TenantForm(forms.Form):
    name = forms.CharField(max_length=100)
    slug = _slug_field()


class TenantDeleteForm(forms.Form):
    confirm_slug = forms.CharField(label="Type the workspace slug to confirm", max_length=40)

    def __init__(self, *args: Any, slug: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slug = slug

    def clean_confirm_slug(self) -> str:
        value = str(self.cleaned_data["confirm_slug"]).strip()
        if value != self.slug:
            raise forms.ValidationError("That is not this workspace's slug.")
        return value


ROLE_CHOICES = [(role.value, role.label) for role in INVITABLE_ROLES]


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial="member")


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="Say where it is used, e.g. “Production Ingestor”, so you know it when you rotate it.",
    )
    type = forms.ChoiceField(
        choices=[
            (KeyType.SECRET.value, "Secret (sk_) — for servers, scripts and CI"),
            (KeyType.PUBLIC.value, "Public (pk_) — safe in a browser or app; can only start sessions"),
        ],
        initial=KeyType.SECRET,
        widget=forms.RadioSelect,
    )
    environment = forms.ChoiceField(
        choices=Environment.choices, initial=Environment.LIVE, widget=forms.RadioSelect
    )
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        initial=ALL_SCOPES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Secret keys only. Give a key no more than its job needs.",
    )
    expires_on = forms.DateField(
        label="Expires on (optional)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The key stops working at the end of this day (UTC). Empty: it never expires.",
    )
    allowed_origins = forms.CharField(
        label="Allowed origins",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "https://app.example.com"}),
        help_text="Public keys only. One origin per line; https://*.example.com allows one "
        "subdomain level. Empty: no Origin check (mobile apps).",
    )
    require_signed_user_id = forms.BooleanField(
        label="Require signed user_id",
        required=False,
        help_text="Public keys only. Sessions must carry an HMAC of the user id made with the key's secret.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        public = data["type"] == KeyType.PUBLIC
        payload: dict[str, Any] = {
            "name": data["name"],
            "type": data["type"],
            "environment": data["environment"],
        }
        if public:
            # A public key can only mint sessions; it has no scopes, and the extra settings are its own.
            payload["allowed_origins"] = [
                line.strip() for line in data.get("allowed_origins", "").splitlines() if line.strip()
            ]
            payload["require_signed_user_id"] = data.get("require_signed_user_id", False)
        else:
            payload["scopes"] = data.get("scopes") or []
        expires_on = data.get("expires_on")
        if expires_on is not None:
            payload["expires_at"] = datetime.combine(expires_on + timedelta(days=1), time.min, tzinfo=UTC)
            if payload["expires_at"] <= timezone.now():
                self.add_error("expires_on", "Choose today or a later day.")
                return data
        checked = ApiKeyCreateSerializer(data=payload)
        if not checked.is_valid():
            field_of = {"expires_at": "expires_on", "type": None}
            for field, messages in checked.errors.items():
                target = field_of.get(field, field)
                for message in messages if isinstance(messages, list) else [messages]:
                    self.add_error(target if target in self.fields else None, str(message))
            return data
        self.service_fields = dict(checked.validated_data)
        return data


GRACE_CHOICES = [
    (0, "End the old key now"),
    (1, "1 hour"),
    (24, "24 hours"),
    (72, "3 days"),
    (168, "7 days"),
    (MAX_GRACE_HOURS, "30 days"),
]


class RollForm(forms.Form):
    grace_period_hours = forms.TypedChoiceField(
        label="Keep the old key working for",
        choices=GRACE_CHOICES,
        coerce=int,
        initial=24,
        help_text="Time to deploy the new key everywhere before the old one stops.",
    )


class SegmentDetailsForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class WebhookForm(forms.Form):
    url = forms.CharField(
        label="Endpoint URL",
        max_length=2000,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/segops/webhooks"}),
        help_text="https only, on a public address: SegOps POSTs signed JSON there.",
    )
    description = forms.CharField(label="Description (optional)", required=False, max_length=500)
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices, initial=WEBHOOK_EVENTS, widget=forms.CheckboxSelectMultiple
    )
    segment_ids = forms.MultipleChoiceField(
        label="Segments",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every segment, those you add later too.",
    )
    secret = forms.CharField(
        label="Signing secret (optional)",
        required=False,
        strip=False,
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="Leave empty and SegOps generates one (whsec_…), shown once.",
    )

    def __init__(self, *args: Any, segments: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["segment_ids"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(str(pk), name) for pk, name in segments]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        payload: dict[str, Any] = {
            "url": data["url"],
            "description": data.get("description", ""),
            "events": data["events"],
            "segment_ids": [int(pk) for pk in data.get("segment_ids") or []] or None,
        }
        if data.get("secret"):
            payload["secret"] = data["secret"]
        checked = WebhookWriteSerializer(data=payload)
        if not checked.is_valid():
            for field, messages in checked.errors.items():
                for message in messages if isinstance(messages, list) else [messages]:
                    self.add_error(field if field in self.fields else None, str(message))
            return data
        self.service_fields = dict(checked.validated_data)
        return data
