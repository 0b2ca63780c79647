"""/api/organizations/{org}/applications: an organization's applications and their settings.

The app secret (Pusher HMAC key) is returned once, by the create call, and never again.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from api.exceptions import ApplicationArchived
from api.fields import MAX_PATTERNS, TopicPatternField
from api.openapi import APP, ORG, errors
from api.scoping import application_for_caller
from api.views.management import ManagementApi
from organizations.selectors import applications_for_organization
from organizations.services import application_archive, application_create, application_update
from organizations.validators import (
    MAX_WEBHOOK_EXTRA_URLS,
    WEBHOOK_EVENTS,
    origin_normalize,
    webhook_url_validate,
)

TAGS = ["applications"]
MAX_ORIGINS = 100
MAX_INT = 2_147_483_647  # PositiveIntegerField's range on every supported database


class OriginField(serializers.CharField):
    """scheme://host[:port], normalised the way browsers send the Origin header."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 200)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            return origin_normalize(super().to_internal_value(data))
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None


class ApplicationSettingsSerializer(serializers.Serializer):
    """Shape of the writable settings; the service validates them again on the model."""

    name = serializers.CharField(max_length=100)
    allowed_origins = serializers.ListField(
        child=OriginField(),
        max_length=MAX_ORIGINS,
        required=False,
        help_text="Origins allowed to open sockets; empty means any origin.",
    )
    anonymous_listen = serializers.ListField(
        child=TopicPatternField(), max_length=MAX_PATTERNS, required=False
    )
    anonymous_publish = serializers.ListField(
        child=TopicPatternField(), max_length=MAX_PATTERNS, required=False
    )
    client_publishing = serializers.BooleanField(required=False)
    max_connections = serializers.IntegerField(
        min_value=0, max_value=MAX_INT, required=False, help_text="0 means unlimited."
    )
    max_presence_members = serializers.IntegerField(min_value=1, max_value=MAX_INT, required=False)
    client_push_rate = serializers.IntegerField(
        min_value=1, max_value=MAX_INT, required=False, help_text="Per socket, per second."
    )
    webhook_url = serializers.URLField(
        max_length=200,
        allow_blank=True,
        required=False,
        validators=[webhook_url_validate],
        help_text="Where webhooks are POSTed (http or https); empty for none.",
    )
    webhook_extra_urls = serializers.ListField(
        child=serializers.URLField(max_length=200, validators=[webhook_url_validate]),
        max_length=MAX_WEBHOOK_EXTRA_URLS,
        required=False,
        help_text="More URLs that get every webhook too.",
    )
    webhook_events = serializers.ListField(
        child=serializers.ChoiceField(choices=WEBHOOK_EVENTS),
        required=False,
        help_text="The webhook events to send (Pusher's names).",
    )
    webhooks_enabled = serializers.BooleanField(
        required=False, help_text="Off: no webhook is sent, the URLs are kept."
    )


class ApplicationSerializer(serializers.Serializer):
    name = serializers.CharField()
    app_key = serializers.CharField()
    app_id = serializers.IntegerField()
    created = serializers.DateTimeField()
    archived = serializers.BooleanField()
    allowed_origins = serializers.ListField(child=serializers.CharField())
    anonymous_listen = serializers.ListField(child=serializers.CharField())
    anonymous_publish = serializers.ListField(child=serializers.CharField())
    client_publishing = serializers.BooleanField()
    max_connections = serializers.IntegerField()
    max_presence_members = serializers.IntegerField()
    client_push_rate = serializers.IntegerField()
    webhook_url = serializers.CharField()
    webhook_extra_urls = serializers.ListField(child=serializers.CharField())
    webhook_events = serializers.ListField(child=serializers.CharField())
    webhooks_enabled = serializers.BooleanField()


class ApplicationApi(ManagementApi):
    """Base of the application views."""

    def get_application(self, request, org: str, app: str):
        # Archived applications stay visible (and archiving is idempotent); changing one is not.
        application = application_for_caller(request, org, app, include_archived=True)
        self.check_object_permissions(request, application.organization)
        return application


class ApplicationListApi(ApplicationApi):
    """The organization's applications, archived ones included (marked `archived`)."""

    OutputSerializer = ApplicationSerializer

    @extend_schema(
        tags=TAGS,
        parameters=[ORG],
        responses={200: OutputSerializer(many=True), **errors(401, 404)},
    )
    def get(self, request, org: str):
        organization = self.get_organization(request, org)
        applications = applications_for_organization(organization)
        return Response(self.OutputSerializer(applications, many=True).data)


class ApplicationCreateApi(ApplicationApi):
    """Create an application. The response holds its `app_secret`: the only time it is shown."""

    InputSerializer = ApplicationSettingsSerializer

    class OutputSerializer(ApplicationSerializer):
        app_secret = serializers.CharField()

    @extend_schema(
        tags=TAGS,
        parameters=[ORG],
        request=InputSerializer,
        responses={201: OutputSerializer, **errors(400, 401, 403, 404)},
    )
    def post(self, request, org: str):
        organization = self.get_organization(request, org)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        application, app_secret = application_create(
            organization=organization, **data.validated_data
        )
        # The service hands the plaintext secret back once; it is stored encrypted.
        application.app_secret = app_secret
        return Response(self.OutputSerializer(application).data, status=status.HTTP_201_CREATED)


class ApplicationGetApi(ApplicationApi):
    """One application, by app key or app id. Its secret is never shown again."""

    OutputSerializer = ApplicationSerializer

    @extend_schema(
        tags=TAGS,
        parameters=[ORG, APP],
        responses={200: OutputSerializer, **errors(401, 404)},
    )
    def get(self, request, org: str, app: str):
        application = self.get_application(request, org, app)
        return Response(self.OutputSerializer(application).data)


class ApplicationUpdateApi(ApplicationApi):
    """Change an application's name or settings; only the fields sent change."""

    InputSerializer = ApplicationSettingsSerializer

    OutputSerializer = ApplicationSerializer

    @extend_schema(
        tags=TAGS,
        parameters=[ORG, APP],
        request=InputSerializer,
        responses={200: OutputSerializer, **errors(400, 401, 403, 404, 409)},
    )
    def patch(self, request, org: str, app: str):
        application = self.get_application(request, org, app)
        if application.archived:
            raise ApplicationArchived()
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        application = application_update(application=application, **data.validated_data)
        return Response(self.OutputSerializer(application).data)


class ApplicationArchiveApi(ApplicationApi):
    """Archive an application: it refuses new connections and triggers. Nothing is deleted."""

    OutputSerializer = ApplicationSerializer

    @extend_schema(
        tags=TAGS,
        parameters=[ORG, APP],
        responses={200: OutputSerializer, **errors(401, 403, 404)},
    )
    def delete(self, request, org: str, app: str):
        application = self.get_application(request, org, app)
        application = application_archive(application=application)
        return Response(self.OutputSerializer(application).data)
