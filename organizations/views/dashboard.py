"""Dashboard and organization pages (the organization page lists everything it owns)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from organizations import live, selectors, services
from organizations.forms import OrganizationForm
from organizations.views.access import organization_view


@login_required
def dashboard(request):
    """Each organization with its active applications and their open connections now."""
    organizations = list(selectors.organizations_for_user(request.user))
    applications = selectors.active_applications_of(organizations)
    counts = live.connection_counts(app.pk for app in applications)
    for organization in organizations:
        organization.active_applications = [
            app for app in applications if app.organization_id == organization.pk
        ]
    for app in applications:
        app.connections_now = counts.get(app.pk)
    return render(request, "organizations/dashboard.html", {"organizations": organizations})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def organization_create(request):
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organization = services.organization_create(
                name=form.cleaned_data["name"], owner=request.user
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Created {organization}.")
            return redirect("organization_detail", org=organization.slug)
    return render(request, "organizations/organization_form.html", {"form": form})


@organization_view
@require_safe
def organization_detail(request, *, organization, membership):
    return render(
        request,
        "organizations/organization_detail.html",
        {
            "organization": organization,
            "membership": membership,
            "applications": selectors.applications_for_organization(organization),
            "tokens": selectors.secret_tokens_for_organization(organization),
            "memberships": selectors.memberships_for_organization(organization),
        },
    )


@organization_view
def organization_update(request, *, organization, membership):
    form = OrganizationForm(request.POST or None, initial={"name": organization.name})
    if request.method == "POST" and form.is_valid():
        services.organization_update(organization=organization, name=form.cleaned_data["name"])
        messages.success(request, "Organization renamed.")
        return redirect("organization_detail", org=organization.slug)
    return render(
        request,
        "organizations/organization_update.html",
        {"form": form, "organization": organization, "membership": membership},
    )
