"""Django admin for operators.

Secret material never appears here: Application.secret_encrypted and SecretToken.digest
are excluded from every form and list. Applications and tokens cannot be added from the
admin, because only organizations.services generates their secrets correctly.
"""

from django.contrib import admin
from django.db import models

from organizations.models import Application, Membership, Organization, SecretToken


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created", "archived"]
    list_filter = ["archived", "created"]
    search_fields = ["name", "slug", "memberships__user__email"]
    readonly_fields = ["created"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created"]
    list_filter = ["role"]
    search_fields = ["user__email", "organization__name", "organization__slug"]
    raw_id_fields = ["user", "organization"]
    list_select_related = ["user", "organization"]


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "app_key", "app_id", "archived", "created"]
    list_filter = ["archived", "client_publishing", "created"]
    search_fields = ["name", "app_key", "app_id", "organization__name", "organization__slug"]
    exclude = ["secret_encrypted", "previous_secret_encrypted"]
    # Secrets change only through a rotation (dashboard or API), never by hand here.
    readonly_fields = ["organization", "app_key", "app_id", "created", "previous_secret_expires"]
    list_select_related = ["organization"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request):
        return False


@admin.register(SecretToken)
class SecretTokenAdmin(admin.ModelAdmin):
    list_display = [
        "prefix",
        "label",
        "organization",
        "created_by",
        "created",
        "last_used",
        "revoked",
    ]
    list_filter = [("revoked", admin.EmptyFieldListFilter), "created"]
    search_fields = ["prefix", "label", "organization__name", "organization__slug"]
    exclude = ["digest"]
    readonly_fields = ["organization", "prefix", "created_by", "created", "last_used"]
    list_select_related = ["organization", "created_by"]

    def has_add_permission(self, request):
        return False
