"""OpenAPI (drf-spectacular) pieces shared by the API views.

* AutoSchema names nested serializers after their API class, so the many
  `InputSerializer`s of our one-class-per-operation views do not collide.
* The authentication extensions describe our two Bearer schemes.
* ERROR and the path parameters keep the views' `extend_schema` calls short.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers


class AutoSchema(SpectacularAutoSchema):
    def get_serializer_name(self, serializer, direction) -> str:
        # OrganizationCreateApi.InputSerializer -> OrganizationCreateInput.
        parts = type(serializer).__qualname__.split(".")
        if len(parts) == 1:
            return super().get_serializer_name(serializer, direction)
        return "".join(part.removesuffix("Api").removesuffix("Serializer") for part in parts)


class SecretTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.SecretTokenAuthentication"
    name = "secretToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An organization's secret token (exps_…), sent as "
            "`Authorization: Bearer exps_…`. It may do anything within its organization.",
        }


class JwtScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.JwtAuthentication"
    name = "realtimeJwt"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A realtime JWT from POST /api/sessions, limited by its claims.",
        }


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(required=False, help_text="Per-field errors (code 'invalid').")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


_ERROR_DESCRIPTIONS = {
    400: "Invalid input; `error.fields` says which fields and why.",
    401: "Missing or invalid credentials.",
    403: "Authenticated, but not allowed to do this.",
    404: "Not found among the caller's organizations.",
    409: "Conflicts with the object's state.",
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """The `responses` entries for these error statuses, all in the one error shape."""
    return {code: OpenApiResponse(ErrorSerializer, _ERROR_DESCRIPTIONS[code]) for code in codes}


def _path(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.PATH, description=description)


ORG = _path("org", "Organization slug or numeric id.")
APP = _path("app", "Application key or numeric app_id.")
TOKEN = _path("token", "Secret token id.")
