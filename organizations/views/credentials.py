"""An application's credential lifecycle: rotate its secret, restore it from the archive."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from organizations import credentials, selectors
from organizations.forms import SecretRotateForm
from organizations.views.access import found_or_404, organization_view
from organizations.views.integration import integration_context


@organization_view
@never_cache  # the response carries the new secret
def application_secret_rotate(request, *, organization, membership, app_key: str):
    application = found_or_404(selectors.application_get(organization=organization, ident=app_key))
    form = SecretRotateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        application, app_secret = credentials.application_secret_rotate(
            application=application, grace_seconds=form.cleaned_data["grace_seconds"]
        )
        # Shown in this response only, like at creation; later pages show placeholders.
        context = integration_context(request, organization, application, app_secret)
        return render(request, "organizations/application_secret_rotated.html", context)
    return render(
        request,
        "organizations/application_secret_rotate.html",
        {
            "form": form,
            "organization": organization,
            "membership": membership,
            "application": application,
        },
    )


@organization_view
def application_unarchive(request, *, organization, membership, app_key: str):
    application = found_or_404(
        selectors.application_get(organization=organization, ident=app_key, include_archived=True)
    )
    if request.method == "POST":
        if application.archived:
            credentials.application_unarchive(application=application)
            messages.success(request, f"Restored {application.name}: its credentials work again.")
        return redirect("application_detail", org=organization.slug, app_key=application.app_key)
    return render(
        request,
        "organizations/application_unarchive.html",
        {"organization": organization, "membership": membership, "application": application},
    )
