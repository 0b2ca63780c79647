"""/api/organizations: list, create, read, rename and archive organizations."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from api.openapi import ORG, errors
from api.permissions import IsDashboardUser, IsManagementCaller
from api.scoping import caller_organizations
from api.views.management import ManagementApi
from organizations.services import organization_archive, organization_create, organization_update

TAGS = ["organizations"]


class OrganizationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    created = serializers.DateTimeField()
    archived = serializers.BooleanField()


class OrganizationListApi(ManagementApi):
    """The organizations the caller may see: a secret token's own, or a user's memberships."""

    OutputSerializer = OrganizationSerializer

    @extend_schema(tags=TAGS, responses={200: OutputSerializer(many=True), **errors(401)})
    def get(self, request):
        organizations = caller_organizations(request)
        return Response(self.OutputSerializer(organizations, many=True).data)


class OrganizationCreateApi(ManagementApi):
    """Create an organization with the signed-in user as its admin (dashboard sessions only)."""

    permission_classes = [IsManagementCaller, IsDashboardUser]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)

    OutputSerializer = OrganizationSerializer

    @extend_schema(
        tags=TAGS,
        request=InputSerializer,
        responses={201: OutputSerializer, **errors(400, 401, 403)},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        organization = organization_create(owner=request.user, **data.validated_data)
        return Response(self.OutputSerializer(organization).data, status=status.HTTP_201_CREATED)


class OrganizationGetApi(ManagementApi):
    """One organization, by slug or id."""

    OutputSerializer = OrganizationSerializer

    @extend_schema(
        tags=TAGS, parameters=[ORG], responses={200: OutputSerializer, **errors(401, 404)}
    )
    def get(self, request, org: str):
        organization = self.get_organization(request, org)
        return Response(self.OutputSerializer(organization).data)


class OrganizationUpdateApi(ManagementApi):
    """Rename an organization. Its slug, used in URLs, does not change."""

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)

    OutputSerializer = OrganizationSerializer

    @extend_schema(
        tags=TAGS,
        parameters=[ORG],
        request=InputSerializer,
        responses={200: OutputSerializer, **errors(400, 401, 403, 404)},
    )
    def patch(self, request, org: str):
        organization = self.get_organization(request, org)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        if data.validated_data:
            organization = organization_update(organization=organization, **data.validated_data)
        return Response(self.OutputSerializer(organization).data)


class OrganizationArchiveApi(ManagementApi):
    """Archive an organization: its secret tokens, JWTs and applications stop working.

    Nothing is deleted; the organization disappears from the API and the dashboard.
    """

    OutputSerializer = OrganizationSerializer

    @extend_schema(
        tags=TAGS, parameters=[ORG], responses={200: OutputSerializer, **errors(401, 403, 404)}
    )
    def delete(self, request, org: str):
        organization = self.get_organization(request, org)
        organization = organization_archive(organization=organization)
        return Response(self.OutputSerializer(organization).data)
