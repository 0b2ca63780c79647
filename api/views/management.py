"""The base of the management views (organizations, applications, secret tokens)."""

from rest_framework.authentication import SessionAuthentication
from rest_framework.views import APIView

from api.authentication import SecretTokenAuthentication
from api.permissions import IsManagementCaller, IsOrganizationAdminOrReadOnly
from api.scoping import organization_for_caller


class ManagementApi(APIView):
    """A secret token or a dashboard session; members read, admins change; never a JWT."""

    authentication_classes = [SecretTokenAuthentication, SessionAuthentication]
    permission_classes = [IsManagementCaller, IsOrganizationAdminOrReadOnly]

    def get_organization(self, request, org: str):
        organization = organization_for_caller(request, org)
        self.check_object_permissions(request, organization)
        return organization
