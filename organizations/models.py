"""Who owns what: organizations, their members, applications and secret tokens.

Models hold data and tiny derived properties only; creating, revoking and archiving
live in organizations.services, lookups in organizations.selectors.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from organizations.validators import (
    WEBHOOK_EVENTS,
    webhook_events_validate,
    webhook_extra_urls_validate,
    webhook_url_validate,
)


def default_anonymous_listen() -> list[str]:
    return ["public:*"]


def default_webhook_events() -> list[str]:
    return [event for event in WEBHOOK_EVENTS if event != "subscription_count"]


class Organization(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60, unique=True)
    created = models.DateTimeField(default=timezone.now)
    archived = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="one_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN


class Application(models.Model):
    """A tenant's app: the unit of topic isolation and of Pusher-compatible credentials."""

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="applications")
    name = models.CharField(max_length=100)
    # Public, appears in browser code and socket URLs.
    app_key = models.CharField(max_length=32, unique=True)
    # Numeric id of the Pusher HTTP API (/apps/{app_id}/...).
    app_id = models.PositiveIntegerField(unique=True)
    # The Pusher app secret signs HMACs, so we need its plaintext: encrypted, never hashed.
    secret_encrypted = models.TextField()
    # After a rotation the old secret still verifies signatures until this moment (never
    # signs anything): customers' servers switch to the new one within the grace period.
    previous_secret_encrypted = models.TextField(blank=True)
    previous_secret_expires = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)
    archived = models.BooleanField(default=False)

    # Settings. An empty allowed_origins list means "any origin".
    allowed_origins = models.JSONField(default=list, blank=True)
    anonymous_listen = models.JSONField(default=default_anonymous_listen, blank=True)
    anonymous_publish = models.JSONField(default=list, blank=True)
    client_publishing = models.BooleanField(default=True)
    max_connections = models.PositiveIntegerField(
        default=0, help_text="Concurrent connections allowed; 0 means unlimited."
    )
    max_presence_members = models.PositiveIntegerField(default=100)
    client_push_rate = models.PositiveIntegerField(
        default=10, help_text="Client pushes per second per socket."
    )
    # Webhooks: POSTed to webhook_url and to each of webhook_extra_urls (http or https).
    webhook_url = models.URLField(blank=True, validators=[webhook_url_validate])
    webhook_extra_urls = models.JSONField(
        default=list, blank=True, validators=[webhook_extra_urls_validate]
    )
    webhook_events = models.JSONField(
        default=default_webhook_events, blank=True, validators=[webhook_events_validate]
    )
    webhooks_enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.app_key})"

    @property
    def webhook_urls(self) -> list[str]:
        """Every URL the application's webhooks go to, the main one first."""
        return [url for url in [self.webhook_url, *self.webhook_extra_urls] if url]

    @property
    def previous_secret_verifies(self) -> bool:
        """Is a rotated-out secret still in its grace period?"""
        expires = self.previous_secret_expires
        return (
            bool(self.previous_secret_encrypted)
            and expires is not None
            and expires > timezone.now()
        )


class SecretToken(models.Model):
    """An organization's API secret. Only an HMAC digest of it is stored."""

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="secret_tokens")
    label = models.CharField(max_length=100, blank=True)
    description = models.TextField(max_length=500, blank=True)
    # The first characters of the secret, shown in lists and used to find the row.
    prefix = models.CharField(max_length=16, db_index=True)
    digest = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(default=timezone.now)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.label or 'unlabelled'})"

    @property
    def is_active(self) -> bool:
        return self.revoked is None
