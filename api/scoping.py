"""Which organizations and applications an API caller may see, and whether it may change them.

Three kinds of caller reach the API (see api.authentication):

* a secret token sees its own organization, and may change everything in it;
* a realtime JWT sees its organization, and within it only the applications it names;
  it never changes anything (management views do not even authenticate JWTs);
* a dashboard user sees the organizations they are a member of; only admins change them.

Lookups outside the caller's scope raise a 404, never a 403: an outsider must not learn
whether an organization, application or token exists.

The realtime endpoints (triggers, topic queries, user disconnects) scope against the
cached AppSnapshot rather than database rows, so that a warm trigger reads none; see
application_snapshot_for_caller, which also answers the two 403s those endpoints have.
"""

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet
from rest_framework.request import Request

from api.authentication import JwtCaller, SecretTokenCaller
from api.exceptions import Forbidden, NotFound
from organizations import selectors
from organizations.models import Application, Organization, SecretToken
from realtime.applications import AppSnapshot, app_snapshot

NO_SUCH_APPLICATION = "No such application."


def caller_is_dashboard_user(request: Request) -> bool:
    """A person signed in to the dashboard, as opposed to a token acting for an organization."""
    return isinstance(request.user, AbstractBaseUser) and request.user.is_authenticated


def caller_organizations(request: Request) -> QuerySet[Organization]:
    """The active organizations this caller may see (several only for dashboard users)."""
    user = request.user
    if isinstance(user, SecretTokenCaller | JwtCaller):
        return Organization.objects.filter(pk=user.organization_id, archived=False)
    if caller_is_dashboard_user(request):
        return selectors.organizations_for_user(user)
    return Organization.objects.none()


def caller_is_admin(request: Request, organization: Organization) -> bool:
    """May this caller change `organization` and what belongs to it?"""
    user = request.user
    if isinstance(user, SecretTokenCaller):
        return user.organization_id == organization.pk
    if caller_is_dashboard_user(request):
        membership = selectors.membership_get(user=user, organization=organization)
        return membership is not None and membership.is_admin
    return False


def organization_for_caller(request: Request, ident: str) -> Organization:
    """The organization `ident` (slug or id) among the caller's, else a 404."""
    organization = selectors.organization_get(ident=ident, queryset=caller_organizations(request))
    if organization is None:
        raise NotFound("Organization not found.")
    return organization


def application_for_caller(
    request: Request, org_ident: str, app_ident: str, *, include_archived: bool = False
) -> Application:
    """The application `app_ident` (app key or app id) of a caller's organization, else a 404.

    A JWT reaches only the applications listed in its `apps` claim.
    """
    organization = organization_for_caller(request, org_ident)
    application = selectors.application_get(
        organization=organization, ident=app_ident, include_archived=include_archived
    )
    if application is None:
        raise NotFound("Application not found.")
    if isinstance(request.user, JwtCaller) and not request.user.claims.covers_app(
        application.app_key
    ):
        raise NotFound("Application not found.")
    return application


def application_snapshot_for_caller(caller: object, org_ident: str, app_ident: str) -> AppSnapshot:
    """The active application `app_ident` (app key or app id) of organization `org_ident`
    (slug or id), from the AppSnapshot cache: a warm call reads no database row.

    See application_in_scope for who may reach it.
    """
    return application_in_scope(app_snapshot(app_ident), caller, org_ident)


def application_in_scope(
    application: AppSnapshot | None, caller: object, org_ident: str
) -> AppSnapshot:
    """`application` (looked up by the caller's app key or app id), if `caller` may reach
    it through organization `org_ident`.

    The caller must be a secret token or a JWT (403 otherwise). Another organization's
    application is a 404; a JWT of this organization whose `apps` claim leaves the
    application out gets a 403, which tells no outsider anything.
    """
    if application is None or org_ident not in (
        application.organization_slug,
        str(application.organization_id),
    ):
        raise NotFound(NO_SUCH_APPLICATION)
    if not isinstance(caller, JwtCaller | SecretTokenCaller):
        raise Forbidden("Use a secret token or a JWT as Bearer token.")
    if caller.organization_id != application.organization_id:
        raise NotFound(NO_SUCH_APPLICATION)  # another organization's app: do not reveal it exists
    if isinstance(caller, JwtCaller) and not caller.claims.covers_app(application.app_key):
        raise Forbidden("This JWT is not valid for this application.")
    return application


def secret_token_for_caller(request: Request, org_ident: str, token_ident: str) -> SecretToken:
    """The secret token with id `token_ident` of a caller's organization, else a 404."""
    organization = organization_for_caller(request, org_ident)
    token = None
    if token_ident.isascii() and token_ident.isdigit() and len(token_ident) <= 18:
        token = selectors.secret_token_get(organization=organization, token_id=int(token_ident))
    if token is None:
        raise NotFound("Secret token not found.")
    return token
