"""An application's credential lifecycle over the API: rotate its secret, restore it.

POST .../applications/{app}/secret gives the application a new secret (in the response, the
only time it is shown); the old one keeps verifying for `grace_seconds` (default 0: it
stops at once). POST .../applications/{app}/restore un-archives it.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from api.exceptions import ApplicationArchived
from api.openapi import APP, ORG, errors
from api.views.applications import TAGS, ApplicationApi, ApplicationSerializer
from organizations.credentials import (
    MAX_SECRET_GRACE_SECONDS,
    application_secret_rotate,
    application_unarchive,
)


class ApplicationSecretRotateApi(ApplicationApi):
    """Rotate the app secret. The response's `app_secret` is the only time it is shown."""

    class InputSerializer(serializers.Serializer):
        grace_seconds = serializers.IntegerField(
            min_value=0,
            max_value=MAX_SECRET_GRACE_SECONDS,
            default=0,
            help_text="How long the old secret still verifies signatures (0: not at all).",
        )

    class OutputSerializer(ApplicationSerializer):
        app_secret = serializers.CharField()
        previous_secret_expires = serializers.DateTimeField(
            allow_null=True, help_text="When the old secret stops verifying; null: it has."
        )

    @extend_schema(
        tags=TAGS,
        parameters=[ORG, APP],
        request=InputSerializer,
        responses={200: OutputSerializer, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request, org: str, app: str):
        application = self.get_application(request, org, app)
        if application.archived:
            raise ApplicationArchived()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        application, app_secret = application_secret_rotate(
            application=application, **data.validated_data
        )
        application.app_secret = app_secret
        return Response(self.OutputSerializer(application).data)


class ApplicationRestoreApi(ApplicationApi):
    """Un-archive an application: its credentials work again (idempotent)."""

    OutputSerializer = ApplicationSerializer

    @extend_schema(
        tags=TAGS,
        parameters=[ORG, APP],
        request=None,
        responses={200: OutputSerializer, **errors(401, 403, 404)},
    )
    def post(self, request, org: str, app: str):
        application = self.get_application(request, org, app)
        if application.archived:
            application = application_unarchive(application=application)
        return Response(self.OutputSerializer(application).data)
