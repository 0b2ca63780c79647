"""Who may see and change an organization's pages.

Every page under /orgs/<org>/ goes through `organization_view`, so the rule is stated
once: non-members get 404 (we do not confirm that an organization exists), members may
read everything, and only admins may POST. There is no POST a plain member may make in
an organization, so the rule needs no per-view switch that could be forgotten.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.views.decorators.http import require_http_methods

from organizations import selectors


def organization_view(view):
    """Resolve the `org` URL argument into `organization` and `membership` arguments."""

    @login_required
    @require_http_methods(["GET", "HEAD", "POST"])
    @wraps(view)
    def wrapper(request, org: str, **kwargs):
        organization = selectors.organization_get_for_user(user=request.user, ident=org)
        if organization is None:
            raise Http404("No such organization.")
        membership = selectors.membership_get(user=request.user, organization=organization)
        if request.method == "POST" and not membership.is_admin:
            raise PermissionDenied("Only admins of this organization can change it.")
        return view(request, organization=organization, membership=membership, **kwargs)

    return wrapper


def found_or_404(obj):
    """Objects are looked up within the organization, so another one's ids find nothing."""
    if obj is None:
        raise Http404("Not found in this organization.")
    return obj
