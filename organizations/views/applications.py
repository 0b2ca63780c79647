"""Application pages: create (the only time the secret is shown), detail, settings, archive."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from organizations import selectors, services
from organizations.forms import ApplicationCreateForm, ApplicationSettingsForm, ArchiveForm
from organizations.views.access import found_or_404, organization_view
from organizations.views.integration import integration_context


@organization_view
@never_cache  # the response carries the app secret
def application_create(request, *, organization, membership):
    form = ApplicationCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            application, app_secret = services.application_create(
                organization=organization, name=form.cleaned_data["name"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            # The secret is rendered in this response only; later pages show placeholders.
            context = integration_context(request, organization, application, app_secret)
            return render(request, "organizations/application_created.html", context)
    return render(
        request,
        "organizations/application_create.html",
        {"form": form, "organization": organization, "membership": membership},
    )


@organization_view
@require_safe
def application_detail(request, *, organization, membership, app_key: str):
    application = found_or_404(
        selectors.application_get(organization=organization, ident=app_key, include_archived=True)
    )
    context = integration_context(request, organization, application)
    context["membership"] = membership
    return render(request, "organizations/application_detail.html", context)


@organization_view
def application_update(request, *, organization, membership, app_key: str):
    application = found_or_404(selectors.application_get(organization=organization, ident=app_key))
    initial = {field: getattr(application, field) for field in services.APPLICATION_SETTINGS}
    form = ApplicationSettingsForm(request.POST or None, initial=initial)
    if not membership.is_admin:
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST" and form.is_valid():
        try:
            services.application_update(application=application, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Settings saved.")
            return redirect(
                "application_detail", org=organization.slug, app_key=application.app_key
            )
    return render(
        request,
        "organizations/application_update.html",
        {
            "form": form,
            "organization": organization,
            "membership": membership,
            "application": application,
        },
    )


@organization_view
def application_archive(request, *, organization, membership, app_key: str):
    application = found_or_404(selectors.application_get(organization=organization, ident=app_key))
    form = ArchiveForm(request.POST or None, expected_name=application.name)
    if request.method == "POST" and form.is_valid():
        services.application_archive(application=application)
        messages.success(request, f"Archived {application.name}: it refuses new connections.")
        return redirect("organization_detail", org=organization.slug)
    return render(
        request,
        "organizations/application_archive.html",
        {
            "form": form,
            "organization": organization,
            "membership": membership,
            "application": application,
        },
    )
