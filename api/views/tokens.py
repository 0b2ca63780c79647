"""/api/organizations/{org}/tokens: an organization's secret tokens.

Only a digest of a token is stored: its plaintext is in the create response and nowhere
else. Revoking is final, and JWTs issued from the token stop working within seconds.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from api.openapi import ORG, TOKEN, errors
from api.scoping import caller_is_dashboard_user, secret_token_for_caller
from api.views.management import ManagementApi
from organizations.selectors import secret_tokens_for_organization
from organizations.services import (
    secret_token_create,
    secret_token_revoke,
    secret_token_update,
)

TAGS = ["tokens"]


class SecretTokenSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()
    description = serializers.CharField()
    prefix = serializers.CharField(help_text="The token's first characters, to recognise it.")
    created = serializers.DateTimeField()
    created_by = serializers.EmailField(source="created_by.email", default=None, allow_null=True)
    last_used = serializers.DateTimeField(
        allow_null=True,
        help_text="Last exchanged at POST /api/sessions or used as a Bearer (to the minute).",
    )
    revoked = serializers.DateTimeField(allow_null=True)


class SecretTokenApi(ManagementApi):
    """Base of the secret token views."""

    def get_token(self, request, org: str, token: str):
        secret_token = secret_token_for_caller(request, org, token)
        self.check_object_permissions(request, secret_token.organization)
        return secret_token


class SecretTokenListApi(SecretTokenApi):
    """The organization's secret tokens, newest first, revoked ones included."""

    OutputSerializer = SecretTokenSerializer

    @extend_schema(
        tags=TAGS,
        parameters=[ORG],
        responses={200: OutputSerializer(many=True), **errors(401, 404)},
    )
    def get(self, request, org: str):
        organization = self.get_organization(request, org)
        tokens = secret_tokens_for_organization(organization)
        return Response(self.OutputSerializer(tokens, many=True).data)


class SecretTokenCreateApi(SecretTokenApi):
    """Create a secret token. The response's `token` is the only time it is shown."""

    class InputSerializer(serializers.Serializer):
        label = serializers.CharField(max_length=100, allow_blank=True, default="")
        description = serializers.CharField(max_length=500, allow_blank=True, default="")

    class OutputSerializer(SecretTokenSerializer):
        token = serializers.CharField()

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
        # A token created by another token has no person to credit.
        created_by = request.user if caller_is_dashboard_user(request) else None
        description = data.validated_data.pop("description")
        secret_token, plaintext = secret_token_create(
            organization=organization, created_by=created_by, **data.validated_data
        )
        if description:
            secret_token_update(token=secret_token, description=description)
        secret_token.token = plaintext
        return Response(self.OutputSerializer(secret_token).data, status=status.HTTP_201_CREATED)


class SecretTokenGetApi(SecretTokenApi):
    """One secret token's label, prefix and use; never the token itself."""

    OutputSerializer = SecretTokenSerializer

    @extend_schema(
        tags=TAGS,
        parameters=[ORG, TOKEN],
        responses={200: OutputSerializer, **errors(401, 404)},
    )
    def get(self, request, org: str, token: str):
        secret_token = self.get_token(request, org, token)
        return Response(self.OutputSerializer(secret_token).data)


class SecretTokenUpdateApi(SecretTokenApi):
    """Rename or describe a secret token; only the fields sent change."""

    class InputSerializer(serializers.Serializer):
        label = serializers.CharField(max_length=100, allow_blank=True, required=False)
        description = serializers.CharField(max_length=500, allow_blank=True, required=False)

    OutputSerializer = SecretTokenSerializer

    @extend_schema(
        tags=TAGS,
        parameters=[ORG, TOKEN],
        request=InputSerializer,
        responses={200: OutputSerializer, **errors(400, 401, 403, 404)},
    )
    def patch(self, request, org: str, token: str):
        secret_token = self.get_token(request, org, token)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        secret_token = secret_token_update(token=secret_token, **data.validated_data)
        return Response(self.OutputSerializer(secret_token).data)


class SecretTokenRevokeApi(SecretTokenApi):
    """Revoke a secret token (idempotent). It may be the very token making the call."""

    OutputSerializer = SecretTokenSerializer

    @extend_schema(
        tags=TAGS,
        parameters=[ORG, TOKEN],
        responses={200: OutputSerializer, **errors(401, 403, 404)},
    )
    def delete(self, request, org: str, token: str):
        secret_token = secret_token_revoke(token=self.get_token(request, org, token))
        return Response(self.OutputSerializer(secret_token).data)
