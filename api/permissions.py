"""Permission policies of the management API (organizations, applications, tokens).

Scoping (what a caller may *see*) is api.scoping's job and answers 404; these classes
decide what a caller that can see an object may *do* with it, and answer 403.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from api.authentication import JwtCaller
from api.scoping import caller_is_admin, caller_is_dashboard_user


class IsManagementCaller(BasePermission):
    """A secret token or a dashboard user; never a realtime JWT.

    Management views leave JwtAuthentication out, so a JWT is already "no credentials"
    there. This check keeps it that way should the default authenticators ever change.
    """

    message = "Realtime JWTs cannot call the management API: use a secret token."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and not isinstance(user, JwtCaller))


class IsDashboardUser(BasePermission):
    """Only a signed-in person may create an organization.

    A secret token belongs to one organization and cannot reach beyond it.
    """

    message = (
        "A secret token is scoped to its own organization: create organizations from the dashboard."
    )

    def has_permission(self, request, view) -> bool:
        return caller_is_dashboard_user(request)


class IsOrganizationAdminOrReadOnly(BasePermission):
    """Members read; admins (and the organization's secret tokens) change.

    The object is the organization the view works in; views call
    `self.check_object_permissions(request, organization)` after the scoped lookup.
    """

    message = "Only admins of this organization can change it."

    def has_object_permission(self, request, view, obj) -> bool:
        return request.method in SAFE_METHODS or caller_is_admin(request, obj)
